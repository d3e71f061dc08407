// memberLogic's restore against XState's own, on the installed XState: the same snapshot
// field by field, the shared parts really shared (the fast path is taken), copied on
// write when one actor moves on, and anything unusual handed to XState.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { createActor, type AnyActorScope } from 'xstate';
import { memberMachine, newMemberSnapshot, type MemberStateName } from '../../machines/member.js';
import { memberLogic } from '../../machines/member-restore.js';
import { clockFromScheduler } from '../../src/clock.js';
import { driveTwins, type MemberEventIn } from '../helpers/member-twins.js';

const addr = Uint8Array.of(127, 0, 0, 1);
const info = { addr, port: 7946, meta: Uint8Array.of(9), vsn: Uint8Array.of(1, 5, 2, 2, 5, 5) };
const bounds = { minMs: 4000, maxMs: 24000, k: 2 };
const STATES: MemberStateName[] = ['alive', 'suspect', 'dead', 'left'];

/** a persisted snapshot in the given state, as an actor of the plain machine wrote it */
function persistedIn(state: MemberStateName, name = 'm'): unknown {
  const s = new VirtualTimeScheduler();
  const a = createActor(memberMachine, { input: { name, ...info, incarnation: 5, at: 0 }, clock: clockFromScheduler(s) });
  a.start();
  if (state === 'suspect') a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 1, bounds });
  if (state === 'dead') a.send({ type: 'DEAD', incarnation: 5, from: 'x', at: 1 });
  if (state === 'left') a.send({ type: 'DEAD', incarnation: 5, from: name, at: 1 });
  assert.equal(a.getSnapshot().value, state, `set up ${state}`);
  const p = a.getPersistedSnapshot();
  a.stop();
  return structuredClone(p);
}

// restoreSnapshot only reads the scope's actor reference for reviving children, which
// a member never has; both restores get the same scope.
const scope = { self: undefined } as unknown as AnyActorScope;
type Restored = ReturnType<typeof memberMachine.restoreSnapshot>;
const ours = (p: unknown): Restored => memberLogic.restoreSnapshot(p as never, scope);
// XState binds a machine's restore and transition to the machine, so an actor running
// memberLogic makes snapshots whose `machine` is memberMachine: restored ones must too.
const xstates = (p: unknown): Restored => memberMachine.restoreSnapshot(p as never, scope);

function assertSameSnapshot(a: Restored, b: Restored, what: string) {
  assert.deepEqual(Object.keys(a), Object.keys(b), `${what}: the same fields in the same order`);
  for (const k of ['status', 'output', 'error', 'value', 'context', 'children', 'historyValue'] as const) {
    assert.deepEqual(a[k], b[k], `${what}: ${k}`);
  }
  assert.equal(a.machine, b.machine, `${what}: the same machine`);
  assert.equal(a.machine, memberMachine, `${what}: the machine a transition would put there`);
  assert.equal(a._nodes.length, b._nodes.length, `${what}: as many state nodes`);
  a._nodes.forEach((n, i) => assert.equal(n, b._nodes[i], `${what}: state node ${i} is the same object`));
  assert.deepEqual([...a.tags], [...b.tags], `${what}: tags`);
  for (const m of ['matches', 'hasTag', 'can', 'getMeta', 'toJSON'] as const) {
    assert.equal(typeof a[m], 'function', `${what}: has ${m}`);
  }
  assert.equal(a.matches(a.value as never), true, `${what}: matches its own state`);
  assert.deepEqual(a.toJSON(), b.toJSON(), `${what}: toJSON`);
}

test('for each state, the restored snapshot is XState\'s, field by field', () => {
  for (const state of STATES) {
    const p = persistedIn(state);
    assertSameSnapshot(ours(p), xstates(p), state);
    assert.equal(ours(p).context, (p as { context: unknown }).context, `${state}: the persisted context is taken as it is`);
  }
  const fresh = newMemberSnapshot({ name: 'n', ...info, incarnation: 3, at: 2 });
  assertSameSnapshot(ours(fresh), xstates(fresh), 'newMemberSnapshot');
});

test('the fast path is taken: two restored members of one state share the parts that depend only on the state', () => {
  for (const state of STATES) {
    const [a, b] = [ours(persistedIn(state, 'a')), ours(persistedIn(state, 'b'))];
    assert.equal(a.tags, b.tags, `${state}: one tags set`);
    assert.equal(a._nodes, b._nodes, `${state}: one state node list`);
    assert.equal(a.children, b.children, `${state}: one children object`);
    assert.notEqual(a.context, b.context, `${state}: each its own context`);
    // XState's restore builds them anew each time: the sharing is ours.
    const [x, y] = [xstates(persistedIn(state, 'a')), xstates(persistedIn(state, 'b'))];
    assert.notEqual(x.tags, y.tags, `${state}: XState builds a tags set per snapshot`);
  }
});

