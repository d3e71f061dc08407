// memberlist's incarnation rules (wire spec §11) and the Lifeguard suspicion timer,
// exercised on the machine alone under virtual time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { memberMachine, newMemberSnapshot, type MemberEmitted } from '../../machines/member.js';
import { clockFromScheduler } from '../../src/clock.js';
import { driveTwins, type MemberEventIn } from '../helpers/member-twins.js';

const addr = Uint8Array.of(127, 0, 0, 1);
const info = { addr, port: 7946, meta: new Uint8Array(0), vsn: Uint8Array.of(1, 5, 2, 2, 5, 5) };
const bounds = { minMs: 4000, maxMs: 24000, k: 2 };

function member(incarnation = 5) {
  const s = new VirtualTimeScheduler();
  const a = createActor(memberMachine, { input: { name: 'm', ...info, incarnation, at: 0 }, clock: clockFromScheduler(s) });
  const emitted: MemberEmitted[] = [];
  a.on('*', (e) => emitted.push(e as MemberEmitted));
  a.start();
  /** send and tell whether the machine accepted it: a refused event keeps the snapshot object */
  const accepts = (e: Parameters<typeof a.send>[0]) => {
    const before = a.getSnapshot();
    a.send(e);
    return a.getSnapshot() !== before;
  };
  return { s, a, emitted, accepts, state: () => a.getSnapshot().value, inc: () => a.getSnapshot().context.incarnation };
}

test('alive: only a strictly newer incarnation is accepted', () => {
  const m = member(5);
  assert.equal(m.accepts({ type: 'ALIVE', incarnation: 5, at: 1, ...info }), false, 'equal alive is stale');
  assert.equal(m.accepts({ type: 'ALIVE', incarnation: 4, at: 1, ...info }), false, 'older alive is stale');
  assert.equal(m.emitted.length, 0);
  assert.equal(m.accepts({ type: 'ALIVE', incarnation: 6, at: 1, ...info }), true, 'a newer alive is accepted (re-gossiped)');
  assert.equal(m.emitted.length, 0, 'same metadata and address: nothing users see changed');
  assert.equal(m.accepts({ type: 'ALIVE', incarnation: 7, at: 1, ...info, meta: Uint8Array.of(1) }), true);
  assert.equal(m.inc(), 7);
  assert.deepEqual(m.emitted.at(-1), { type: 'changed', change: 'updated', from: 'alive' });
});

test('every state change is emitted with what it means to users', () => {
  const m = member(5);
  m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 1, bounds });
  m.a.send({ type: 'ALIVE', incarnation: 6, at: 2, ...info });
  m.a.send({ type: 'DEAD', incarnation: 6, from: 'x', at: 3 });
  m.a.send({ type: 'ALIVE', incarnation: 7, at: 4, ...info });
  m.a.send({ type: 'DEAD', incarnation: 7, from: 'm', at: 5 });
  assert.deepEqual(
    m.emitted.map((e) => (e.type === 'changed' ? `${e.from}→${e.change}` : e.type)),
    ['alive→suspected', 'suspect→recovered', 'alive→failed', 'dead→joined', 'alive→left'],
  );
});

test('REAP marks a dead or left member forgotten, once; a live member cannot be reaped', () => {
  const m = member(5);
  assert.equal(m.accepts({ type: 'REAP' }), false, 'alive members are not reaped');
  m.a.send({ type: 'DEAD', incarnation: 5, from: 'x', at: 1 });
  assert.equal(m.accepts({ type: 'REAP' }), true);
  assert.equal(m.a.getSnapshot().context.reaped, true);
  assert.equal(m.accepts({ type: 'REAP' }), false, 'already forgotten');
  // A forgotten member returns only by an alive the core marks as a replacement.
  assert.equal(m.accepts({ type: 'ALIVE', incarnation: 1, at: 2, ...info, replace: true }), true);
  assert.equal(m.state(), 'alive');
  assert.equal(m.a.getSnapshot().context.reaped, false);
});

test('suspect: stale incarnation ignored; equal or newer suspects an alive member', () => {
  const m = member(5);
  m.a.send({ type: 'SUSPECT', incarnation: 4, from: 'x', at: 1, bounds });
  assert.equal(m.state(), 'alive');
  m.a.send({ type: 'SUSPECT', incarnation: 7, from: 'x', at: 1, bounds });
  assert.equal(m.state(), 'suspect');
  assert.equal(m.inc(), 7, 'suspect takes the accuser’s incarnation');
});

