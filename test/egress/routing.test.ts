/**
 * Routing in egress on the Temporal dev server: config's routes send approved rows to route tables on other
 * backends (first matching route, NULL no match, else central), each table gets the batch's txn and the
 * routing version in commitInfo; a routing published between runs applies from the next batch; a crash
 * between the route table's commit and central's re-plans under the same routing version and lands each
 * row once; `schedules apply` refuses a config that contradicts the live routing.
 */
import { randomUUID } from 'node:crypto';
import { publishRouting, readRoutingAcks } from '../../activities/egress/routing-store';
import { parseConfig } from '../../config/load';
import { isTributaryError, transient } from '../../lake/errors';
import { evaluate, parsePredicate } from '../../lake/predicate';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { history } from '../../lake/table/maintenance';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { scheduleIds } from '../../shapes/queues';
import { ROUTING_VERSION_FIELD, type Route } from '../../shapes/routing';
import { type EgressTarget, egressAppIdFor } from '../../shapes/targets';
import { createRegionWorker } from '../../workers/region-worker';
import type { EgressRunSummary } from '../../workflows/egress';
import { cli } from '../harness/cli';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { tableRows, temporal, workflowBundle, writeLocalRegionConfig } from '../ingest/helpers';
import { approvedKeys, regionalCommitSql, rowKey } from './load-rows';

jest.setTimeout(300_000);

const ROWS = 12;

/** The route a row takes under `routes` (index into routes), or -1 for the default table. */
const routeIndex = (routes: readonly Route[], row: Record<string, unknown>) =>
  routes.findIndex((r) => evaluate(parsePredicate(r.predicate), row) === true);

const routingVersionsOf = async (store: ObjectStore) =>
  (await history(store)).map((h) => (h as unknown as Record<string, unknown>)[ROUTING_VERSION_FIELD]);

/** Every key once across the tables; returns key → table index. */
async function placement(
  tables: ObjectStore[],
): Promise<Map<string, { table: number; row: Record<string, unknown> }>> {
  const out = new Map<string, { table: number; row: Record<string, unknown> }>();
  for (const [i, s] of tables.entries()) {
    const snap = await loadSnapshotOrUndefined(s, defaultEngine);
    if (!snap) continue;
    for (const row of await tableRows(s)) {
      const k = rowKey(row);
      if (out.has(k)) throw new Error(`${k} is in table ${out.get(k)!.table} and table ${i}`);
      out.set(k, { table: i, row });
    }
  }
  return out;
}

