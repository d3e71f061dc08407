// StallableScheduler: a node whose event loop is blocked runs nothing during
// the stall, then catches up in order, and its periodic actions resume.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualTimeScheduler, asyncScheduler, interval, timer, type SchedulerLike, type Subscription } from 'rxjs';
import { createActor, createMachine } from 'xstate';
import fc from 'fast-check';
import { StallableScheduler } from '../../src/sim/stall-scheduler.js';
import { HeapVirtualScheduler } from '../../src/sim/virtual-scheduler.js';

function setup(maxFrames = 2000): { inner: VirtualTimeScheduler; s: StallableScheduler; at: (ms: number, fn: () => void) => void } {
  const inner = new VirtualTimeScheduler();
  inner.maxFrames = maxFrames;
  const s = new StallableScheduler(inner);
  // test steering goes straight to the inner scheduler, so the stall doesn't hold it back
  const at = (ms: number, fn: () => void): void => void inner.schedule(fn, ms);
  return { inner, s, at };
}

test('interval: 100, 200, one deferred run at the stall end, then it resumes', () => {
  const { inner, s, at } = setup(1600);
  const runs: Array<[number, number]> = [];
  interval(100, s).subscribe((n) => runs.push([s.now(), n]));
  at(250, () => s.stall(1250));
  inner.flush();
  assert.deepEqual(runs, [
    [100, 0],
    [200, 1],
    [1250, 2],
    [1350, 3],
    [1450, 4],
    [1550, 5],
  ]);
});

test('a timer scheduled before a stall fires at the stall end', () => {
  const { inner, s, at } = setup();
  const fired: number[] = [];
  timer(500, s).subscribe(() => fired.push(s.now()));
  at(250, () => s.stall(1250));
  inner.flush();
  assert.deepEqual(fired, [1250]);
});

test('a timer due after the stall is not moved', () => {
  const { inner, s, at } = setup();
  const fired: number[] = [];
  timer(1300, s).subscribe(() => fired.push(s.now()));
  at(250, () => s.stall(1250));
  inner.flush();
  assert.deepEqual(fired, [1300]);
});

test('unsubscribing during a stall cancels deferred and not-yet-due work', () => {
  const { inner, s, at } = setup();
  const fired: string[] = [];
  const deferred = timer(500, s).subscribe(() => fired.push('deferred'));
  const pending = timer(1100, s).subscribe(() => fired.push('pending'));
  const ticks = interval(100, s).subscribe(() => fired.push(`tick@${s.now()}`));
  const raw: Subscription = s.schedule(() => fired.push('raw'), 400);
  at(250, () => s.stall(1250));
  at(700, () => {
    deferred.unsubscribe();
    pending.unsubscribe();
    ticks.unsubscribe();
    raw.unsubscribe();
  });
  inner.flush();
  assert.deepEqual(fired, ['tick@100', 'tick@200']);
  assert.equal(s.isStalled(), false);
});

test('no action runs during a stall, and isStalled reports it', () => {
  const { inner, s, at } = setup(3000);
  // scheduled first, so the stall begins before anything else due at 250
  at(250, () => s.stall(1250));
  const runs: number[] = [];
  for (const period of [7, 50, 99, 100, 333]) interval(period, s).subscribe(() => runs.push(s.now()));
  for (const due of [0, 250, 251, 600, 1249, 1250, 1251]) timer(due, s).subscribe(() => runs.push(s.now()));
  // an action that reschedules itself through `this.schedule`, as a prober loop would
  s.schedule(function (this, n?: number) {
    runs.push(s.now());
    if ((n ?? 0) < 40) this.schedule((n ?? 0) + 1, 60);
  }, 60, 0);
  const stalledAt: boolean[] = [];
  at(249, () => stalledAt.push(s.isStalled()));
  at(250, () => stalledAt.push(s.isStalled()));
  at(1249, () => stalledAt.push(s.isStalled()));
  at(1250, () => stalledAt.push(s.isStalled()));
  inner.flush();
  assert.deepEqual(stalledAt, [false, true, true, false]);
  assert.ok(runs.length > 100);
  assert.deepEqual(runs.filter((t) => t >= 250 && t < 1250), []);
  assert.ok(runs.includes(1250) && runs.some((t) => t > 1250));
  assert.deepEqual(runs, [...runs].sort((a, b) => a - b), 'time never goes backwards for the node');
});