test('a snapshot with history, children or a state the machine lacks goes to XState\'s restore', () => {
  const base = persistedIn('alive') as Record<string, unknown>;
  const withHistory = { ...base, historyValue: { 'member.x': [{ id: 'member.alive' }] } };
  const a = ours(withHistory);
  const b = xstates(withHistory);
  assert.deepEqual(a.historyValue, b.historyValue);
  assert.deepEqual(Object.keys(a.historyValue), ['member.x'], 'the history is kept, as XState keeps it');
  assert.notEqual(a.tags, ours(base).tags, 'not the shared template');
  const bogus = { ...base, value: 'zombie' };
  assert.throws(() => xstates(bogus), 'XState refuses a state the machine lacks');
  assert.throws(() => ours(bogus), 'and so does memberLogic: the same answer');
  const noChildren = { ...base, children: undefined };
  assert.throws(() => xstates(noChildren), 'XState needs the children object');
  assert.throws(() => ours(noChildren), 'and so does memberLogic');
  const nested = { ...base, value: { alive: 'x' } };
  assert.throws(() => ours(nested));
  assert.throws(() => xstates(nested));
});

test('copy on write: one actor moving on leaves the other, and the shared template, as they were', () => {
  const s = new VirtualTimeScheduler();
  const clock = clockFromScheduler(s);
  const input = { name: 'a', ...info, incarnation: 5, at: 0 };
  const a = createActor(memberLogic, { input, snapshot: newMemberSnapshot(input), clock });
  const b = createActor(memberLogic, { input: { ...input, name: 'b' }, snapshot: newMemberSnapshot({ ...input, name: 'b' }), clock });
  a.start();
  b.start();
  const before = b.getSnapshot();
  const shared = { tags: [...before.tags], nodes: [...before._nodes], children: { ...before.children }, history: { ...before.historyValue } };
  assert.equal(a.getSnapshot().tags, before.tags, 'shared at the start');
  a.send({ type: 'SUSPECT', incarnation: 5, from: 'x', at: 1, bounds });
  assert.equal(a.getSnapshot().value, 'suspect');
  assert.equal(b.getSnapshot(), before, 'b did not move');
  assert.equal(b.getSnapshot().value, 'alive');
  assert.deepEqual([...before.tags], shared.tags);
  assert.deepEqual([...before._nodes], shared.nodes);
  assert.deepEqual(before.children, shared.children);
  assert.deepEqual(before.historyValue, shared.history);
  assert.deepEqual(Object.keys(a.getSnapshot().children), [], 'the suspicion timer is a delayed event, not a child');
  // a third member restored afterwards still starts alive, from an untouched template
  const c = ours(newMemberSnapshot({ ...input, name: 'c' }));
  assert.equal(c.value, 'alive');
  assert.equal(c.tags, before.tags);
  a.stop();
  b.stop();
});

test('actors on memberLogic and on the plain machine accept, refuse and time out alike', () => {
  const s = new VirtualTimeScheduler();
  const input = { name: 'm', ...info, incarnation: 5, at: 7 };
  const plain = createActor(memberMachine, { input, snapshot: newMemberSnapshot(input), clock: clockFromScheduler(s) });
  const fast = createActor(memberLogic, { input, snapshot: newMemberSnapshot(input), clock: clockFromScheduler(s) });
  assert.equal(fast.logic, memberLogic);
  const events: MemberEventIn[] = [
    { type: 'ALIVE', incarnation: 5, at: 8, ...info },
    { type: 'ALIVE', incarnation: 6, at: 8, ...info, meta: Uint8Array.of(1) },
    { type: 'SUSPECT', incarnation: 4, from: 'x', at: 9, bounds },
    { type: 'SUSPECT', incarnation: 6, from: 'x', at: 10, bounds },
    { type: 'SUSPECT', incarnation: 6, from: 'y', at: 11, bounds },
  ];
  const emitted = driveTwins(s, plain, fast, events, 30_000);
  assert.ok(emitted.expected.some((e) => e.startsWith('suspicionExpired@')), `the timer ran out: ${emitted.expected.join(', ')}`);
  for (const a of [plain, fast]) a.send({ type: 'ALIVE', incarnation: 7, at: 30_001, ...info });
  assert.equal(fast.getSnapshot().value, plain.getSnapshot().value);
  assert.deepEqual(fast.getPersistedSnapshot(), plain.getPersistedSnapshot());
  plain.stop();
  fast.stop();
});
