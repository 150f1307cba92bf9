/**
 * Isolation of an egress batch that fails the same way on every try (a source data file that cannot be
 * read or decoded, rows DuckDB refuses to convert, a bug met by some data): trial runs of the batch on
 * parts of its source files, written to throwaway local tables seeded with central's schema, narrow the
 * failure down to the files that cause it. egressBatch then records those in the egress quarantine with
 * the reason and commits the rest.
 *
 * A failure that a retry can fix (storage, commit conflicts) is not isolated: it fails this activity as it
 * is, for Temporal to retry. A failure that even an empty trial run shows is not in the data: isolation
 * refuses, and the workflow fails with the reason instead of looping.
 */
import { pathToFileURL } from 'node:url';
import { stageDir } from '../../lake/engine/local-files';
import { TributaryError, isTributaryError } from '../../lake/errors';
import { engineMessage } from '../failures';
import { type EgressDeps, type PickedFile, egressBatch, planEgressBatch, poisonReason } from './batch';
import { type IsolateEgressRequest, type IsolateEgressResult, type PoisonedFile, poisonId } from './types';

/** Trial runs one isolation may make; beyond them, what still fails is isolated as it stands. */
export const MAX_EGRESS_PROBES = 200;

export interface IsolateEgressDeps extends Pick<EgressDeps, 'open'> {
  /** Called after each trial run (activities heartbeat it). */
  progress?(p: { probes: number; isolated: number }): void;
}

const idOf = (f: PickedFile) => poisonId({ sourceVersion: f.sourceVersion, path: f.add.path });

export async function isolateEgressBatch(
  deps: IsolateEgressDeps,
  req: IsolateEgressRequest,
): Promise<IsolateEgressResult> {
  const t = req.target;
  const plan = await planEgressBatch({ open: deps.open }, t, req.upTo);
  const found: PoisonedFile[] = [...(req.known ?? [])];
  if (plan.to === undefined) return { isolated: found, upTo: plan.done, probes: 0, note: 'caught up' };
  const upTo = plan.to;
  const files = plan.pick.files;
  const isolate = (f: PickedFile, reason: string) =>
    found.push({ sourceVersion: f.sourceVersion, path: f.add.path, reason: poisonReason(reason) });
  const isolated = (f: PickedFile) => found.some((x) => poisonId(x) === idOf(f));

  if (req.wholeBatch) {
    const reason = `${req.failure} (the batch failed after every isolation round)`;
    for (const f of files) if (!isolated(f)) isolate(f, reason);
    return { isolated: found, upTo, probes: 0, note: 'every file of the batch isolated' };
  }

  let probes = 0;
  let note: string | undefined;
  /** A trial run with only these files: undefined when it went through, else the failure. */
  const probe = async (only: readonly PickedFile[]): Promise<string | undefined> => {
    probes++;
    const dir = await stageDir();
    try {
      const central = await deps.open(`${pathToFileURL(dir.path).href}/central`);
      await egressBatch({ open: deps.open }, t, {
        upTo,
        isolated: found,
        probe: { only: new Set(only.map(idOf)), central },
      });
      return undefined;
    } catch (e) {
      // A failure a retry can fix says nothing about the data: the whole isolation is retried.
      if (isTributaryError(e) && e.retryable) throw e;
      const name = (e as Error).name;
      return `${name === 'Error' || name === 'TributaryError(INTERNAL)' ? '' : `${name}: `}${engineMessage(e)}`;
    } finally {
      await dir.discard();
      deps.progress?.({ probes, isolated: found.length });
    }
  };

  // Everything but the data: if this fails, isolating files cannot help.
  const control = await probe([]);
  if (control !== undefined)
    throw new TributaryError(
      'INTERNAL',
      `egress ${t.region}: source versions ${plan.done + 1}..${upTo} cannot be isolated: a trial run ` +
        `without any source file fails too (${poisonReason(control)}), so the failure is not in the data`,
      { retryable: false },
    );

  // 1. Each file alone.
  for (const f of files) {
    if (isolated(f)) continue;
    if (probes >= MAX_EGRESS_PROBES) {
      note = `trial run budget of ${MAX_EGRESS_PROBES} spent`;
      break;
    }
    const err = await probe([f]);
    if (err !== undefined) isolate(f, err);
  }

  // 2. Files that pass alone but fail together: the first file whose addition makes the batch fail is
  //    isolated, until the batch goes through or the budget is spent.
  const rest = () => files.filter((f) => !isolated(f));
  let err = await probe(rest());
  while (err !== undefined) {
    const all = rest();
    if (probes >= MAX_EGRESS_PROBES || all.length === 0) {
      note = `the batch still fails (${poisonReason(err)})`;
      break;
    }
    let lo = 1;
    let hi = all.length; // the first hi files fail together
    while (lo < hi && probes < MAX_EGRESS_PROBES) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await probe(all.slice(0, mid))) === undefined) lo = mid + 1;
      else hi = mid;
    }
    isolate(all[hi - 1]!, `${err} (only together with the files before it in the batch)`);
    note = 'files that fail only together were isolated';
    err = await probe(rest());
  }
  return { isolated: found, upTo, probes, ...(note ? { note } : {}) };
}