test('refutation: an alive with a higher incarnation clears suspicion; an equal one does not', () => {
  const m = member(5);
  m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 0, bounds });
  m.a.send({ type: 'ALIVE', incarnation: 5, at: 10, ...info });
  assert.equal(m.state(), 'suspect');
  m.a.send({ type: 'ALIVE', incarnation: 6, at: 10, ...info });
  assert.equal(m.state(), 'alive');
  assert.equal(m.a.getSnapshot().context.suspicion, null);
});

test('dead from another node fails the member; dead from itself is a leave; stale dead is ignored', () => {
  const a = member(5);
  a.a.send({ type: 'DEAD', incarnation: 4, from: 'x', at: 1 });
  assert.equal(a.state(), 'alive');
  a.a.send({ type: 'DEAD', incarnation: 5, from: 'x', at: 1 });
  assert.equal(a.state(), 'dead');
  const b = member(5);
  b.a.send({ type: 'DEAD', incarnation: 5, from: 'm', at: 1 });
  assert.equal(b.state(), 'left');
});

test('a dead member ignores suspect and dead, and comes back only with a newer alive', () => {
  const m = member(5);
  m.a.send({ type: 'DEAD', incarnation: 5, from: 'x', at: 1 });
  const n = m.emitted.length;
  m.a.send({ type: 'SUSPECT', incarnation: 9, from: 'x', at: 2, bounds });
  m.a.send({ type: 'DEAD', incarnation: 9, from: 'y', at: 2 });
  m.a.send({ type: 'ALIVE', incarnation: 5, at: 2, ...info });
  assert.equal(m.emitted.length, n);
  assert.equal(m.state(), 'dead');
  m.a.send({ type: 'ALIVE', incarnation: 6, at: 3, ...info });
  assert.equal(m.state(), 'alive');
});

test('an address replacement is accepted at any incarnation', () => {
  const m = member(5);
  m.a.send({ type: 'DEAD', incarnation: 5, from: 'm', at: 1 });
  m.a.send({ type: 'ALIVE', incarnation: 1, at: 2, replace: true, ...info, addr: Uint8Array.of(10, 0, 0, 9) });
  assert.equal(m.state(), 'alive');
  assert.equal(m.inc(), 1);
});

test('suspicion timer: max without confirmations, then dead with suspicionExpired', () => {
  const m = member(5);
  m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 0, bounds });
  m.s.flush();
  assert.equal(m.state(), 'dead');
  assert.equal(m.a.getSnapshot().context.stateChangedAt, 24000);
  assert.deepEqual(m.emitted.slice(-2), [
    { type: 'suspicionExpired', incarnation: 5 },
    { type: 'changed', change: 'failed', from: 'suspect' },
  ]);
});

test('suspicion timer shrinks with independent confirmations and ignores repeats', () => {
  const m = member(5);
  const accepted: string[] = [];
  const suspect = (from: string) => {
    if (m.accepts({ type: 'SUSPECT', incarnation: 5, from, at: m.s.now(), bounds })) accepted.push(from);
  };
  suspect('x');
  m.s.schedule(() => suspect('x'), 1000);
  m.s.schedule(() => suspect('y'), 2000);
  m.s.schedule(() => suspect('z'), 3000);
  const seen: Array<[number, string]> = [];
  m.a.subscribe((snap) => seen.push([m.s.now(), String(snap.value)]));
  m.s.flush();
  // k = 2 confirmations (y, z) bring 24 s down to min = 4 s, measured from the start;
  // by then 3 s have passed, so the timer fires 1 s after the second confirmation.
  assert.deepEqual(seen.at(-1), [4000, 'dead']);
  assert.deepEqual(accepted, ['x', 'y', 'z'], 'the first suspicion and two confirmations are re-gossiped; the repeat is not');
});

test('one confirmation re-arms the timer to the shorter remaining time', () => {
  const m = member(5);
  m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 0, bounds });
  m.s.schedule(() => m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'y', at: m.s.now(), bounds }), 500);
  m.s.flush();
  // 24000 − ln2/ln3 × 20000 = 11381.0… → 11381 ms after the start
  assert.equal(m.a.getSnapshot().context.stateChangedAt, 11381);
});

