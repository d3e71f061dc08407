// The registry refuses an event without XState when a guard that every transition on it
// needs fails. These tests pin down which guards the analysis finds in the member
// machine, that it declines where a transition could pass without the guard, and that
// a refusal by the guard is always a refusal by the machine itself (snapshot.can).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { and, createActor, setup } from 'xstate';
import { memberMachine, type MemberEvent } from '../../machines/member.js';
import { necessaryGuards } from '../../src/swim/necessary-guards.js';

const VSN = Uint8Array.of(1, 5, 2, 2, 5, 5);
const EMPTY = new Uint8Array(0);
const ADDR = Uint8Array.of(10, 0, 0, 1);

describe('necessaryGuards', () => {
  it('finds aliveIsNewer for ALIVE, notReaped for REAP and isLeaving for STAYING in the member machine, nothing for SUSPECT or DEAD', () => {
    const g = necessaryGuards(memberMachine);
    assert.deepEqual([...g.keys()].sort(), ['ALIVE', 'REAP', 'STAYING']);
  });

  it('declines an event type that some transition takes without the guard', () => {
    const m = setup({
      types: { events: {} as { type: 'A' } | { type: 'B' } },
      guards: { yes: () => true, no: () => false },
    }).createMachine({
      initial: 'x',
      states: {
        x: { on: { A: { guard: and(['no', 'yes']), target: 'y' }, B: { guard: 'no', target: 'y' } } },
        y: { on: { A: { target: 'x' }, B: [{ guard: 'no', target: 'x' }, { guard: and(['yes', 'no']) }] } },
      },
    });
    const g = necessaryGuards(m);
    assert.equal(g.has('A'), false, 'A is unguarded in y');
    assert.equal(g.has('B'), true, 'every B transition needs "no"');
    assert.equal(g.get('B')!({}, { type: 'B' }), false);
  });

  it('declines everything when a wildcard or a root transition could catch the event', () => {
    const wild = setup({ types: { events: {} as { type: 'A' } }, guards: { no: () => false } }).createMachine({
      initial: 'x',
      on: { '*': { actions: () => {} } },
      states: { x: { on: { A: { guard: 'no', target: 'x' } } } },
    });
    assert.equal(necessaryGuards(wild).size, 0);
    const rooted = setup({ types: { events: {} as { type: 'A' } }, guards: { no: () => false } }).createMachine({
      initial: 'x',
      on: { A: { actions: () => {} } },
      states: { x: { on: { A: { guard: 'no', target: 'x' } } } },
    });
    assert.equal(necessaryGuards(rooted).has('A'), false);
  });

  it('never refuses what the member machine would accept, in any state', () => {
    const g = necessaryGuards(memberMachine);
    const alive = (incarnation: number, replace = false): MemberEvent => ({ type: 'ALIVE', incarnation, at: 5, replace, addr: ADDR, port: 7946, meta: EMPTY, vsn: VSN });
    const bounds = { minMs: 1000, maxMs: 1000, k: 0 };
    // Drive one actor through alive → suspect → dead → reaped → alive → left, checking every candidate event at each step.
    const a = createActor(memberMachine, { input: { name: 'm', addr: ADDR, port: 7946, meta: EMPTY, vsn: VSN, incarnation: 3, at: 0 } });
    a.start();
    const path: MemberEvent[] = [
      { type: 'SUSPECT', incarnation: 3, from: 'x', at: 1, bounds },
      { type: 'DEAD', incarnation: 3, from: 'x', at: 2 },
      { type: 'REAP' },
      alive(4),
      { type: 'DEAD', incarnation: 4, from: 'm', at: 3 },
    ];
    let refusedByGuard = 0;
    for (let step = 0; step <= path.length; step++) {
      const snap = a.getSnapshot();
      for (const ev of [alive(2), alive(3), alive(4), alive(9), alive(1, true), { type: 'REAP' } as MemberEvent]) {
        const must = g.get(ev.type);
        if (must && !must(snap.context, ev)) {
          refusedByGuard++;
          assert.equal(snap.can(ev), false, `${snap.value as string}: ${JSON.stringify({ ...ev, addr: undefined, meta: undefined, vsn: undefined })}`);
        }
      }
      if (step < path.length) a.send(path[step]!);
    }
    assert.ok(refusedByGuard > 10, `the guard refused ${refusedByGuard} events`);
    assert.equal(a.getSnapshot().value, 'left');
    a.stop();
  });
});
