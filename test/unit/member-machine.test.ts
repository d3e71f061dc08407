// memberlist's incarnation rules (wire spec §11) and the Lifeguard suspicion timer,
// exercised on the machine alone under virtual time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor } from 'xstate';
import { memberMachine, type MemberEmitted } from '../../machines/member.js';
import { clockFromScheduler } from '../../src/clock.js';

const addr = Uint8Array.of(127, 0, 0, 1);
const info = { addr, port: 7946, meta: new Uint8Array(0), vsn: Uint8Array.of(1, 5, 2, 2, 5, 5) };
const bounds = { minMs: 4000, maxMs: 24000, k: 2 };

function member(incarnation = 5) {
  const s = new VirtualTimeScheduler();
  const a = createActor(memberMachine, { input: { name: 'm', ...info, incarnation, at: 0 }, clock: clockFromScheduler(s) });
  const emitted: MemberEmitted[] = [];
  a.on('*', (e) => emitted.push(e as MemberEmitted));
  a.start();
  return { s, a, emitted, state: () => a.getSnapshot().value, inc: () => a.getSnapshot().context.incarnation };
}

test('alive: only a strictly newer incarnation is accepted', () => {
  const m = member(5);
  m.a.send({ type: 'ALIVE', incarnation: 5, at: 1, ...info });
  m.a.send({ type: 'ALIVE', incarnation: 4, at: 1, ...info });
  assert.equal(m.emitted.length, 0, 'equal and older alive are stale');
  m.a.send({ type: 'ALIVE', incarnation: 6, at: 1, ...info, meta: Uint8Array.of(1) });
  assert.equal(m.inc(), 6);
  assert.deepEqual(m.emitted.at(-1), { type: 'accepted', message: 'alive', metaChanged: true, addressChanged: false });
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
  assert.deepEqual(m.emitted.at(-1), { type: 'suspicionExpired', incarnation: 5 });
});

test('suspicion timer shrinks with independent confirmations and ignores repeats', () => {
  const m = member(5);
  m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 0, bounds });
  m.s.schedule(() => m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: m.s.now(), bounds }), 1000);
  m.s.schedule(() => m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'y', at: m.s.now(), bounds }), 2000);
  m.s.schedule(() => m.a.send({ type: 'SUSPECT', incarnation: 5, from: 'z', at: m.s.now(), bounds }), 3000);
  const seen: Array<[number, string]> = [];
  m.a.subscribe((snap) => seen.push([m.s.now(), String(snap.value)]));
  m.s.flush();
  // k = 2 confirmations (y, z) bring 24 s down to min = 4 s, measured from the start;
  // by then 3 s have passed, so the timer fires 1 s after the second confirmation.
  assert.deepEqual(seen.at(-1), [4000, 'dead']);
  const accepted = m.emitted.filter((e) => e.type === 'accepted' && e.message === 'suspect');
  assert.equal(accepted.length, 3, 'the first suspicion and two confirmations are re-gossiped; the repeat is not');
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
