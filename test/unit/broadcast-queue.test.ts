import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BroadcastQueue } from '../../src/swim/broadcast-queue.js';

const msg = (tag: number, len: number) => new Uint8Array(len).fill(tag);

test('fewest transmits first, then largest, then newest', () => {
  const q = new BroadcastQueue(4, () => 10);
  q.queue({ key: 'a', message: msg(1, 10) });
  q.queue({ key: 'b', message: msg(2, 30) });
  q.queue({ key: 'c', message: msg(3, 10) });
  const first = q.take(2, 1000).map((m) => m[0]);
  assert.deepEqual(first, [2, 3, 1], 'largest first, then newest among equal sizes');
  q.queue({ key: 'd', message: msg(4, 5) });
  assert.deepEqual(q.take(2, 9).map((m) => m[0]), [4], 'the untransmitted entry goes before the others');
});

test('a newer message about the same node replaces the older one', () => {
  const q = new BroadcastQueue(4, () => 10);
  const why: string[] = [];
  q.queue({ key: 'a', message: msg(1, 10), onDone: (w) => why.push(w) });
  q.queue({ key: 'a', message: msg(2, 10) });
  assert.equal(q.depth, 1);
  assert.deepEqual(why, ['replaced']);
  assert.deepEqual(q.take(2, 100).map((m) => m[0]), [2]);
});

test('entries leave after the retransmit limit and report it', () => {
  const q = new BroadcastQueue(2, () => 3); // 2 × ceil(log10 4) = 2 transmits
  let done = '';
  q.queue({ key: 'a', message: msg(1, 10), onDone: (w) => (done = w) });
  assert.equal(q.take(2, 100).length, 1);
  assert.equal(q.depth, 1);
  assert.equal(q.take(2, 100).length, 1);
  assert.equal(q.depth, 0);
  assert.equal(done, 'transmitted');
  assert.deepEqual(q.take(2, 100), []);
});

test('only what fits the byte budget is taken, overhead included', () => {
  const q = new BroadcastQueue(4, () => 10);
  q.queue({ key: 'a', message: msg(1, 50) });
  q.queue({ key: 'b', message: msg(2, 40) });
  q.queue({ key: 'c', message: msg(3, 8) });
  const got = q.take(2, 52);
  assert.deepEqual(got.map((m) => m[0]), [1], '50+2 fills the budget exactly');
  const rest = q.take(2, 52);
  assert.deepEqual(rest.map((m) => m[0]), [2, 3], '40+2 then 8+2');
});

test('depth is bounded; overflow drops the most-sent entries and counts them', () => {
  const q = new BroadcastQueue(4, () => 10, 3);
  for (let i = 0; i < 5; i++) q.queue({ key: `k${i}`, message: msg(i, 10) });
  assert.equal(q.depth, 3);
  assert.equal(q.dropped, 2);
});
