/**
 * Child process of copy.test.ts: copies one object with copyObject and prints what it held, so the
 * measurement is not blurred by what the test process allocated before (writing the source, jest).
 *
 *   node --expose-gc -r tsx/cjs test/storage/copy-rss-child.ts <src-url> <dst-url> <key> <size>
 *
 * Two numbers:
 * - `peakRetained`: the most memory the copy kept alive (V8 heap in use plus Buffer/ArrayBuffer memory),
 *   sampled every 20 ms right after a full GC. That is the property of the code: its blocks in flight and
 *   what the SDKs hold, never the whole object.
 * - `peakRss` (maxRSS): what the process took from the OS. Without the sampler's GCs it also counts socket
 *   chunks already dropped but not yet collected: V8 frees their memory (outside its heap) only when a GC
 *   runs, and a starved 2-core CI machine measured anything from +66 to +362 MiB for the same code.
 */
import { copyObject } from '../../lake/storage/copy';
import { openStore } from '../../lake/storage/open';
import { emulatorOptions } from '../harness/stores';

const gc = (globalThis as { gc?: () => void }).gc;

function retained(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc');
  const [srcUrl, dstUrl, key, size] = process.argv.slice(2) as [string, string, string, string];
  const src = await openStore(srcUrl, emulatorOptions());
  const dst = await openStore(dstUrl, emulatorOptions());
  // Warm both clients (SDKs loaded, sockets open) before the baseline.
  await src.head(key);
  await dst.put('warm-up', 'x');
  gc();
  const baselineRss = process.memoryUsage().rss;
  const baselineRetained = retained();
  let peakRetained = baselineRetained;
  const sampler = setInterval(() => {
    gc();
    peakRetained = Math.max(peakRetained, retained());
  }, 20);
  const t0 = Date.now();
  const result = await copyObject(src, key, dst, key, { expectedSize: Number(size) });
  const ms = Date.now() - t0;
  clearInterval(sampler);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    `${JSON.stringify({ result, ms, baselineRss, peakRss, baselineRetained, peakRetained })}\n`,
  );
  await src.close();
  await dst.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${String((e as Error)?.stack ?? e)}\n`);
  process.exit(1);
});
