// The rules around the member machine (wire spec §11, memberlist state.go), as table
// tests of the pure judges: given a view and a message, which verdict. The scenarios
// are memberlist's state_test.go (AliveNode_*, SuspectNode_*, DeadNode_*, Refute,
// MergeState) restated as verdicts; the incarnation order itself is the machine's and
// is covered by member-machine.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  judgeAlive,
  judgeDead,
  judgeSuspect,
  normalizeAlive,
  pushRecordToMessage,
  refutingIncarnation,
  vsnIsValid,
  type AccusationVerdict,
  type AliveVerdict,
  type LocalView,
  type MemberView,
  type View,
} from '../../src/swim/rules.js';
import type { Alive, Dead, PushNodeState, Suspect } from '../../src/wire/types.js';
import { WireState } from '../../src/wire/types.js';

const VSN = Uint8Array.of(1, 5, 2, 2, 5, 5);
const EMPTY = new Uint8Array(0);
const IP_ME = Uint8Array.of(10, 0, 0, 1);
const IP_A = Uint8Array.of(10, 0, 0, 2);
const IP_B = Uint8Array.of(10, 0, 0, 3);
const PORT = 7946;
const NOW = 1_000_000;

const ME: LocalView = { name: 'me', addr: IP_ME, port: PORT, meta: EMPTY, vsn: VSN, incarnation: 5, leaving: false };

/** a member known at 10.0.0.2:7946, alive at incarnation 3 since NOW − 1000, unless overridden */
function known(over: Partial<MemberView> = {}): MemberView {
  return { state: 'alive', incarnation: 3, addr: IP_A, port: PORT, stateChangedAt: NOW - 1000, reaped: false, ...over };
}

interface Given {
  local?: Partial<LocalView>;
  members?: Record<string, MemberView>;
  deadNodeReclaimTime?: number;
}

function view(g: Given = {}): View {
  const members = g.members ?? {};
  return {
    local: { ...ME, ...g.local },
    member: (name) => members[name],
    now: NOW,
    deadNodeReclaimTime: g.deadNodeReclaimTime ?? 0,
  };
}

function alive(node: string, incarnation: number, over: Partial<Alive> = {}): Alive {
  return { type: 'alive', node, incarnation, addr: node === 'me' ? IP_ME : IP_A, port: PORT, meta: EMPTY, vsn: VSN, ...over };
}
const suspect = (node: string, incarnation: number, from = 'x'): Suspect => ({ type: 'suspect', node, incarnation, from });
const dead = (node: string, incarnation: number, from = 'x'): Dead => ({ type: 'dead', node, incarnation, from });

