/**
 * Isolation of a batch that fails the same way on every try (a line DuckDB refuses, a bug met by some
 * input): trial runs of the batch's pipeline on parts of it, written to throwaway local stores, narrow
 * the failure down — first to files, then by halving line ranges — to the lines that cause it. Those are
 * then quarantined with their raw bytes and the reason (ingestBatch's `isolated`), and the rest commits.
 *
 * A failure that storage retries can fix is not isolated: it fails this activity as it is, for Temporal
 * to retry. A failure that even an empty trial run shows is not in the data: isolation refuses.
 */
import { pathToFileURL } from 'node:url';
import { stageDir } from '../../lake/engine/local-files';
import { TributaryError, isTributaryError } from '../../lake/errors';
import type { ObjectStore } from '../../lake/storage/object-store';
import { boundText } from '../failures';
import { type BatchDeps, ingestBatch } from './batch';
import { decodeLines } from './decode';
import { readManifest } from './file-state';
import {
  type IsolateBatchRequest,
  type IsolateBatchResult,
  type IsolatedItem,
  type LineSelection,
} from './types';
import { appIdFor } from '../../shapes/targets';

/** Trial runs one isolation may make; beyond them, what is still failing is isolated as it stands. */
export const MAX_PROBES = 200;
/** Longest failure reason an isolated item carries (it goes into every quarantine record it makes). */
const MAX_REASON = 500;

export interface IsolateDeps {
  open(url: string): Promise<ObjectStore>;
  /** Called after each trial run (activities heartbeat it). */
  progress?(p: { probes: number; isolated: number }): void;
}

/** A trial run's outcome: undefined when it went through, else the failure (bounded). */
type Outcome = string | undefined;

export async function isolateBatch(deps: IsolateDeps, req: IsolateBatchRequest): Promise<IsolateBatchResult> {
  const t = req.target;
  const table = await deps.open(t.table);
  const manifest = await readManifest(table, appIdFor(t.region), req.seq);
  const raw = await deps.open(t.raw);
  const found: IsolatedItem[] = [...(req.known ?? [])];
  let probes = 0;
  let note: string | undefined;

  const probe = async (only: LineSelection[]): Promise<Outcome> => {
    probes++;
    const dir = await stageDir();
    const url = pathToFileURL(dir.path).href;
    try {
      const probeDeps: BatchDeps = {
        open: deps.open,
        probe: {
          only,
          table: await deps.open(`${url}/table`),
          quarantine: await deps.open(`${url}/quarantine`),
        },
      };
      await ingestBatch(probeDeps, { target: t, seq: req.seq, isolated: found });
      return undefined;
    } catch (e) {
      // Storage that a retry can fix says nothing about the data: the whole isolation is retried.
      if (isTributaryError(e) && e.retryable) throw e;
      const err = e as Error;
      return boundText(`${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`, MAX_REASON);
    } finally {
      await dir.discard();
      deps.progress?.({ probes, isolated: found.length });
    }
  };
  const isolate = (file: number, reason: string, lines?: [number, number]) =>
    found.push({ file, key: manifest.files[file]!.key, reason, ...(lines ? { lines } : {}) });
  const isWhole = (file: number) => found.some((x) => x.file === file && !x.lines);

  if (req.wholeBatch) {
    const reason = boundText(`${req.failure} (the batch failed after every isolation round)`, MAX_REASON);
    const whole = manifest.files.map((f, file) => ({ file, key: f.key, reason }));
    return { isolated: whole, probes: 0, note: 'every file of the batch kept whole' };
  }

  // An empty trial run runs everything but the data: if it fails, isolating lines cannot help.
  const control = await probe([]);
  if (control !== undefined)
    throw new TributaryError(
      'INTERNAL',
      `batch ${req.seq} of region ${t.region} cannot be isolated: a trial run without any line fails too ` +
        `(${control}), so the failure is not in the data`,
      { retryable: false },
    );

  /** Halves lines [lo, hi] of a file (failing with `err`) until the failing lines are found. */
  const bisect = async (file: number, lo: number, hi: number, err: string): Promise<void> => {
    if (lo === hi) return void isolate(file, err, [lo, hi]);
    if (probes >= MAX_PROBES) {
      note = `trial run budget of ${MAX_PROBES} spent: lines isolated as ranges`;
      return void isolate(file, `${err} (somewhere in lines ${lo}-${hi})`, [lo, hi]);
    }
    const mid = Math.floor((lo + hi) / 2);
    const left = await probe([{ file, lines: [lo, mid] }]);
    const right = await probe([{ file, lines: [mid + 1, hi] }]);
    if (left === undefined && right === undefined)
      return void isolate(file, `${err} (lines ${lo}-${hi} fail together, no half of them alone)`, [lo, hi]);
    if (left !== undefined) await bisect(file, lo, mid, left);
    if (right !== undefined) await bisect(file, mid + 1, hi, right);
  };

  // 1. Each file alone, then the failing ones line range by line range.
  for (let i = 0; i < manifest.files.length; i++) {
    if (isWhole(i)) continue;
    const err = await probe([{ file: i }]);
    if (err === undefined) continue;
    const n = await lineCount(raw, manifest.files[i]!.key);
    if (typeof n === 'string') isolate(i, `${err}; the file cannot be read as lines either (${n})`);
    else if (n === 0) isolate(i, err);
    else await bisect(i, 1, n, err);
  }

  // 2. Files that pass alone but fail together: the first file whose addition makes the batch fail is
  //    isolated whole (its bytes are kept), until the batch goes through or the budget is spent.
  const all = manifest.files.map((_, file) => ({ file }));
  let err = await probe(all);
  while (err !== undefined) {
    if (probes >= MAX_PROBES) {
      note = `trial run budget of ${MAX_PROBES} spent: the batch still fails (${err})`;
      break;
    }
    let lo = 1;
    let hi = manifest.files.length; // the prefix of hi files fails
    while (lo < hi && probes < MAX_PROBES) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await probe(all.slice(0, mid))) === undefined) lo = mid + 1;
      else hi = mid;
    }
    if (isWhole(hi - 1)) {
      note = `the batch still fails after isolating file ${manifest.files[hi - 1]!.key} (${err})`;
      break;
    }
    isolate(hi - 1, `${err} (only together with the files before it in the batch)`);
    note = 'files that fail only together were isolated whole';
    err = await probe(all);
  }
  return { isolated: found, probes, ...(note ? { note } : {}) };
}

/** Line numbers of a file (blank lines included), or why it cannot be decoded. */
async function lineCount(raw: ObjectStore, key: string): Promise<number | string> {
  try {
    const s = await decodeLines(
      await raw.getStream(key),
      { maxLineBytes: Number.MAX_SAFE_INTEGER },
      {
        line() {},
        quarantine() {},
      },
    );
    return s.lines + s.blank;
  } catch (e) {
    if (isTributaryError(e) && e.retryable) throw e;
    return boundText((e as Error).message, MAX_REASON);
  }
}
