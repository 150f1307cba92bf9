/** Config → the input of a region's compute failover: its Schedules, its workflow ids and their home queues. */
import { TributaryError } from '../lake/errors';
import type { FailoverRegionInput } from '../shapes/failover';
import { scheduleIds, workflowIds } from '../shapes/queues';
import type { Config } from './schema';
import { maintainEntriesOf, regionOf, taskQueueOf } from './targets';

export function failoverInputOf(
  config: Config,
  region: string,
  o: { toQueue?: string; back?: boolean; reason?: string; mode?: 'terminate' | 'cancel' },
): FailoverRegionInput {
  const r = regionOf(config, region);
  const home = taskQueueOf(r);
  if (!o.back && !o.toQueue)
    throw new TributaryError('BAD_INPUT', 'give --to-queue <queue> (or --back to return to the home queue)');
  if (o.back && o.toQueue && o.toQueue !== home)
    throw new TributaryError(
      'BAD_INPUT',
      `--back returns region ${r.name} to its home queue ${home} from config; leave out --to-queue ${o.toQueue}`,
    );
  const homeQueues: Record<string, string> = { [scheduleIds.ingest(r.name)]: home };
  const ids = [workflowIds.ingest(r.name, 'regional')];
  if (config.central) {
    homeQueues[scheduleIds.egress(r.name)] = home;
    ids.push(workflowIds.egress(r.name, 'central'));
  }
  // Replication entries run by this region's compute move with it.
  for (const e of config.replicate.filter((x) => x.region === r.name)) {
    homeQueues[scheduleIds.replicate(e.name)] = e.taskQueue ?? home;
    ids.push(workflowIds.replicate(e.name));
  }
  // So does the maintenance of the tables this region's compute maintains.
  for (const e of maintainEntriesOf(config).filter((x) => x.region === r.name)) {
    homeQueues[scheduleIds.maintain(e.target.name)] = e.taskQueue;
    ids.push(workflowIds.maintain(e.target.name));
  }
  return {
    region: r.name,
    toQueue: o.back ? home : o.toQueue!,
    ...(o.back ? { back: true } : {}),
    ...(o.mode ? { mode: o.mode } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
    schedules: Object.keys(homeQueues),
    workflowIds: ids,
    homeQueues,
  };
}
