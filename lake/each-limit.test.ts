import { setTimeout as sleep } from 'node:timers/promises';
import { eachLimit } from './each-limit';

test('runs every item, never more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const seen: number[] = [];
  await eachLimit([5, 1, 4, 2, 3, 0, 6], 3, async (ms, i) => {
    running++;
    most = Math.max(most, running);
    await sleep(ms * 5);
    seen.push(i);
    running--;
  });
  expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(most).toBe(3);
  await eachLimit([], 3, () => Promise.reject(new Error('never called')));
});

test('after a failure no item starts, the started ones finish, then the first failure is thrown', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  const e = await eachLimit([0, 1, 2, 3, 4, 5], 2, async (_, i) => {
    started.push(i);
    if (i === 1) throw new Error('item 1');
    await sleep(30);
    if (i === 2) throw new Error('item 2');
    finished.push(i);
  }).catch((x: unknown) => x);
  expect(String(e)).toBe('Error: item 1');
  expect(started).toEqual([0, 1]);
  expect(finished).toEqual([0]); // item 0 was running when item 1 failed: waited for, not abandoned
});

test('each lane runs one item at a time, and there are as many lanes as the limit (or items)', async () => {
  const busy = new Set<number>();
  const lanes = new Set<number>();
  await eachLimit([5, 1, 3, 2, 4, 1, 2], 3, async (ms, _i, lane) => {
    expect(busy.has(lane)).toBe(false); // a lane's resource (a connection) is never shared
    busy.add(lane);
    lanes.add(lane);
    await sleep(ms * 5);
    busy.delete(lane);
  });
  expect([...lanes].sort()).toEqual([0, 1, 2]);
  const few = new Set<number>();
  await eachLimit([1, 2], 8, async (_, __, lane) => void few.add(lane));
  expect([...few].sort()).toEqual([0, 1]);
});
