import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import type { Member } from '../../src/api.js';
import { testMember } from '../helpers/members.js';
import { gossip$, type GossipDeps } from '../../src/shell/gossip.js';

const member = (name: string): Member => testMember(name);
const ALL = ['a', 'b', 'c', 'd', 'e'].map(member);

const newScheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

/** A queue of `packets` one-message packets; fill() takes one, or nothing when dry. */
function deps(ts: TestScheduler, packets: number, over: Partial<GossipDeps> = {}) {
  const log = { targets: [] as Array<{ at: number; k: number }>, fills: [] as Array<{ at: number; to: string }>, sent: [] as Array<{ at: number; to: string; msgs: number[] }> };
  let left = packets;
  let n = 0;
  const d: GossipDeps = {
    scheduler: ts,
    gossipInterval: 10,
    gossipNodes: 3,
    pending: () => left > 0,
    targets: (k) => {
      log.targets.push({ at: ts.now(), k });
      return ALL.slice(0, k);
    },
    fill: (target) => {
      log.fills.push({ at: ts.now(), to: target.name });
      if (left === 0) return [];
      left--;
      return [Uint8Array.of(++n)];
    },
    send: (target, msgs) => log.sent.push({ at: ts.now(), to: target.name, msgs: msgs.map((m) => m[0]!) }),
    ...over,
  };
  return { deps: d, log };
}

test('one tick every gossipInterval, up to gossipNodes targets each', () => {
  const ts = newScheduler();
  let log!: ReturnType<typeof deps>['log'];
  ts.run(({ expectObservable }) => {
    const built = deps(ts, 100);
    log = built.log;
    expectObservable(gossip$(built.deps), '35ms !').toBe('10ms a 9ms a 9ms a', { a: 3 });
  });
  assert.deepEqual(log.targets, [
    { at: 10, k: 3 },
    { at: 20, k: 3 },
    { at: 30, k: 3 },
  ]);
  assert.deepEqual(
    log.sent.filter((s) => s.at === 10),
    [
      { at: 10, to: 'a', msgs: [1] },
      { at: 10, to: 'b', msgs: [2] },
      { at: 10, to: 'c', msgs: [3] },
    ],
  );
  assert.equal(log.sent.length, 9);
});

test('fewer members than gossipNodes: only those are sent to', () => {
  const ts = newScheduler();
  ts.run(({ expectObservable }) => {
    const { deps: d } = deps(ts, 100, { gossipNodes: 4, targets: () => ALL.slice(0, 2) });
    expectObservable(gossip$(d), '25ms !').toBe('10ms a 9ms a', { a: 2 });
  });
});

test('stops filling when the queue is dry', () => {
  const ts = newScheduler();
  let log!: ReturnType<typeof deps>['log'];
  ts.run(({ expectObservable }) => {
    const built = deps(ts, 4);
    log = built.log;
    // 4 packets: 3 at the first tick, 1 at the second, then nothing
    expectObservable(gossip$(built.deps), '35ms !').toBe('10ms a 9ms b 9ms c', { a: 3, b: 1, c: 0 });
  });
  assert.deepEqual(
    log.fills.filter((f) => f.at === 20).map((f) => f.to),
    ['a', 'b'],
    'the first empty fill ends the tick: no fill for c',
  );
  assert.deepEqual(
    log.fills.filter((f) => f.at === 30).map((f) => f.to),
    [],
    'a dry queue at the tick: no fill at all',
  );
  assert.deepEqual(
    log.sent.map((s) => s.to),
    ['a', 'b', 'c', 'a'],
    'an empty fill is never sent',
  );
});

test('nothing when gossipInterval or gossipNodes is 0', () => {
  for (const over of [{ gossipInterval: 0 }, { gossipNodes: 0 }, { gossipInterval: -5 }]) {
    const ts = newScheduler();
    let log!: ReturnType<typeof deps>['log'];
    ts.run(({ expectObservable }) => {
      const built = deps(ts, 100, over);
      log = built.log;
      expectObservable(gossip$(built.deps)).toBe('|');
    });
    assert.deepEqual(log.targets, [], JSON.stringify(over));
    assert.deepEqual(log.sent, []);
  }
});

test('a dry tick samples no targets and sends nothing; gossip resumes when something is queued', () => {
  const ts = newScheduler();
  let log!: ReturnType<typeof deps>['log'];
  let queued = false;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, 2, { pending: () => queued });
    log = built.log;
    ts.schedule(() => { queued = true; }, 25);
    expectObservable(gossip$(built.deps), '35ms !').toBe('10ms a 9ms a 9ms b', { a: 0, b: 2 });
  });
  assert.deepEqual(log.targets, [{ at: 30, k: 3 }], 'targets are sampled only once gossip is pending');
  assert.deepEqual(log.fills.map((f) => f.at), [30, 30, 30]);
});
