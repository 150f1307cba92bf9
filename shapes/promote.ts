/**
 * Replica promotion after a storage outage, as plain shapes: the `promoteReplica` workflow's input (what an
 * operator types into the Temporal UI), its plan and state, the promotion record kept in a Schedule's note
 * (read back by `schedules apply`), and the pure rewrite of a Schedule's action args onto the replica.
 * Pure: workflows, activities, workers and the CLI import it.
 */
import { noteLine, noteLines, withNoteLine } from './schedule-notes';

/** Which role the table plays: the central table (egress writes it) or a region's table (ingest writes it). */
export type PromotionRole = { kind: 'central' } | { kind: 'regional'; region: string };

/** A Schedule whose action reads or writes the table. */
export interface PromoteSchedule {
  /** Schedule id, e.g. `egress-eu`. */
  id: string;
  kind: 'ingest' | 'egress';
  region: string;
  /** The business-key workflow id its runs use (default `ingest/<region>/regional`, `egress/<region>/central`). */
  workflowId?: string;
}

/**
 * The input of `promoteReplica`. From the Temporal UI, e.g.
 * `{ "name": "central-dr", "primary": "s3://lake/central", "replica": "az://dr/central",
 *    "role": { "kind": "central" },
 *    "schedules": [{ "id": "egress-eu", "kind": "egress", "region": "eu" }] }`.
 * `primary` and `replica` are as in the `replicate:` entry; with `back` the switch goes from the replica
 * to the primary (after the primary has been cloned back from it).
 */
export interface PromoteReplicaInput {
  name: string;
  primary: string;
  replica: string;
  role: PromotionRole;
  schedules: PromoteSchedule[];
  back?: boolean;
  /**
   * Try a last clone (primary → replica; failing back, replica → primary with `replace`) once the writers
   * are paused. Default true; it is given up after `finalCloneTimeoutSeconds` (a dead primary).
   */
  finalClone?: boolean;
  /** Default 30. */
  finalCloneTimeoutSeconds?: number;
  reason?: string;
}

/** Where the switch goes: from the table the pipelines write now to the one they will write. */
export const switchOf = (i: Pick<PromoteReplicaInput, 'primary' | 'replica' | 'back'>) =>
  i.back ? { from: i.replica, to: i.primary } : { from: i.primary, to: i.replica };

export const defaultPromoteWorkflowId = (s: PromoteSchedule): string =>
  s.workflowId ?? (s.kind === 'ingest' ? `ingest/${s.region}/regional` : `egress/${s.region}/central`);

/** One writer of the table, and what its pipeline sends again once pointed at the replica. */
export interface WriterGap {
  scheduleId: string;
  region: string;
  kind: 'ingest' | 'egress';
  /** The Delta `txn` application id the writer records its position under. */
  appId: string;
  /** Its txn version on the table being switched to (where the pipeline resumes; undefined: from the start). */
  replicaVersion?: number;
  /** Its txn version on the table being switched from, when that table is readable. */
  primaryVersion?: number;
  /** Egress: the latest version of the regional table it reads. */
  latestSourceVersion?: number;
  /** What is sent again: egress source versions, ingest batch sequence numbers (`to` unknown: up to the latest). */
  resend: { from: number; to?: number };
  text: string;
}

export interface FinalCloneOutcome {
  ok: boolean;
  /** Why not: the primary did not answer, or the clone failed (redacted, bounded). */
  error?: string;
  sourceVersion?: number;
  targetVersion?: number;
  mode?: string;
  copiedFiles?: number;
  copiedBytes?: number;
}

export interface PlannedSwitch {
  scheduleId: string;
  exists: boolean;
  /** Action-arg fields that point at the old table and will point at the new one (e.g. `target.central`). */
  fields: string[];
  /** Already switched by an earlier run of the promotion. */
  switched: boolean;
}

export interface PromotionPlan {
  name: string;
  role: PromotionRole;
  back: boolean;
  from: string;
  to: string;
  /** Whether the table switched from answered (the final clone ran, or it could be read). */
  primaryReadable: boolean;
  primaryError?: string;
  finalClone?: FinalCloneOutcome;
  /** The table id of the table switched from, as the replica records it (`txn tributary-clone/<id>`). */
  sourceTableId?: string;
  /** The source version the replica was last cloned at. */
  recordedSourceVersion?: number;
  /** The version of the table switched to. */
  replicaVersion: number;
  /** The version of the table switched from, when readable. */
  primaryVersion?: number;
  writers: WriterGap[];
  schedules: PlannedSwitch[];
  warnings: string[];
}