test('routes from config to tables on two other backends; a routing published later applies from the next batch', async () => {
  const kinds: BackendKind[] = ['local', 's3', 'gcs'];
  const locs = await Promise.all(kinds.map((k) => createTestLocation(k)));
  const opts = emulatorOptions(kinds);
  const t = await temporal();
  const taskQueue = `test-routing-${randomUUID().slice(0, 8)}`;
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: opts,
    workflowBundle: await workflowBundle(),
  });
  const central = `${locs[0]!.url}/central`;
  const routeA = `${locs[1]!.url}/route-api`;
  const routeB = `${locs[2]!.url}/route-warn`;
  const v0: Route[] = [
    { table: routeA, predicate: "service = 'api'" },
    // NULL is no match: rows whose http.status is NULL never go here by this route.
    { table: routeB, predicate: "level IN ('WARN', 'ERROR')" },
  ];
  const regions = ['eu', 'us'];
  const target = (r: string): EgressTarget => ({
    region: r,
    source: `${locs[0]!.url}/regional-${r}`,
    central,
    filter: 'egress_approved = true',
    onChangeCommits: 'fail',
    maxVersionsPerBatch: 2,
    routes: v0,
  });
  const exec = async (r: string) =>
    (await t.client.workflow.execute('egressRegionWorkflow', {
      taskQueue,
      workflowId: `routing-${r}-${randomUUID()}`,
      args: [{ target: target(r) }],
    })) as EgressRunSummary;
  try {
    await w.worker.runUntil(async () => {
      const sources = new Map<string, ObjectStore>();
      for (const r of regions) {
        const s = await openStore(target(r).source, opts);
        sources.set(r, s);
        for (let c = 0; c < 3; c++)
          await writeTable(s, { sourceSql: regionalCommitSql(r, c, ROWS), mergeSchema: true });
      }
      const summaries = await Promise.all(regions.map(exec));
      for (const s of summaries) {
        expect(s.sourceVersion).toBe(2);
        expect(s.routingVersion).toBe(0);
      }
      const stores = await Promise.all([central, routeA, routeB].map((u) => openStore(u, opts)));
      let placed = await placement(stores);
      const approved = regions.flatMap((r) => approvedKeys(r, 3, ROWS));
      expect([...placed.keys()].sort()).toEqual([...approved].sort());
      // Each row is in the table of its first matching route, else central (0); every table got rows.
      const tableOf = (routes: Route[], urls: string[], row: Record<string, unknown>) => {
        const i = routeIndex(routes, row);
        return i < 0 ? 0 : urls.indexOf(routes[i]!.table);
      };
      for (const { table, row } of placed.values())
        expect(table).toBe(tableOf(v0, [central, routeA, routeB], row));
      expect(new Set([...placed.values()].map((p) => p.table))).toEqual(new Set([0, 1, 2]));
      // Every table records every region's position, and the routing version of each egress commit.
      for (const s of stores) {
        const snap = (await loadSnapshotOrUndefined(s, defaultEngine))!;
        for (const r of regions) expect(snap.txnVersion(egressAppIdFor(r))).toBe(2);
        const versions = (await routingVersionsOf(s)).filter((v) => v !== undefined);
        expect(versions.length).toBeGreaterThanOrEqual(regions.length * 2); // two batches per region
        expect(new Set(versions)).toEqual(new Set([0]));
      }
      let acks = await readRoutingAcks(stores[0]!, regions);
      for (const r of regions)
        expect(acks.get(r)).toMatchObject({ region: r, routingVersion: 0, sourceVersion: 2 });

      // A fork publishes version 1: api rows now go to route B (A no longer routed); next batches follow it.
      const v1: Route[] = [{ table: routeB, predicate: "service = 'api'" }];
      const pub = await publishRouting(stores[0]!, { routes: v1, publishedBy: 'fork/test' });
      expect(pub).toMatchObject({ kind: 'published', routing: { version: 1 } });
      for (const r of regions)
        await writeTable(sources.get(r)!, { sourceSql: regionalCommitSql(r, 3, ROWS), mergeSchema: true });
      const after = await Promise.all(regions.map(exec));
      for (const s of after) expect(s).toMatchObject({ sourceVersion: 3, routingVersion: 1 });
      placed = await placement(stores);
      const approved4 = regions.flatMap((r) => approvedKeys(r, 4, ROWS));
      expect([...placed.keys()].sort()).toEqual([...approved4].sort());
      for (const { table, row } of placed.values()) {
        const v = String(row._source_file).includes('part-0003') ? v1 : v0;
        expect(table).toBe(tableOf(v, [central, routeA, routeB], row));
      }
      const [cSnap, aSnap, bSnap] = await Promise.all(
        stores.map((s) => loadSnapshotOrUndefined(s, defaultEngine)),
      );
      for (const r of regions) {
        expect(cSnap!.txnVersion(egressAppIdFor(r))).toBe(3);
        expect(bSnap!.txnVersion(egressAppIdFor(r))).toBe(3);
        expect(aSnap!.txnVersion(egressAppIdFor(r))).toBe(2); // not in version 1's routing
      }
      expect((await routingVersionsOf(stores[2]!)).slice(0, 2)).toEqual([1, 1]);
      expect((await routingVersionsOf(stores[0]!)).slice(0, 2)).toEqual([1, 1]);
      acks = await readRoutingAcks(stores[0]!, regions);
      for (const r of regions) expect(acks.get(r)).toMatchObject({ routingVersion: 1, sourceVersion: 3 });

      // Caught up: a run acknowledges the version it read, with nothing to do.
      const idle = await exec('eu');
      expect(idle).toMatchObject({ sourceVersion: 3, routingVersion: 1, rows: 0 });
      expect((await readRoutingAcks(stores[0]!, ['eu'])).get('eu')).toMatchObject({ state: 'caughtUp' });
    });
  } finally {
    await w.close();
    await t.close();
    for (const l of locs) await l.cleanup();
  }
});