test('deferred actions run in their original order, before actions due at the stall end', () => {
  const { inner, s, at } = setup();
  const order: string[] = [];
  s.schedule(() => order.push(`A@${s.now()}`), 1250); // due exactly at the stall end, scheduled first
  s.schedule(() => order.push(`B@${s.now()}`), 600);
  s.schedule(() => order.push(`C@${s.now()}`), 300);
  s.schedule(() => order.push(`D@${s.now()}`), 300);
  at(250, () => s.stall(1250));
  // work arriving from outside during the stall (a delivered packet) waits too
  at(500, () => void s.schedule(() => order.push(`E@${s.now()}`), 0));
  s.schedule(() => order.push(`F@${s.now()}`), 1250);
  inner.flush();
  assert.deepEqual(order, ['C@1250', 'D@1250', 'E@1250', 'B@1250', 'A@1250', 'F@1250']);
});

test('random timers and stall windows: each runs once, at max(due, stall end), in due order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 }),
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: 600 }),
      (dues, start, length) => {
        const { inner, s, at } = setup(5000);
        const end = start + length;
        const runs: Array<[number, number]> = [];
        dues.forEach((due, i) => s.schedule(() => runs.push([i, s.now()]), due));
        at(start, () => s.stall(end));
        inner.flush();
        // The stall is set at `start` after the timers were scheduled, so timers due
        // exactly then still run; the rest of the window is deferred to its end.
        const effective = (due: number): number => (due > start && due < end ? end : due);
        const expected = dues
          .map((due, i) => ({ i, due }))
          .sort((a, b) => a.due - b.due || a.i - b.i)
          .map(({ i, due }): [number, number] => [i, effective(due)]);
        assert.deepEqual(runs, expected);
      },
    ),
  );
});

test('stall can be extended while stalled', () => {
  const { inner, s, at } = setup();
  const fired: number[] = [];
  timer(500, s).subscribe(() => fired.push(s.now()));
  at(250, () => s.stall(1000));
  at(900, () => s.stall(1500));
  inner.flush();
  assert.deepEqual(fired, [1500]);
});

test('XState delayed transitions through the clock follow the stall', () => {
  const { inner, s, at } = setup(1600);
  const clock = {
    setTimeout: (fn: () => void, ms: number) => s.schedule(() => fn(), ms),
    clearTimeout: (sub: Subscription) => sub.unsubscribe(),
  };
  const machine = createMachine({
    initial: 'a',
    states: {
      a: { after: { 500: 'b' } },
      b: { after: { 100: 'c' } },
      c: {},
    },
  });
  const ticks: number[] = [];
  const ticker = createMachine({
    initial: 'tick',
    states: { tick: { entry: () => ticks.push(s.now()), after: { 100: { target: 'tick', reenter: true } } } },
  });
  const cancelled = createMachine({
    initial: 'a',
    states: { a: { after: { 500: 'b' }, on: { GO: 'c' } }, b: {}, c: {} },
  });
  const seen: Array<[number, string]> = [];
  const actor = createActor(machine, { clock });
  actor.subscribe((snap) => seen.push([s.now(), String(snap.value)]));
  actor.start();
  createActor(ticker, { clock }).start();
  const other = createActor(cancelled, { clock });
  const otherSeen: string[] = [];
  other.subscribe((snap) => otherSeen.push(String(snap.value)));
  other.start();
  at(100, () => other.send({ type: 'GO' }));
  at(250, () => s.stall(1250));
  inner.flush();
  assert.deepEqual(seen, [
    [0, 'a'],
    [1250, 'b'],
    [1350, 'c'],
  ]);
  assert.deepEqual(ticks, [0, 100, 200, 1250, 1350, 1450, 1550]);
  assert.deepEqual(otherSeen, ['a', 'c']);
});

test('works over a real (async) scheduler too', async () => {
  const s = new StallableScheduler(asyncScheduler);
  const start = s.now();
  s.stall(start + 60);
  const fired = await new Promise<number>((resolve) => timer(5, s).subscribe(() => resolve(s.now())));
  assert.ok(fired >= start + 60, `fired after ${fired - start} ms`);
});

test('a wake-up that fires while the clock still reads just short of the stall end is re-armed', () => {
  // A real clock can run the drain timer when Date.now() is a millisecond behind: model
  // that with a virtual scheduler whose now() lags by 1 ms for the first drain.
  const v = new HeapVirtualScheduler();
  let lag = 0;
  const lagging = { now: () => v.now() - lag, schedule: v.schedule.bind(v) } as unknown as SchedulerLike;
  const s = new StallableScheduler(lagging);
  const ran: number[] = [];
  s.stall(100);
  s.schedule(() => ran.push(v.now()), 10); // due during the stall: deferred
  lag = 1;
  v.advanceTo(100); // the drain fires, but now() reads 99: still stalled
  lag = 0;
  v.advanceTo(200);
  assert.deepEqual(ran, [101], 'the deferred work ran right after the stall end, not never');
});
