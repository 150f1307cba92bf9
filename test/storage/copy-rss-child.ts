/**
 * Child process of copy.test.ts: copies one object with copyObject and prints its peak RSS, so the
 * measurement is not blurred by what the test process allocated before (writing the source, jest).
 *
 *   node -r tsx/cjs test/storage/copy-rss-child.ts <src-url> <dst-url> <key> <size>
 */
import { copyObject } from '../../lake/storage/copy';
import { openStore } from '../../lake/storage/open';
import { emulatorOptions } from '../harness/stores';

async function main(): Promise<void> {
  const [srcUrl, dstUrl, key, size] = process.argv.slice(2) as [string, string, string, string];
  const src = await openStore(srcUrl, emulatorOptions());
  const dst = await openStore(dstUrl, emulatorOptions());
  // Warm both clients (SDKs loaded, sockets open) before the baseline.
  await src.head(key);
  await dst.put('warm-up', 'x');
  const baselineRss = process.memoryUsage().rss;
  const t0 = Date.now();
  const result = await copyObject(src, key, dst, key, { expectedSize: Number(size) });
  const ms = Date.now() - t0;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ result, ms, baselineRss, peakRss })}\n`);
  await src.close();
  await dst.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${String((e as Error)?.stack ?? e)}\n`);
  process.exit(1);
});
