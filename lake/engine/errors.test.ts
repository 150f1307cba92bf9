/** fromEngineError on errors DuckDB really raises: coded, first paragraph only, no internal names, bounded. */
import { DuckDBInstance } from '@duckdb/node-api';
import { TributaryError } from '../errors';
import { MAX_ENGINE_MESSAGE, fromEngineError, isEngineError } from './errors';

async function duckdbError(sql: string): Promise<unknown> {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    await c.run(sql);
  } catch (e) {
    return e;
  } finally {
    c.closeSync();
    inst.closeSync();
  }
  throw new Error(`expected ${sql} to fail`);
}

test('input errors become BAD_INPUT without the SQL we built', async () => {
  const e = await duckdbError(
    `CREATE OR REPLACE TEMP TABLE __tributary_src AS SELECT * FROM (SELECT 'x' AS level) __row WHERE (("__row"."level" = 1)) IS TRUE`,
  );
  expect(isEngineError(e)).toBe(true);
  const m = fromEngineError(e, 'cannot read the input') as TributaryError;
  expect(m).toBeInstanceOf(TributaryError);
  expect(m.code).toBe('BAD_INPUT');
  expect(m.retryable).toBe(false);
  expect(m.message).toMatch(
    /^cannot read the input: Conversion Error: Could not convert string 'x' to INT32/,
  );
  expect(m.message).not.toMatch(/__tributary|__row|LINE 1|CREATE/);
});

test("the user's own SQL keeps its excerpt when asked", async () => {
  const e = await duckdbError(`SELECT CAST('x' AS INTEGER)`);
  const m = fromEngineError(e, 'query failed', { excerpt: true }) as TributaryError;
  expect(m.message).toMatch(
    /^query failed: Conversion Error: .*\nLINE 1: SELECT CAST\('x' AS INTEGER\)\n +\^$/,
  );
});

test('huge messages are bounded; other classes are INTERNAL; anything else is left alone', async () => {
  const e = await duckdbError(`SELECT * FROM "${'t'.repeat(5000)}"`);
  const m = fromEngineError(e, 'x') as TributaryError;
  expect(m).toBeInstanceOf(TributaryError);
  expect(m.message.length).toBeLessThan(MAX_ENGINE_MESSAGE + 100);
  expect(m.message).toMatch(/more characters cut\]$/);
  const io = new Error('IO Error: No files found that match the pattern "/nope"');
  expect((fromEngineError(io, 'x') as TributaryError).code).toBe('INTERNAL');
  const js = new RangeError('Maximum call stack size exceeded');
  expect(fromEngineError(js, 'x')).toBe(js);
  const ours = new TributaryError('NOT_FOUND', 'gone');
  expect(fromEngineError(ours, 'x')).toBe(ours);
});