// memberlist's TestSuspicion (suspicion_test.go): k = 3, min 0.5 s, max 2 s, one
// confirmation every 25 ms. memberlist checks each case to ±25 ms on a wall clock; in
// virtual time the expiry is exact (its 810 ms case is 811 here: floor(1000 × 0.81128)).
test('suspicion timer: memberlist TestSuspicion cases', () => {
  const k3 = { minMs: 500, maxMs: 2000, k: 3 };
  const cases: Array<[confirmations: string[], expected: number]> = [
    [[], 2000],
    [['me', 'foo'], 1250],
    [['me', 'foo', 'foo', 'foo'], 1250],
    [['me', 'foo', 'bar'], 811],
    [['me', 'foo', 'bar', 'baz'], 500],
    [['me', 'foo', 'bar', 'baz', 'zoo'], 500],
  ];
  for (const [confirmations, expected] of cases) {
    const m = member(5);
    m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'me', at: 0, bounds: k3 });
    confirmations.forEach((from, i) =>
      m.s.schedule(() => m.a.send({ type: 'SUSPECT', incarnation: 5, from, at: m.s.now(), bounds: k3 }), 25 * (i + 1)),
    );
    m.s.flush();
    assert.equal(m.state(), 'dead');
    assert.equal(m.a.getSnapshot().context.stateChangedAt, expected, `confirmations ${confirmations.join(',')}`);
  }
});

test("Serf's intents: LEAVING marks a live member leaving, STAYING (a newer join intent) undoes it; a failed member takes LEAVING even once reaped", () => {
  const m = member(5);
  assert.equal(m.accepts({ type: 'STAYING' }), false, 'nothing to undo');
  assert.equal(m.accepts({ type: 'LEAVING', at: 1 }), true);
  assert.equal(m.a.getSnapshot().context.leaving, true);
  assert.equal(m.accepts({ type: 'STAYING' }), true);
  assert.equal(m.a.getSnapshot().context.leaving, false);
  assert.equal(m.emitted.length, 0, 'neither is a change users see');
  // The leave intent undone: a failure is a failure again.
  m.a.send({ type: 'DEAD', incarnation: 5, from: 'x', at: 2 });
  assert.equal(m.state(), 'dead');
  assert.equal(m.accepts({ type: 'REAP' }), true);
  // `serf force-leave` long after the failure: memberlist forgot it, Serf lists it failed.
  assert.equal(m.accepts({ type: 'LEAVING', at: 40_000 }), true);
  assert.equal(m.state(), 'left');
  assert.equal(m.a.getSnapshot().context.stateChangedAt, 40_000);
  assert.equal(m.a.getSnapshot().context.reaped, true, 'still forgotten by memberlist');
  assert.deepEqual(m.emitted.at(-1), { type: 'changed', change: 'left', from: 'dead' });
  assert.equal(m.accepts({ type: 'LEAVING', at: 40_001 }), false, 'left already');
});

test('a member restored from newMemberSnapshot is the member its input starts: same snapshot, same answers, same timer', () => {
  const s = new VirtualTimeScheduler();
  const input = { name: 'm', ...info, incarnation: 5, at: 7 };
  const started = createActor(memberMachine, { input, clock: clockFromScheduler(s) });
  const restored = createActor(memberMachine, { input, snapshot: newMemberSnapshot(input), clock: clockFromScheduler(s) });
  assert.equal(restored.getSnapshot().status, 'active');
  const events: MemberEventIn[] = [
    { type: 'ALIVE', incarnation: 5, at: 8, ...info },
    { type: 'SUSPECT', incarnation: 4, from: 'x', at: 9, bounds },
    { type: 'SUSPECT', incarnation: 5, from: 'x', at: 10, bounds },
    { type: 'SUSPECT', incarnation: 5, from: 'y', at: 11, bounds },
  ];
  // the suspicion timer runs out at the same time in both, and both then take the same death
  const emitted = driveTwins(s, started, restored, events, 30_000);
  assert.ok(emitted.expected.some((e) => e.startsWith('suspicionExpired@')), `the timer ran out: ${emitted.expected.join(', ')}`);
  for (const a of [started, restored]) a.send({ type: 'DEAD', incarnation: 5, from: 'z', at: 30_000 });
  assert.deepEqual(restored.getPersistedSnapshot(), started.getPersistedSnapshot(), 'after the death');
  assert.equal(restored.getSnapshot().value, 'dead');
});