test('a crash between the route table commit and central commit re-plans under the same routing version', async () => {
  const loc = await createTestLocation('local');
  const central = `${loc.url}/central`;
  const routeA = `${loc.url}/route-a`;
  const routeB = `${loc.url}/route-b`;
  const v0: Route[] = [{ table: routeA, predicate: "service = 'api'" }];
  const v1: Route[] = [{ table: routeB, predicate: "level = 'INFO'" }];
  const region = 'crash';
  const target: EgressTarget = {
    region,
    source: `${loc.url}/regional`,
    central,
    filter: 'egress_approved = true',
    onChangeCommits: 'fail',
    maxVersionsPerBatch: 10,
    routes: v0,
  };
  const source = await openStore(target.source);
  for (let c = 0; c < 3; c++)
    await writeTable(source, { sourceSql: regionalCommitSql(region, c, ROWS), mergeSchema: true });
  // Central's first data commit fails once, after route A has committed; before failing, a fork publishes
  // routing version 1 (a routing change racing the retry).
  let crashes = 0;
  const open = async (url: string): Promise<ObjectStore> => {
    const s = await openStore(url);
    if (url !== central) return s;
    return Object.assign(Object.create(s) as ObjectStore, {
      putIfAbsent: async (key: string, body: Parameters<ObjectStore['putIfAbsent']>[1]) => {
        if (/_delta_log\/\d{20}\.json$/.test(key) && crashes === 0) {
          crashes++;
          await publishRouting(s, { routes: v1, publishedBy: 'fork/crash-test' });
          throw transient(`injected: central commit ${key} lost`);
        }
        return s.putIfAbsent(key, body);
      },
    });
  };
  const t = await temporal();
  const taskQueue = `test-routing-crash-${randomUUID().slice(0, 8)}`;
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: {},
    open,
    workflowBundle: await workflowBundle(),
  });
  const exec = async () =>
    (await t.client.workflow.execute('egressRegionWorkflow', {
      taskQueue,
      workflowId: `routing-crash-${randomUUID()}`,
      args: [{ target }],
    })) as EgressRunSummary;
  try {
    await w.worker.runUntil(async () => {
      const s = await exec();
      expect(crashes).toBe(1);
      // The retried batch applied version 0 (the one its route A commit had), not the newer version 1.
      expect(s).toMatchObject({ sourceVersion: 2, routingVersion: 0 });
      const stores = await Promise.all([central, routeA, routeB].map((u) => openStore(u)));
      expect(await loadSnapshotOrUndefined(stores[2]!, defaultEngine)).toBeUndefined();
      let placed = await placement(stores);
      expect([...placed.keys()].sort()).toEqual([...approvedKeys(region, 3, ROWS)].sort());
      for (const { table, row } of placed.values()) expect(table).toBe(routeIndex(v0, row) < 0 ? 0 : 1);
      expect((await routingVersionsOf(stores[0]!)).filter((v) => v !== undefined)).toEqual([0]);
      expect((await routingVersionsOf(stores[1]!)).filter((v) => v !== undefined)).toEqual([0]);

      // The next batch applies version 1.
      await writeTable(source, { sourceSql: regionalCommitSql(region, 3, ROWS), mergeSchema: true });
      expect(await exec()).toMatchObject({ sourceVersion: 3, routingVersion: 1 });
      placed = await placement(stores);
      expect([...placed.keys()].sort()).toEqual([...approvedKeys(region, 4, ROWS)].sort());
      for (const { table, row } of placed.values())
        if (String(row._source_file).includes('part-0003'))
          expect(table).toBe(routeIndex(v1, row) < 0 ? 0 : 2);
      expect((await routingVersionsOf(stores[0]!))[0]).toBe(1);
    });
  } finally {
    await w.close();
    await t.close();
    await loc.cleanup();
  }
});