export interface StoppedRun {
  workflowId: string;
  runId?: string;
  outcome: 'terminated' | 'already-closed' | 'not-running';
}

export interface SwitchedSchedule {
  scheduleId: string;
  outcome: 'switched' | 'already-switched' | 'missing';
  fields: string[];
  triggered: boolean;
  note?: string;
}

export interface PromotionState {
  phase: 'pausing' | 'stopping-runs' | 'final-clone' | 'planning' | 'switching' | 'done';
  paused: string[];
  stopped: StoppedRun[];
  plan?: PromotionPlan;
  switched: SwitchedSchedule[];
  /** One line per writer: which versions its pipeline sends again (the plan's writer texts). */
  resent: string[];
}

/** A promotion as recorded in a Schedule's note: its args point at `to` instead of `from` (from config). */
export interface PromotionRecord {
  name: string;
  from: string;
  to: string;
  at: string;
  by: string;
  reason?: string;
}

const promotionKey = (name: string) => `promoted replica ${name}: `;

/** `promoted replica <name>: {"from":…,"to":…,"at":…,"by":…}` — one note line. */
export const promotionLine = (r: PromotionRecord): string =>
  `${promotionKey(r.name)}${JSON.stringify({ from: r.from, to: r.to, at: r.at, by: r.by, ...(r.reason ? { reason: r.reason } : {}) })}`;

/** Every promotion recorded in a note (a note line that does not parse is not a record). */
export function parsePromotionNotes(note: string | undefined): PromotionRecord[] {
  const out: PromotionRecord[] = [];
  for (const l of noteLines(note)) {
    const m = /^promoted replica (\S+): (\{.*\})$/.exec(l);
    if (!m) continue;
    try {
      const j = JSON.parse(m[2]!) as Partial<PromotionRecord>;
      if (typeof j.from === 'string' && typeof j.to === 'string')
        out.push({
          name: m[1]!,
          from: j.from,
          to: j.to,
          at: String(j.at ?? ''),
          by: String(j.by ?? ''),
          ...(j.reason ? { reason: String(j.reason) } : {}),
        });
    } catch {
      /* not a record */
    }
  }
  return out;
}

export const promotionOf = (note: string | undefined, name: string): PromotionRecord | undefined =>
  noteLine(note, promotionKey(name)) ? parsePromotionNotes(note).find((r) => r.name === name) : undefined;

/** The note with the promotion of `name` recorded (or, with undefined, cleared), other records kept. */
export const withPromotion = (note: string | undefined, name: string, r: PromotionRecord | undefined) =>
  withNoteLine(note, promotionKey(name), r ? promotionLine(r) : undefined);

const norm = (u: string) => u.replace(/\/+$/, '');
/** Tables that sit beside a table by name and move with it (their default URIs). */
const BESIDE = ['_quarantine', '_egress_quarantine'];

/**
 * A Schedule's action args with every target URI naming `from` (or a table beside it by the default
 * suffixes) pointing at `to`, and which fields changed (`target.central`, `target.table`, …).
 */
export function retargetArgs(
  args: readonly unknown[],
  from: string,
  to: string,
): { args: unknown[]; fields: string[] } {
  const fields: string[] = [];
  const out = args.map((a, i) => {
    const target = (a as { target?: Record<string, unknown> } | undefined)?.target;
    if (!target || typeof target !== 'object') return a;
    const t: Record<string, unknown> = { ...target };
    for (const [k, v] of Object.entries(t)) {
      if (typeof v !== 'string') continue;
      const n = norm(v);
      const suffix = n === norm(from) ? '' : BESIDE.find((s) => n === norm(from) + s);
      if (suffix === undefined) continue;
      t[k] = norm(to) + suffix;
      fields.push(`${i ? `args[${i}].` : ''}target.${k}`);
    }
    return { ...(a as object), target: t };
  });
  return { args: out, fields };
}

/** Args as config makes them, with every promotion recorded in the note applied (what `schedules apply` keeps). */
export function applyPromotions(
  args: readonly unknown[],
  note: string | undefined,
): { args: unknown[]; kept: PromotionRecord[] } {
  const kept: PromotionRecord[] = [];
  let out: unknown[] = [...args];
  for (const r of parsePromotionNotes(note)) {
    const x = retargetArgs(out, r.from, r.to);
    out = x.args;
    kept.push(r);
  }
  return { args: out, kept };
}
