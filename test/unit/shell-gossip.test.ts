import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subject } from 'rxjs';
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
    queued$: new Subject<void>(),
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
    // 4 packets: 3 at the first tick, 1 at the second; then the loop sleeps: no tick at 30
    expectObservable(gossip$(built.deps), '35ms !').toBe('10ms a 9ms b', { a: 3, b: 1 });
  });
  assert.deepEqual(
    log.fills.filter((f) => f.at === 20).map((f) => f.to),
    ['a', 'b'],
    'the first empty fill ends the tick: no fill for c',
  );
  assert.deepEqual(
    log.fills.filter((f) => f.at >= 30).map((f) => f.to),
    [],
    'a dry queue: no tick, so no fill at all',
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

test('asleep while dry: no tick at all; woken by queued$, it ticks on the same grid until dry again', () => {
  const ts = newScheduler();
  let log!: ReturnType<typeof deps>['log'];
  let left = 0;
  const queued$ = new Subject<void>();
  ts.run(({ expectObservable }) => {
    const built = deps(ts, 0, {
      pending: () => left > 0,
      queued$,
      fill: () => (left > 0 ? [Uint8Array.of(left--)] : []),
    });
    log = built.log;
    // 5 packets queued at 25 ms: the next tick of the 10 ms grid is at 30 (3 sent),
    // then 40 (2 sent, dry after it); nothing at 50 or 60. 1 more at 61: a tick at 70.
    ts.schedule(() => { left = 5; queued$.next(); }, 25);
    ts.schedule(() => { left = 1; queued$.next(); }, 61);
    // queued$ again while already ticking changes nothing
    ts.schedule(() => queued$.next(), 32);
    expectObservable(gossip$(built.deps), '85ms !').toBe('30ms a 9ms b 29ms c', { a: 3, b: 2, c: 1 });
  });
  assert.deepEqual(log.targets.map((t) => t.at), [30, 40, 70], 'targets are sampled only at ticks while gossip is pending');
});

test('a tick that finds the queues drained since it was scheduled samples no targets', () => {
  const ts = newScheduler();
  let log!: ReturnType<typeof deps>['log'];
  let left = 0;
  const queued$ = new Subject<void>();
  ts.run(({ expectObservable }) => {
    const built = deps(ts, 0, { pending: () => left > 0, queued$, fill: () => (left > 0 ? [Uint8Array.of(left--)] : []) });
    log = built.log;
    ts.schedule(() => { left = 2; queued$.next(); }, 5);
    // piggybacked on a probe before the tick at 10
    ts.schedule(() => { left = 0; }, 7);
    expectObservable(gossip$(built.deps), '35ms !').toBe('10ms a', { a: 0 });
  });
  assert.deepEqual(log.targets, []);
});