test('config: route tables must be tables of their own', () => {
  const base = `regions:\n  - { name: eu-1, cloud: local, raw: "file:///r", table: "file:///t" }\ncentral:\n  table: "file:///c"\n  routes:\n`;
  const bad = (routes: string) => {
    try {
      parseConfig(base + routes, 'c.yaml');
    } catch (e) {
      expect(isTributaryError(e, 'CONFIG_INVALID')).toBe(true);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  expect(bad(`    - { table: "file:///c/", predicate: "a = 1" }\n`)).toMatch(
    /central\.routes\.0\.table: a route table must be a table of its own, not the central table/,
  );
  expect(
    bad(
      `    - { table: "file:///x", predicate: "a = 1" }\n    - { table: "file:///x", predicate: "b = 1" }\n`,
    ),
  ).toMatch(/central\.routes\.1\.table: .*not route 0's table/);
  expect(bad(`    - { table: "file:///t_quarantine", predicate: "a = 1" }\n`)).toMatch(
    /region eu-1's quarantine/,
  );
  expect(bad(`    - { table: "file:///c_egress_quarantine", predicate: "a = 1" }\n`)).toMatch(
    /egress quarantine/,
  );
  expect(bad(`    - { table: "file:///x", predicate: "a = = 1" }\n`)).toMatch(
    /central\.routes\.0\.predicate/,
  );
  const ok = parseConfig(base + `    - { table: "file:///x", predicate: "a = 1" }\n`, 'c.yaml');
  expect(ok.central!.routes).toEqual([{ table: 'file:///x', predicate: 'a = 1' }]);
});

test('schedules apply publishes config routes once, then refuses a config that contradicts the live routing', async () => {
  const loc = await createTestLocation('local');
  const region = `rt-${randomUUID().slice(0, 6)}`;
  const central = `${loc.url}/central`;
  const routes = (table: string, p: string) => `[{ table: "${table}", predicate: "${p}" }]`;
  const { file, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: region,
    ingest: '{ schedule: { paused: true } }',
    central: `{ table: "${central}", routes: ${routes(`${loc.url}/api`, "service = 'api'")}, schedule: { paused: true } }`,
  });
  const t = await temporal();
  try {
    const first = await cli('schedules', 'apply', '--config', file);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/published egress routing version 1 from config/);
    const again = await cli('schedules', 'apply', '--config', file);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/published/);

    // A fork publishes version 2; the old config would undo it: refused, naming the version and the YAML.
    const store = await openStore(central);
    await publishRouting(store, {
      routes: [{ table: `${loc.url}/fork`, predicate: "_region = 'eu'" }],
      publishedBy: 'fork/fork-eu',
    });
    const refused = await cli('schedules', 'apply', '--config', file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/CONFIG_INVALID/);
    expect(refused.stderr).toMatch(/version 2, published by fork\/fork-eu/);
    expect(refused.stderr).toContain(`    - table: "${loc.url}/fork"\n      predicate: "_region = 'eu'"`);

    const shown = await cli('egress', 'routing', '--config', file, '--json');
    expect(shown.code).toBe(0);
    const out = JSON.parse(shown.stdout) as {
      routing: { version: number };
      configMatches: boolean;
      acks: unknown[];
    };
    expect(out).toMatchObject({
      routing: { version: 2 },
      configMatches: false,
      acks: [{ region, ack: null }],
    });
    const text = await cli('egress', 'routing', '--config', file);
    expect(text.stdout).toMatch(/version 2 \(fork\/fork-eu at .*\), DIFFERS from config/);
    expect(config.central!.routes).toHaveLength(1);
  } finally {
    for (const id of [scheduleIds.ingest(region), scheduleIds.egress(region)])
      await t.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => {});
    await t.close();
    await loc.cleanup();
  }
});
