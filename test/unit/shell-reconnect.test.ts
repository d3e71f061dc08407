import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY, type Observable, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Member } from '../../src/api.js';
import { testMember } from '../helpers/members.js';
import { reconnect$, type ReconnectDeps } from '../../src/shell/reconnect.js';

const member = (name: string): Member => testMember(name, 'dead');
const F1 = member('f1');
const F2 = member('f2');

const newScheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

/** random() that returns the given values in order, and fails the test when it runs out. */
function randoms(values: number[]): { random: () => number; left: () => number } {
  let i = 0;
  return {
    random: () => {
      assert.ok(i < values.length, 'random() called more often than expected');
      return values[i++]!;
    },
    left: () => values.length - i,
  };
}

function deps(ts: TestScheduler, over: Partial<ReconnectDeps>): { deps: ReconnectDeps; attempts: Array<{ at: number; name: string }> } {
  const attempts: Array<{ at: number; name: string }> = [];
  const d: ReconnectDeps = {
    scheduler: ts,
    interval: 100,
    random: () => 0,
    failed: () => [F1, F2],
    aliveCount: () => 4,
    attempt: () => EMPTY,
    ...over,
  };
  return {
    deps: {
      ...d,
      attempt: (m): Observable<unknown> => {
        attempts.push({ at: ts.now(), name: m.name });
        return d.attempt(m);
      },
    },
    attempts,
  };
}

test('tries with probability failed/alive and emits the member tried', () => {
  const ts = newScheduler();
  // 2 failed / 4 alive = 0.5: 0.6 skips, 0.4 tries (then 0.9 picks f2), 0.5 skips (not <), 0.1 tries (0.2 picks f1)
  const r = randoms([0.6, 0.4, 0.9, 0.5, 0.1, 0.2]);
  let attempts!: Array<{ at: number; name: string }>;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, { random: r.random });
    attempts = built.attempts;
    expectObservable(reconnect$(built.deps), '450ms !').toBe('200ms b 199ms a', { a: F1, b: F2 });
  });
  assert.deepEqual(attempts, [
    { at: 200, name: 'f2' },
    { at: 400, name: 'f1' },
  ]);
  assert.equal(r.left(), 0);
});

test('more failed than alive: tries every time', () => {
  const ts = newScheduler();
  const r = randoms([0.99, 0, 0.99, 0.99]);
  ts.run(({ expectObservable }) => {
    const { deps: d } = deps(ts, { random: r.random, aliveCount: () => 1 });
    expectObservable(reconnect$(d), '250ms !').toBe('100ms a 99ms b', { a: F1, b: F2 });
  });
  assert.equal(r.left(), 0);
});

test('no failed members: nothing, and no coin is tossed', () => {
  const ts = newScheduler();
  const r = randoms([]);
  ts.run(({ expectObservable }) => {
    const { deps: d } = deps(ts, { random: r.random, failed: () => [] });
    expectObservable(reconnect$(d), '1000ms !').toBe('');
  });
});

test('one attempt at a time: ticks during a running attempt are skipped, not queued', () => {
  const ts = newScheduler();
  let attempts!: Array<{ at: number; name: string }>;
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    // each attempt takes 250 ms, so the ticks at 200 and 300 fall inside the first one
    const attempt$ = cold('250ms |');
    const built = deps(ts, { aliveCount: () => 1, attempt: () => attempt$ });
    attempts = built.attempts;
    expectObservable(reconnect$(built.deps), '650ms !').toBe('100ms a 299ms a', { a: F1 });
    expectSubscriptions(attempt$.subscriptions).toBe(['100ms ^ 249ms !', '400ms ^ 249ms !']);
  });
  assert.deepEqual(
    attempts.map((a) => a.at),
    [100, 400],
  );
});

test('an attempt that errors does not end reconnecting', () => {
  const ts = newScheduler();
  ts.run(({ expectObservable }) => {
    const { deps: d } = deps(ts, { aliveCount: () => 1, attempt: () => throwError(() => new Error('refused')) });
    expectObservable(reconnect$(d), '250ms !').toBe('100ms a 99ms a', { a: F1 });
  });
});
