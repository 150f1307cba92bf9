/**
 * A stand-in for routed egress in the fork tests (until routed egress lands, issue 15): per region, a loop
 * that writes small batches of rows with lineage keys the way the routing contract says egress does. At
 * each batch start it reads the live routing of main; rows go to the first route whose predicate is TRUE
 * (NULL is not a match), the rest to main; route tables commit first, each with
 * txn(egressAppIdFor(region), batch), main last; then it writes the region's routing ack. Real stores,
 * real Delta commits; the rows written are remembered so a test can check the fork against them.
 */
import { parsePredicate, evaluate } from '../../lake/predicate';
import type { ObjectStore } from '../../lake/storage/object-store';
import { writeTable } from '../../lake/table/operations';
import { readRouting, writeRoutingAck } from '../../activities/egress/routing-store';
import { ROUTING_VERSION_FIELD } from '../../shapes/routing';
import { egressAppIdFor } from '../../shapes/targets';

export interface Row {
  _region: string;
  _source_file: string;
  _source_line: number;
  tier: string | null;
  msg: string;
}

const TIERS = ['gold', 'silver', null, 'bronze'] as const;

const lit = (v: string | number | null) =>
  v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`;

/** A typed relation over the rows (their values are the test's own, never user input). */
export function rowsSql(rows: readonly Row[]): string {
  const values = rows
    .map((r) => `(${[r._region, r._source_file, r._source_line, r.tier, r.msg].map(lit).join(', ')})`)
    .join(', ');
  return `(SELECT CAST(a AS VARCHAR) AS _region, CAST(b AS VARCHAR) AS _source_file, CAST(c AS BIGINT) AS _source_line, CAST(d AS VARCHAR) AS tier, CAST(e AS VARCHAR) AS msg FROM (VALUES ${values}) t(a, b, c, d, e))`;
}

export class FakeEgress {
  batch = 0;
  readonly written: Row[] = [];
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    readonly region: string,
    readonly main: ObjectStore,
    readonly open: (url: string) => Promise<ObjectStore>,
    readonly rowsPerBatch = 6,
  ) {}

  /** One batch: rows for source version `batch`, routed by the live routing. */
  async step(): Promise<void> {
    const v = this.batch;
    const rows: Row[] = Array.from({ length: this.rowsPerBatch }, (_, i) => ({
      _region: this.region,
      _source_file: `raw/${this.region}/f${v}.log`,
      _source_line: i + 1,
      tier: TIERS[(v + i) % TIERS.length]!,
      msg: `m${v}-${i}`,
    }));
    const routing = await readRouting(this.main);
    const routes = (routing?.routes ?? []).map((r) => ({ ...r, expr: parsePredicate(r.predicate) }));
    const byTable = new Map<string, Row[]>();
    const toMain: Row[] = [];
    for (const row of rows) {
      const r = routes.find((x) => evaluate(x.expr, row as unknown as Record<string, unknown>) === true);
      if (r) byTable.set(r.table, [...(byTable.get(r.table) ?? []), row]);
      else toMain.push(row);
    }
    const txn = { appId: egressAppIdFor(this.region), version: v };
    const params = { appId: txn.appId, region: this.region, [ROUTING_VERSION_FIELD]: routing?.version ?? 0 };
    for (const [table, part] of byTable)
      await writeTable(await this.open(table), {
        sourceSql: rowsSql(part),
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: params,
      });
    if (toMain.length)
      await writeTable(this.main, {
        sourceSql: rowsSql(toMain),
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: params,
      });
    await writeRoutingAck(this.main, {
      region: this.region,
      appId: txn.appId,
      routingVersion: routing?.version ?? 0,
      sourceVersion: v,
      state: 'committed',
      at: new Date().toISOString(),
    });
    this.written.push(...rows);
    this.batch++;
  }

  /** Keeps writing a batch every `everyMs` until stop(). */
  start(everyMs: number): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.step();
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