describe('judgeAlive: names we do not know', () => {
  const cases: Array<{ name: string; given: Given; msg: Alive; expect: AliveVerdict }> = [
    {
      name: 'an unknown node at incarnation 0 is ignored (memberlist stores it dead at 0 and bails)',
      given: {},
      msg: alive('a', 0),
      expect: { action: 'ignore', why: 'unknown_at_incarnation_0' },
    },
    { name: 'an unknown node at incarnation 1 is created (AliveNode_NewNode)', given: {}, msg: alive('a', 1), expect: { action: 'create' } },
    {
      name: 'an unknown node from any address is created: there is nothing to conflict with',
      given: { members: { b: known() } },
      msg: alive('a', 7, { addr: IP_B, port: 9000 }),
      expect: { action: 'create' },
    },
    {
      name: 'a reaped member at incarnation 0 is ignored like an unknown one',
      given: { members: { a: known({ state: 'dead', incarnation: 9, reaped: true }) } },
      msg: alive('a', 0),
      expect: { action: 'ignore', why: 'unknown_at_incarnation_0' },
    },
    {
      name: 'a reaped member returning below its old incarnation is delivered as a replacement (a newcomer)',
      given: { members: { a: known({ state: 'dead', incarnation: 9, reaped: true }) } },
      msg: alive('a', 1),
      expect: { action: 'deliver', replace: true },
    },
    {
      name: 'a reaped member returning from another address is a newcomer too, not an address conflict',
      given: { members: { a: known({ state: 'left', incarnation: 9, reaped: true }) } },
      msg: alive('a', 2, { addr: IP_B, port: 9000 }),
      expect: { action: 'deliver', replace: true },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(judgeAlive(view(c.given), c.msg), c.expect));
});

describe('judgeAlive: known members and their addresses', () => {
  const cases: Array<{ name: string; given: Given; msg: Alive; expect: AliveVerdict }> = [
    {
      name: 'same address: delivered without replacement, whatever the incarnation (the machine orders them)',
      given: { members: { a: known() } },
      msg: alive('a', 1),
      expect: { action: 'deliver', replace: false },
    },
    {
      name: 'port 0 means our own port, so it matches a member stored at our port',
      given: { members: { a: known({ port: PORT }) } },
      msg: alive('a', 4, { port: 0 }),
      expect: { action: 'deliver', replace: false },
    },
    {
      name: 'a null address is the empty address',
      given: { members: { a: known({ addr: EMPTY }) } },
      msg: alive('a', 4, { addr: null }),
      expect: { action: 'deliver', replace: false },
    },
    {
      name: 'an alive member claimed from another IP is an address conflict (AliveNode_Conflict)',
      given: { members: { a: known() } },
      msg: alive('a', 4, { addr: IP_B, port: 9000 }),
      expect: { action: 'address_conflict' },
    },
    {
      name: 'another port at the same IP is an address conflict too',
      given: { members: { a: known() } },
      msg: alive('a', 4, { port: 9000 }),
      expect: { action: 'address_conflict' },
    },
    {
      name: 'a suspect member claimed from another address is an address conflict',
      given: { members: { a: known({ state: 'suspect' }) } },
      msg: alive('a', 4, { addr: IP_B }),
      expect: { action: 'address_conflict' },
    },
    {
      name: 'a member that left may be replaced from another address, at any incarnation (DeadNodeLeft)',
      given: { members: { a: known({ state: 'left', incarnation: 8 }) } },
      msg: alive('a', 1, { addr: IP_B, port: 9000 }),
      expect: { action: 'deliver', replace: true },
    },
    {
      name: 'a member dead for longer than DeadNodeReclaimTime may be replaced from another address',
      given: { members: { a: known({ state: 'dead', stateChangedAt: NOW - 11 }) }, deadNodeReclaimTime: 10 },
      msg: alive('a', 1, { addr: IP_B, port: 9000 }),
      expect: { action: 'deliver', replace: true },
    },
    {
      name: 'a member dead for exactly DeadNodeReclaimTime may not be replaced yet (memberlist: strictly longer)',
      given: { members: { a: known({ state: 'dead', stateChangedAt: NOW - 10 }) }, deadNodeReclaimTime: 10 },
      msg: alive('a', 4, { addr: IP_B, port: 9000 }),
      expect: { action: 'address_conflict' },
    },
    {
      name: 'a member dead within DeadNodeReclaimTime is an address conflict',
      given: { members: { a: known({ state: 'dead', stateChangedAt: NOW - 5 }) }, deadNodeReclaimTime: 10 },
      msg: alive('a', 4, { addr: IP_B }),
      expect: { action: 'address_conflict' },
    },
    {
      name: 'with DeadNodeReclaimTime 0 a dead member is never replaced, however long dead',
      given: { members: { a: known({ state: 'dead', stateChangedAt: 0 }) }, deadNodeReclaimTime: 0 },
      msg: alive('a', 4, { addr: IP_B }),
      expect: { action: 'address_conflict' },
    },
    {
      name: 'a long-dead member from its own address is delivered without replacement (ordinary return)',
      given: { members: { a: known({ state: 'dead', stateChangedAt: 0 }) }, deadNodeReclaimTime: 10 },
      msg: alive('a', 4),
      expect: { action: 'deliver', replace: false },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(judgeAlive(view(c.given), c.msg), c.expect));
});

describe('judgeAlive: messages about ourselves', () => {
  const cases: Array<{ name: string; given: Given; msg: Alive; expect: AliveVerdict }> = [
    { name: 'an older incarnation of us is ignored', given: {}, msg: alive('me', 4, { meta: Uint8Array.of(1) }), expect: { action: 'ignore', why: 'old_self' } },
    {
      name: 'our own announcement echoed back is ignored',
      given: {},
      msg: alive('me', 5),
      expect: { action: 'ignore', why: 'own_announcement' },
    },
    {
      name: 'our announcement with null meta equals our empty meta',
      given: {},
      msg: alive('me', 5, { meta: null }),
      expect: { action: 'ignore', why: 'own_announcement' },
    },
    {
      name: 'our incarnation with other metadata is refuted at that incarnation (AliveNode_Refute)',
      given: {},
      msg: alive('me', 5, { meta: Uint8Array.of(0x66, 0x6f, 0x6f) }),
      expect: { action: 'refute', accused: 5 },
    },
    {
      name: 'our incarnation with other versions is refuted (a restart with another configuration)',
      given: {},
      msg: alive('me', 5, { vsn: Uint8Array.of(1, 5, 3, 2, 5, 5) }),
      expect: { action: 'refute', accused: 5 },
    },
    {
      name: 'a newer incarnation of us, even with our metadata, is refuted at the accused incarnation',
      given: {},
      msg: alive('me', 9),
      expect: { action: 'refute', accused: 9 },
    },
    {
      name: 'port 0 in an alive about us means our port: not a conflict',
      given: {},
      msg: alive('me', 5, { port: 0 }),
      expect: { action: 'ignore', why: 'own_announcement' },
    },
    {
      name: 'another node claiming our name from another address is a name conflict',
      given: {},
      msg: alive('me', 9, { addr: IP_B }),
      expect: { action: 'name_conflict' },
    },
    {
      name: 'a name conflict is reported even at an older incarnation (memberlist checks the address first)',
      given: {},
      msg: alive('me', 1, { port: 9000 }),
      expect: { action: 'name_conflict' },
    },
    {
      name: 'while leaving, every alive about us is ignored (it would re-join us)',
      given: { local: { leaving: true } },
      msg: alive('me', 9, { meta: Uint8Array.of(1) }),
      expect: { action: 'ignore', why: 'leaving' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(judgeAlive(view(c.given), c.msg), c.expect));
});

describe('judgeAlive: protocol versions', () => {
  const bad: Array<[string, Uint8Array]> = [
    ['PMin 0', Uint8Array.of(0, 5, 2, 2, 5, 5)],
    ['PMax 0', Uint8Array.of(1, 0, 2, 2, 5, 5)],
    ['PMin above PMax', Uint8Array.of(4, 3, 3, 2, 5, 5)],
    ['too short', Uint8Array.of(1, 5, 2)],
    ['too long', Uint8Array.of(1, 5, 2, 2, 5, 5, 0)],
  ];
  for (const [what, vsn] of bad) {
    it(`an alive with an invalid vsn (${what}) is ignored, for a new node, a known one and ourselves`, () => {
      const expect = { action: 'ignore', why: 'invalid_vsn' };
      assert.deepEqual(judgeAlive(view(), alive('a', 1, { vsn })), expect);
      assert.deepEqual(judgeAlive(view({ members: { a: known() } }), alive('a', 4, { vsn })), expect);
      assert.deepEqual(judgeAlive(view(), alive('me', 9, { vsn })), expect);
    });
  }

  it('vsnIsValid: absent or empty is accepted (old senders), six well-ordered bytes are accepted', () => {
    assert.equal(vsnIsValid(null), true);
    assert.equal(vsnIsValid(EMPTY), true);
    assert.equal(vsnIsValid(VSN), true);
    assert.equal(vsnIsValid(Uint8Array.of(2, 2, 2, 0, 0, 0)), true, 'PMin = PMax is fine; delegate bytes are not checked');
    for (const [what, vsn] of bad) assert.equal(vsnIsValid(vsn), false, what);
  });
});

describe('normalizeAlive', () => {
  it('stores no nulls and reads port 0 as the local port', () => {
    const n = normalizeAlive({ type: 'alive', node: 'a', incarnation: 1, addr: null, port: 0, meta: null, vsn: null }, 7000);
    assert.deepEqual(n, { type: 'alive', node: 'a', incarnation: 1, addr: EMPTY, port: 7000, meta: EMPTY, vsn: EMPTY });
  });
  it('keeps what is there', () => {
    const a = alive('a', 3, { port: 9000, meta: Uint8Array.of(7) });
    assert.deepEqual(normalizeAlive(a, 7000), a);
  });
});

describe('judgeSuspect', () => {
  const cases: Array<{ name: string; given: Given; msg: Suspect; expect: AccusationVerdict }> = [
    { name: 'about an unknown node: ignored (SuspectNode_NoNode)', given: {}, msg: suspect('a', 1), expect: { action: 'ignore', why: 'unknown' } },
    {
      name: 'about a reaped member: ignored like an unknown one',
      given: { members: { a: known({ state: 'dead', reaped: true }) } },
      msg: suspect('a', 9),
      expect: { action: 'ignore', why: 'unknown' },
    },
    {
      name: 'about a known member: delivered, even at an old incarnation (the machine refuses stale ones)',
      given: { members: { a: known({ incarnation: 10 }) } },
      msg: suspect('a', 1),
      expect: { action: 'deliver' },
    },
    {
      name: 'about a dead member that is not reaped: delivered (the machine ignores it)',
      given: { members: { a: known({ state: 'dead' }) } },
      msg: suspect('a', 3),
      expect: { action: 'deliver' },
    },
    { name: 'about us at an older incarnation: ignored', given: {}, msg: suspect('me', 4), expect: { action: 'ignore', why: 'old_self' } },
    { name: 'about us at our incarnation: refuted (SuspectNode_Refute)', given: {}, msg: suspect('me', 5), expect: { action: 'refute', accused: 5 } },
    { name: 'about us at a newer incarnation: refuted at that incarnation', given: {}, msg: suspect('me', 9), expect: { action: 'refute', accused: 9 } },
    {
      // memberlist's suspectNode ignores it: once Leave() has run our own state is
      // StateLeft, not StateAlive. Refuting would gossip alive(me, n+1), which beats our
      // dead(me, n) leave message everywhere and re-joins us.
      name: 'about us while leaving: ignored, the leave must stand',
      given: { local: { leaving: true } },
      msg: suspect('me', 5),
      expect: { action: 'ignore', why: 'leaving' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(judgeSuspect(view(c.given), c.msg), c.expect));
});

describe('judgeDead', () => {
  const cases: Array<{ name: string; given: Given; msg: Dead; expect: AccusationVerdict }> = [
    { name: 'about an unknown node: ignored (DeadNode_NoNode)', given: {}, msg: dead('a', 1), expect: { action: 'ignore', why: 'unknown' } },
    {
      name: 'about a reaped member: ignored like an unknown one',
      given: { members: { a: known({ state: 'left', reaped: true }) } },
      msg: dead('a', 9, 'a'),
      expect: { action: 'ignore', why: 'unknown' },
    },
    {
      name: 'about a known member, from anyone: delivered (the machine decides stale, failed or left)',
      given: { members: { a: known() } },
      msg: dead('a', 3, 'a'),
      expect: { action: 'deliver' },
    },
    {
      name: 'about a known member at an old incarnation: delivered, the machine refuses it (DeadNode_OldDead)',
      given: { members: { a: known({ incarnation: 10 }) } },
      msg: dead('a', 1),
      expect: { action: 'deliver' },
    },
    { name: 'about us at an older incarnation: ignored', given: {}, msg: dead('me', 4), expect: { action: 'ignore', why: 'old_self' } },
    { name: 'about us at our incarnation: refuted (DeadNode_Refute)', given: {}, msg: dead('me', 5), expect: { action: 'refute', accused: 5 } },
    { name: 'about us at a newer incarnation: refuted at that incarnation', given: {}, msg: dead('me', 9), expect: { action: 'refute', accused: 9 } },
    { name: 'about us from ourselves when not leaving: refuted (someone replays an old leave)', given: {}, msg: dead('me', 5, 'me'), expect: { action: 'refute', accused: 5 } },
    { name: 'about us while leaving: ignored, our death stands', given: { local: { leaving: true } }, msg: dead('me', 5, 'me'), expect: { action: 'ignore', why: 'leaving' } },
    { name: 'about us while leaving, from someone else: ignored too', given: { local: { leaving: true } }, msg: dead('me', 7), expect: { action: 'ignore', why: 'leaving' } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(judgeDead(view(c.given), c.msg), c.expect));
});

describe('pushRecordToMessage (mergeState)', () => {
  const record = (state: number, over: Partial<PushNodeState> = {}): PushNodeState => ({
    name: 'a',
    addr: IP_A,
    port: 9000,
    meta: Uint8Array.of(1, 2),
    incarnation: 4,
    state,
    vsn: VSN,
    ...over,
  });
  const cases: Array<{ name: string; r: PushNodeState; expect: ReturnType<typeof pushRecordToMessage> }> = [
    {
      name: 'alive → alive with the record’s address, port, meta and versions',
      r: record(WireState.alive),
      expect: { type: 'alive', node: 'a', incarnation: 4, addr: IP_A, port: 9000, meta: Uint8Array.of(1, 2), vsn: VSN },
    },
    {
      name: 'alive with nulls → alive with the same nulls (normalised later, by judgeAlive)',
      r: record(WireState.alive, { addr: null, meta: null, vsn: null }),
      expect: { type: 'alive', node: 'a', incarnation: 4, addr: null, port: 9000, meta: null, vsn: null },
    },
    { name: 'left → dead from the member itself (its own leave)', r: record(WireState.left), expect: { type: 'dead', node: 'a', incarnation: 4, from: 'a' } },
    {
      name: 'dead → only a suspicion, from us: we check for ourselves',
      r: record(WireState.dead),
      expect: { type: 'suspect', node: 'a', incarnation: 4, from: 'me' },
    },
    { name: 'suspect → suspect from us', r: record(WireState.suspect), expect: { type: 'suspect', node: 'a', incarnation: 4, from: 'me' } },
    { name: 'an unknown state → null (skipped)', r: record(7), expect: null },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(pushRecordToMessage(c.r, 'me'), c.expect));
});

describe('refutingIncarnation', () => {
  const cases: Array<[current: number, accused: number, expected: number]> = [
    [5, 5, 6],
    [5, 3, 6],
    [5, 9, 10],
    [0, 0, 1],
    [0, 41, 42],
  ];
  for (const [current, accused, expected] of cases) {
    it(`ours ${current}, accused at ${accused} → ${expected} (above both)`, () => assert.equal(refutingIncarnation(current, accused), expected));
  }
});

