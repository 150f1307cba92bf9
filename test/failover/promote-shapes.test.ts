/** The pure pieces of a promotion: args rewritten onto the replica, records in a Schedule's note. */
import { parseConfig } from '../../config/load';
import { promoteInputOf } from '../../config/promote';
import {
  applyPromotions,
  parsePromotionNotes,
  promotionOf,
  retargetArgs,
  withPromotion,
} from '../../shapes/promote';
import { MANAGED_NOTE, noteLine, withNoteLine } from '../../shapes/schedule-notes';

const rec = {
  name: 'central-dr',
  from: 's3://lake/central',
  to: 'az://drlake/central',
  at: '2026-01-01T00:00:00Z',
  by: 'promote-replica/central-dr',
};

test('egress args: central and its default quarantine move, the source stays', () => {
  const args = [
    {
      target: {
        region: 'eu',
        source: 's3://lake/eu',
        central: 's3://lake/central/',
        quarantine: 's3://lake/central_egress_quarantine',
      },
    },
  ];
  const r = retargetArgs(args, 's3://lake/central', 'az://drlake/central');
  expect(r.fields).toEqual(['target.central', 'target.quarantine']);
  expect(r.args).toEqual([
    {
      target: {
        region: 'eu',
        source: 's3://lake/eu',
        central: 'az://drlake/central',
        quarantine: 'az://drlake/central_egress_quarantine',
      },
    },
  ]);
  expect(args[0]!.target.central).toBe('s3://lake/central/'); // not mutated
});

test('ingest args: table and quarantine move, raw stays; unrelated args untouched', () => {
  const args = [
    {
      target: {
        raw: 's3://raw/eu',
        table: 's3://lake/eu',
        quarantine: 's3://lake/eu_quarantine',
        maxFilesPerBatch: 2,
      },
    },
    'x',
  ];
  const r = retargetArgs(args, 's3://lake/eu', 'gs://dr/eu');
  expect(r.fields).toEqual(['target.table', 'target.quarantine']);
  expect(r.args[0]).toEqual({
    target: {
      raw: 's3://raw/eu',
      table: 'gs://dr/eu',
      quarantine: 'gs://dr/eu_quarantine',
      maxFilesPerBatch: 2,
    },
  });
  expect(r.args[1]).toBe('x');
  expect(retargetArgs(r.args, 's3://lake/eu', 'gs://dr/eu').fields).toEqual([]);
});

test('a promotion record lives beside a compute failover record and other promotions', () => {
  const failover =
    'failed over from tributary-eu to tributary-us (home tributary-eu) at 2026-01-01T00:00:00Z by failover-region/eu';
  let note = withNoteLine(MANAGED_NOTE, 'failed over ', failover);
  note = withPromotion(note, 'central-dr', rec);
  note = withPromotion(note, 'eu-dr', { ...rec, name: 'eu-dr', from: 's3://lake/eu', to: 'gs://dr/eu' });
  expect(noteLine(note, 'failed over ')).toBe(failover);
  expect(parsePromotionNotes(note).map((r) => r.name)).toEqual(['central-dr', 'eu-dr']);
  expect(promotionOf(note, 'central-dr')).toEqual(rec);
  note = withPromotion(note, 'central-dr', undefined);
  expect(promotionOf(note, 'central-dr')).toBeUndefined();
  expect(noteLine(note, 'failed over ')).toBe(failover);
  expect(withPromotion(withNoteLine(note, 'failed over ', undefined), 'eu-dr', undefined)).toBe(MANAGED_NOTE);
});

test('applyPromotions: config args with the recorded promotions applied', () => {
  const note = withPromotion(MANAGED_NOTE, 'central-dr', rec);
  const r = applyPromotions([{ target: { source: 's3://lake/eu', central: 's3://lake/central' } }], note);
  expect(r.kept).toEqual([rec]);
  expect(r.args).toEqual([{ target: { source: 's3://lake/eu', central: 'az://drlake/central' } }]);
  expect(applyPromotions([{ target: { central: 's3://lake/central' } }], MANAGED_NOTE).kept).toEqual([]);
  expect(parsePromotionNotes('promoted replica x: {not json}')).toEqual([]);
});

describe('promoteInputOf', () => {
  const config = parseConfig(`
regions:
  - { name: eu, cloud: aws, raw: s3://raw/eu, table: s3://lake/eu }
  - { name: us, cloud: aws, raw: s3://raw/us, table: s3://lake/us }
central: { table: s3://lake/central }
replicate:
  - { name: central-dr, source: s3://lake/central, target: az://drlake/central }
  - { name: eu-dr, source: s3://lake/eu/, target: gs://dr/eu }
  - { name: other, source: s3://lake/other, target: gs://dr/other }
`);
  test('central: every egress Schedule', () => {
    expect(promoteInputOf(config, 'central-dr', { reason: 'outage' })).toEqual({
      name: 'central-dr',
      primary: 's3://lake/central',
      replica: 'az://drlake/central',
      reason: 'outage',
      role: { kind: 'central' },
      schedules: [
        { id: 'egress-eu', kind: 'egress', region: 'eu', workflowId: 'egress/eu/central' },
        { id: 'egress-us', kind: 'egress', region: 'us', workflowId: 'egress/us/central' },
      ],
    });
  });
  test("a region's table: its ingest and egress Schedules; back", () => {
    const i = promoteInputOf(config, 'eu-dr', { back: true, finalClone: false });
    expect(i).toMatchObject({ back: true, finalClone: false, role: { kind: 'regional', region: 'eu' } });
    expect(i.schedules.map((s) => s.id)).toEqual(['ingest-eu', 'egress-eu']);
  });
  test('a table no pipeline writes, or no such entry: a clear error', () => {
    expect(() => promoteInputOf(config, 'other')).toThrow(/neither the central table nor a region's table/);
    expect(() => promoteInputOf(config, 'nope')).toThrow(
      /no replicate entry "nope" in config \(replicate: central-dr, eu-dr, other\)/,
    );
  });
});
