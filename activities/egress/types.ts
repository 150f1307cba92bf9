/** Plain, serialisable inputs and outputs of egress (regional table → central table). */
import type { CloudTransfer, EgressTarget } from '../../shapes/targets';

/** A source data file egress cannot carry (it fails the batch on every try), and why. */
export interface PoisonedFile {
  /** Source version whose commit added the file. */
  sourceVersion: number;
  /** The add action's path (relative to the source table, as in its log). */
  path: string;
  /** Why it is poison (bounded, see MAX_POISON_REASON). */
  reason: string;
  /** Rows the file holds per its add action's stats, when they say. */
  rows?: number;
}

/** Longest reason a quarantine record keeps. */
export const MAX_POISON_REASON = 1000;

/** Options of an egress batch beyond its target (all optional: a plain call egresses the next batch). */
export interface EgressBatchOptions {
  /** Files isolated as poison: recorded in the egress quarantine (once) and not read. */
  isolated?: PoisonedFile[];
  /** The last source version of the batch (fixed once a batch is isolated, so its files stay the same). */
  upTo?: number;
}

export interface IsolateEgressRequest {
  target: EgressTarget;
  /** The failure the batch keeps failing with. */
  failure: string;
  /** Files isolated in earlier rounds (kept isolated). */
  known?: PoisonedFile[];
  /** Fix the batch to source versions up to this one (the earlier round's). */
  upTo?: number;
  /** Isolate every file of the batch (the last resort after the isolation rounds). */
  wholeBatch?: boolean;
}

export interface IsolateEgressResult {
  isolated: PoisonedFile[];
  /** The batch's last source version (pass it as upTo with the isolated files). */
  upTo: number;
  probes: number;
  note?: string;
}

export interface EgressBatchResult {
  /** Last source version now reflected in central (-1: none yet). */
  sourceVersion: number;
  /** Latest source version seen. */
  latestSourceVersion: number;
  centralVersion: number | null;
  filesRead: number;
  rowsEgressed: number;
  skippedChangeCommits: number[];
  caughtUp: boolean;
  /**
   * Tries of the central commit under optimistic concurrency (1 = no race lost; counted within the last
   * plan, see writeTable). 0 when nothing was committed by this call (caught up, or the txn had already landed).
   */
  commitAttempts: number;
  /** Source files recorded in the egress quarantine by this call (isolated poison), with their reasons. */
  quarantined?: PoisonedFile[];
  /** The routing version the batch applied (0: config's routes; when caught up, the version read). */
  routingVersion?: number;
  /** Each table the batch wrote, route tables first, central last (only when the routing has routes). */
  routed?: RoutedWrite[];
  /** Bytes read from the source and written to each target, by cloud pair (this call's commits only). */
  transfers?: CloudTransfer[];
}

/** One target table's commit of an egress batch. */
export interface RoutedWrite {
  table: string;
  rows: number;
  /** The table's version after the commit (or when it already had the batch). */
  version: number;
  /** The table already recorded the batch's txn (an earlier attempt's commit). */
  alreadyCommitted?: boolean;
}

/** A source file's identity within an egress batch. */
export const poisonId = (f: { sourceVersion: number; path: string }): string =>
  `${f.sourceVersion}:${f.path}`;
