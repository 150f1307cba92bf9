/** Config → the input of a replica's promotion: which role the replicated table plays and its Schedules. */
import { TributaryError } from '../lake/errors';
import type { PromoteReplicaInput, PromoteSchedule } from '../shapes/promote';
import { scheduleIds, workflowIds } from '../shapes/queues';
import type { Config } from './schema';

const norm = (u: string) => u.replace(/\/+$/, '');

export function replicaEntryOf(config: Config, name: string): Config['replicate'][number] {
  const e = config.replicate.find((x) => x.name === name);
  if (!e)
    throw new TributaryError(
      'CONFIG_INVALID',
      `no replicate entry ${JSON.stringify(name)} in config (replicate: ${config.replicate.map((x) => x.name).join(', ') || 'none'})`,
    );
  return e;
}

export function promoteInputOf(
  config: Config,
  name: string,
  o: { back?: boolean; finalClone?: boolean; reason?: string } = {},
): PromoteReplicaInput {
  const e = replicaEntryOf(config, name);
  const common = {
    name: e.name,
    primary: e.source,
    replica: e.target,
    ...(o.back ? { back: true } : {}),
    ...(o.finalClone === false ? { finalClone: false } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  };
  const egress = (region: string): PromoteSchedule => ({
    id: scheduleIds.egress(region),
    kind: 'egress',
    region,
    workflowId: workflowIds.egress(region, 'central'),
  });
  if (config.central && norm(config.central.table) === norm(e.source))
    return { ...common, role: { kind: 'central' }, schedules: config.regions.map((r) => egress(r.name)) };
  const r = config.regions.find((x) => norm(x.table) === norm(e.source));
  if (r)
    return {
      ...common,
      role: { kind: 'regional', region: r.name },
      schedules: [
        {
          id: scheduleIds.ingest(r.name),
          kind: 'ingest',
          region: r.name,
          workflowId: workflowIds.ingest(r.name, 'regional'),
        },
        ...(config.central ? [egress(r.name)] : []),
      ],
    };
  throw new TributaryError(
    'CONFIG_INVALID',
    `replicate entry ${e.name}: its source ${e.source} is neither the central table nor a region's table, so no pipeline writes it and there is nothing to switch`,
  );
}
