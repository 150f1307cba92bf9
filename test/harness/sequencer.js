/**
 * A fixed order for the long suites, the same on a fresh clone as on a warm cache (Jest's default puts
 * uncached suites in file-size order, which changes whenever a suite is added).
 *
 * The 50-writer concurrency suite goes first and keeps one worker busy for most of the run; the
 * multi-process kill and load suites follow one by one on the other worker, so at most one of them shares
 * the two cores with it at any time. Two kill suites at once on 2 cores starve each other's worker
 * processes past their heartbeats. Everything else follows, longest known first.
 */
const Sequencer = require('@jest/test-sequencer').default;

const FIRST = [
  'test/delta/concurrency.test.ts',
  'test/fork/kill.test.ts',
  'test/egress/kill.test.ts',
  'test/ingest/kill.test.ts',
  'test/egress/central-load.test.ts',
  'test/clone/kill.test.ts',
];

class FixedOrderSequencer extends Sequencer {
  sort(tests) {
    const rank = (t) => {
      const rel = t.path
        .slice(t.context.config.rootDir.length + 1)
        .split('\\')
        .join('/');
      const i = FIRST.indexOf(rel);
      return i < 0 ? FIRST.length : i;
    };
    const rest = super.sort(tests);
    const pos = new Map(rest.map((t, i) => [t, i]));
    return [...rest].sort((a, b) => rank(a) - rank(b) || pos.get(a) - pos.get(b));
  }
}

module.exports = FixedOrderSequencer;
