import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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

// The queue against the simplest correct model of memberlist's order: an array sorted
// before every take and prune (what this queue was until the B+ tree). Any sequence of
// queue / take / reset must give the same messages, depths, drops and callbacks.
class ModelQueue {
  entries: Array<{ key: string; message: Uint8Array; transmits: number; id: number; done: (w: string) => void }> = [];
  nextId = 0;
  dropped = 0;
  constructor(private readonly max: number, private readonly maxDepth: number) {}
  private sort() {
    this.entries.sort((a, b) => a.transmits - b.transmits || b.message.length - a.message.length || b.id - a.id);
  }
  queue(key: string, message: Uint8Array, done: (w: string) => void) {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i >= 0) this.entries.splice(i, 1)[0]!.done('replaced');
    this.entries.push({ key, message, transmits: 0, id: this.nextId++, done });
    if (this.entries.length > this.maxDepth) {
      this.sort();
      while (this.entries.length > this.maxDepth) {
        this.dropped++;
        this.entries.pop()!.done('dropped');
      }
    }
  }
  take(overhead: number, limit: number): Uint8Array[] {
    this.sort();
    const out: Uint8Array[] = [];
    let used = 0;
    for (const e of [...this.entries]) {
      if (limit - used <= overhead + 4) break;
      if (used + e.message.length + overhead > limit) continue;
      used += e.message.length + overhead;
      out.push(e.message);
      if (++e.transmits >= this.max) {
        this.entries.splice(this.entries.indexOf(e), 1);
        e.done('transmitted');
      }
    }
    return out;
  }
}

test('the B+ tree queue behaves exactly as a re-sorted array (random operation sequences)', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('queue' as const), key: fc.integer({ min: 0, max: 12 }), len: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ kind: fc.constant('take' as const), limit: fc.integer({ min: 0, max: 200 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), fc.integer({ min: 2, max: 8 }), (ops, maxDepth) => {
      const log: string[] = [];
      const model: string[] = [];
      const q = new BroadcastQueue(2, () => 9, maxDepth); // 2 × ceil(log10 10) = 2 transmits
      const m = new ModelQueue(2, maxDepth);
      let n = 0;
      for (const o of ops) {
        if (o.kind === 'queue') {
          const message = msg(n++ % 250, o.len);
          q.queue({ key: `k${o.key}`, message, onDone: (w) => log.push(`${message[0]}:${w}`) });
          m.queue(`k${o.key}`, message, (w) => model.push(`${message[0]}:${w}`));
        } else {
          assert.deepEqual(q.take(2, o.limit).map((x) => x[0]), m.take(2, o.limit).map((x) => x[0]));
        }
        assert.equal(q.depth, m.entries.length);
        assert.equal(q.dropped, m.dropped);
        assert.deepEqual(log, model);
      }
    }),
    { numRuns: 300 },
  );
});

test('onQueued is told when a queue() makes the queue non-empty, and only then', () => {
  const q = new BroadcastQueue(1, () => 1); // 1 × ceil(log10 2) = 1 transmit
  let told = 0;
  q.onQueued = () => told++;
  q.queue({ key: 'a', message: Uint8Array.of(1, 2, 3, 4, 5) });
  assert.equal(told, 1);
  q.queue({ key: 'b', message: Uint8Array.of(1, 2, 3, 4, 5) });
  q.queue({ key: 'a', message: Uint8Array.of(6, 7, 8, 9, 10) }); // replaces a: never empty in between
  assert.equal(told, 1, 'the queue was not empty: the gossip loop is awake');
  assert.equal(q.take(2, 1400).length, 2);
  assert.equal(q.depth, 0, 'sent out its one transmit each');
  q.queue({ key: 'c', message: Uint8Array.of(1, 2, 3, 4, 5) });
  assert.equal(told, 2, 'empty again, then queued: told again');
});
