// SwimCore, sans IO: given a view, receive a message, expect exactly this gossip, these
// events, one viewChanged per accepted change. Time is an RxJS VirtualTimeScheduler
// (the member actors' suspicion timers run on it through clockFromScheduler), random
// is seeded. The scenarios follow memberlist's state_test.go (AliveNode_*,
// SuspectNode_*, DeadNode_*, MergeState) and foca's "given/when/then" style.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import type { MemberEvent } from '../../src/api.js';
import { clockFromScheduler } from '../../src/clock.js';
import { resolveConfig, type ProtocolOverrides } from '../../src/config.js';
import { createRandom } from '../../src/sim/random.js';
import { SwimCore, type CorePort, type LogLevel } from '../../src/swim/core.js';
import { suspicionBounds, suspicionTimeoutMs } from '../../src/swim/formulas.js';
import type { Alive, Dead, GossipMessage, PushNodeState, Suspect } from '../../src/wire/types.js';
import { WireState } from '../../src/wire/types.js';

const VSN = Uint8Array.of(1, 5, 2, 2, 5, 5);
const EMPTY = new Uint8Array(0);
const PORT = 7946;
const IP_ME = Uint8Array.of(10, 0, 0, 1);
/** every remote node gets its own address: 10.0.1.<n> */
const ipOf = (name: string) => Uint8Array.of(10, 0, 1, [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 250, 7) + 1);

function alive(node: string, incarnation: number, over: Partial<Alive> = {}): Alive {
  return { type: 'alive', node, incarnation, addr: node === 'me' ? IP_ME : ipOf(node), port: PORT, meta: EMPTY, vsn: VSN, ...over };
}
const suspect = (node: string, incarnation: number, from: string): Suspect => ({ type: 'suspect', node, incarnation, from });
const dead = (node: string, incarnation: number, from: string): Dead => ({ type: 'dead', node, incarnation, from });

interface Recorded {
  gossip: Array<{ key: string; msg: GossipMessage }>;
  events: MemberEvent[];
  viewChanged: number;
  refuted: number;
  confirmed: number;
  logs: Array<{ level: LogLevel; msg: string }>;
  told: Array<{ member: string; msg: GossipMessage }>;
}

/**
 * A core named "me" at 10.0.0.1:7946, incarnation 5 unless told, with a recording port.
 * `given` members are received as alive messages first; then the recording is cleared.
 */
function harness(opts: { incarnation?: number; config?: ProtocolOverrides; given?: Alive[]; seed?: number } = {}) {
  const s = new VirtualTimeScheduler();
  const rec: Recorded = { gossip: [], events: [], viewChanged: 0, refuted: 0, confirmed: 0, logs: [], told: [] };
  const port: CorePort = {
    gossip: (key, msg) => void rec.gossip.push({ key, msg }),
    tell: (member, msg) => void rec.told.push({ member, msg }),
    event: (e) => void rec.events.push(e),
    viewChanged: () => void rec.viewChanged++,
    refuted: () => void rec.refuted++,
    confirmed: () => void rec.confirmed++,
    log: (level, msg) => void rec.logs.push({ level, msg }),
  };
  const config = resolveConfig('lan', opts.config ?? {});
  const core = new SwimCore({
    config,
    local: { name: 'me', meta: EMPTY, vsn: VSN, incarnation: opts.incarnation ?? 5 },
    now: () => s.now(),
    clock: clockFromScheduler(s),
    random: createRandom(opts.seed ?? 42),
    port,
  });
  core.setAddress(IP_ME, PORT);
  for (const a of opts.given ?? []) core.receive(a);
  const clear = () => {
    rec.gossip = [];
    rec.events = [];
    rec.viewChanged = rec.refuted = rec.confirmed = 0;
    rec.logs = [];
  };
  clear();
  /** run virtual time up to `t` ms, firing every timer due by then */
  const advanceTo = (t: number) => {
    assert.ok(t >= s.frame, 'time only moves forward');
    s.schedule(() => {}, t - s.frame);
    s.maxFrames = t;
    s.flush();
  };
  /** call nextProbeTarget() until the probe order has wrapped at least once (memberlist reaps there) */
  const wrap = () => {
    for (let i = 0; i <= core.remoteMembers().length; i++) core.nextProbeTarget();
  };
  return { core, rec, config, s, clear, advanceTo, wrap, now: () => s.now() };
}

/** events as "type:name", in order */
const ev = (rec: Recorded) => rec.events.map((e) => `${e.type}:${e.member.name}`);

/** nothing at all came out of the core */
function assertSilent(rec: Recorded) {
  assert.deepEqual(rec.gossip, [], 'nothing gossiped');
  assert.deepEqual(ev(rec), [], 'no event');
  assert.equal(rec.viewChanged, 0, 'view unchanged');
  assert.equal(rec.refuted, 0, 'nothing refuted');
  assert.equal(rec.confirmed, 0, 'nothing confirmed');
}

describe('alive', () => {
  it('a new node at incarnation 1: joined, alive re-gossiped, one view change (AliveNode_NewNode)', () => {
    const h = harness();
    h.advanceTo(123);
    const a = alive('a', 1, { meta: Uint8Array.of(9) });
    h.core.receive(a);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: a }]);
    assert.deepEqual(ev(h.rec), ['joined:a']);
    const joined = h.rec.events[0]!;
    assert.equal(joined.at, 123);
    assert.equal(joined.member.state, 'alive');
    assert.equal(joined.member.incarnation, 1);
    assert.deepEqual(joined.member.meta, Uint8Array.of(9));
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.size, 2);
    assert.equal(h.core.member('a')?.stateChangedAt, 123);
  });

  it('a new node at incarnation 0: nothing (memberlist never creates a member from it)', () => {
    const h = harness();
    h.core.receive(alive('a', 0));
    assertSilent(h.rec);
    assert.equal(h.core.member('a'), undefined);
    assert.equal(h.core.size, 1);
  });

  it('port 0 is re-gossiped as our port and stored so', () => {
    const h = harness();
    h.core.receive(alive('a', 1, { port: 0 }));
    assert.equal(h.rec.gossip.length, 1);
    assert.equal((h.rec.gossip[0]!.msg as Alive).port, PORT);
    assert.equal(h.core.member('a')?.port, PORT);
  });

  it('a repeated alive: nothing gossiped, no event, no view change', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(alive('a', 1));
    h.core.receive(alive('a', 0));
    assertSilent(h.rec);
  });

  it('a newer alive with the same info: re-gossiped once, no event, state change time kept (AliveNode_Idempotent)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.advanceTo(500);
    const a2 = alive('a', 2);
    h.core.receive(a2);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: a2 }]);
    assert.deepEqual(ev(h.rec), []);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('a')?.incarnation, 2);
    assert.equal(h.core.member('a')?.stateChangedAt, 0);
    h.clear();
    h.core.receive(a2);
    assertSilent(h.rec);
  });

  it('a newer alive with other metadata: updated, with the new metadata (AliveNode_ChangeMeta)', () => {
    const h = harness({ given: [alive('a', 1, { meta: Uint8Array.of(1) })] });
    h.core.receive(alive('a', 2, { meta: Uint8Array.of(2) }));
    assert.deepEqual(ev(h.rec), ['updated:a']);
    assert.deepEqual(h.rec.events[0]!.member.meta, Uint8Array.of(2));
    assert.deepEqual(h.core.member('a')?.meta, Uint8Array.of(2));
    assert.equal(h.rec.gossip.length, 1);
    assert.equal(h.rec.viewChanged, 1);
  });

  it('a suspect member: an equal alive changes nothing, a higher one recovers it (AliveNode_SuspectNode)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(suspect('a', 1, 'b'));
    h.clear();
    h.core.receive(alive('a', 1));
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'suspect');
    const a2 = alive('a', 2);
    h.core.receive(a2);
    assert.deepEqual(ev(h.rec), ['recovered:a'], 'recovered, not joined');
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: a2 }]);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('a')?.state, 'alive');
  });

  it('a recovered member no longer fails when the old suspicion timer would have run out', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(suspect('a', 1, 'b'));
    h.core.receive(alive('a', 2));
    h.clear();
    h.advanceTo(100_000);
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'alive');
  });

  it('an alive member from another address: nothing changes, a warning (AliveNode_Conflict)', () => {
    const h = harness({ given: [alive('a', 1, { port: 8000 })] });
    h.core.receive(alive('a', 2, { addr: Uint8Array.of(127, 0, 0, 2), port: 9000, meta: Uint8Array.of(1) }));
    assertSilent(h.rec);
    assert.deepEqual(h.rec.logs.map((l) => l.level), ['warn']);
    const m = h.core.member('a')!;
    assert.equal(m.port, 8000);
    assert.equal(m.incarnation, 1);
    assert.deepEqual(m.meta, EMPTY);
  });

  it('a dead member may be replaced from another address after DeadNodeReclaimTime, at a lower incarnation', () => {
    const h = harness({ config: { deadNodeReclaimTime: 10 }, given: [alive('a', 5, { port: 8000 })] });
    h.core.receive(dead('a', 5, 'b'));
    h.advanceTo(5);
    h.clear();
    const replacement = alive('a', 1, { addr: Uint8Array.of(127, 0, 0, 2), port: 9000, meta: Uint8Array.of(1) });
    h.core.receive(replacement);
    assertSilent(h.rec);
    h.advanceTo(11);
    h.core.receive(replacement);
    assert.deepEqual(ev(h.rec), ['joined:a']);
    assert.equal(h.rec.gossip.length, 1);
    assert.equal(h.rec.viewChanged, 1);
    const m = h.core.member('a')!;
    assert.equal(m.address, '127.0.0.2');
    assert.equal(m.port, 9000);
    assert.equal(m.incarnation, 1);
  });

  it('with DeadNodeReclaimTime 0 a dead member is never replaced from another address', () => {
    const h = harness({ given: [alive('a', 5)] });
    h.core.receive(dead('a', 5, 'b'));
    h.advanceTo(1_000_000);
    h.clear();
    h.core.receive(alive('a', 9, { addr: Uint8Array.of(127, 0, 0, 2) }));
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'dead');
  });

  it('an alive with an invalid vsn is ignored', () => {
    const h = harness();
    h.core.receive(alive('a', 1, { vsn: Uint8Array.of(0, 5, 2, 2, 5, 5) }));
    assertSilent(h.rec);
    assert.equal(h.core.member('a'), undefined);
  });
});

describe('accusations of ourselves (refutation)', () => {
  it('given me at 5, receive suspect(me, 5) → gossip alive(me, 6), refuted once (SuspectNode_Refute)', () => {
    const h = harness();
    h.core.receive(suspect('me', 5, 'a'));
    assert.deepEqual(h.rec.gossip, [{ key: 'me', msg: alive('me', 6) }]);
    assert.equal(h.rec.refuted, 1);
    assert.equal(h.rec.viewChanged, 1);
    assert.deepEqual(ev(h.rec), [], 'no member event about ourselves');
    assert.equal(h.core.local.incarnation, 6);
    assert.equal(h.core.awareness.score, 1, 'Lifeguard dings our health');
  });

  it('the accuser is also told our refutation directly (gossip alone can miss the member whose timer runs first)', () => {
    const h = harness();
    h.core.receive(suspect('me', 5, 'a'));
    assert.deepEqual(h.rec.told, [{ member: 'a', msg: alive('me', 6) }]);
  });

  it('a stale accusation of us (older than our incarnation): that accuser is told our alive, once per probe interval; not while leaving', () => {
    const h = harness();
    h.core.receive(suspect('me', 5, 'a'));
    h.rec.told = [];
    h.core.receive(suspect('me', 5, 'b'));
    h.core.receive(dead('me', 5, 'b'));
    h.core.receive(suspect('me', 5, 'c'));
    assert.deepEqual(h.rec.told, [{ member: 'b', msg: alive('me', 6) }, { member: 'c', msg: alive('me', 6) }]);
    assert.equal(h.rec.refuted, 1, 'refuted once');
    h.advanceTo(h.config.probeInterval);
    h.core.receive(suspect('me', 5, 'b'));
    assert.equal(h.rec.told.length, 3);
    h.core.leave();
    h.advanceTo(3 * h.config.probeInterval);
    h.core.receive(suspect('me', 5, 'c'));
    assert.equal(h.rec.told.length, 3, 'a leaving node lets its death stand');
  });

  it('given me at 5, receive dead(me, 9) → gossip alive(me, 10) (DeadNode_Refute)', () => {
    const h = harness();
    h.core.receive(dead('me', 9, 'a'));
    assert.deepEqual(h.rec.gossip, [{ key: 'me', msg: alive('me', 10) }]);
    assert.equal(h.rec.refuted, 1);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('me')?.state, 'alive');
  });

  it('given me at 5, receive alive(me, 5) with other metadata → gossip alive(me, 6) with ours (AliveNode_Refute)', () => {
    const h = harness();
    h.core.receive(alive('me', 5, { meta: Uint8Array.of(0x66, 0x6f, 0x6f) }));
    assert.deepEqual(h.rec.gossip, [{ key: 'me', msg: alive('me', 6) }]);
    assert.equal(h.rec.refuted, 1);
    assert.deepEqual(h.core.local.meta, EMPTY);
  });

  it('stale accusations and our own announcement change nothing', () => {
    const h = harness();
    h.core.receive(suspect('me', 4, 'a'));
    h.core.receive(dead('me', 4, 'a'));
    h.core.receive(alive('me', 4, { meta: Uint8Array.of(1) }));
    h.core.receive(alive('me', 5));
    assertSilent(h.rec);
    assert.equal(h.core.local.incarnation, 5);
    assert.equal(h.core.awareness.score, 0);
  });

  it('another node claiming our name from another address: not refuted, a warning', () => {
    const h = harness();
    h.core.receive(alive('me', 9, { addr: Uint8Array.of(10, 9, 9, 9) }));
    assertSilent(h.rec);
    assert.deepEqual(h.rec.logs.map((l) => l.level), ['warn']);
    assert.equal(h.core.local.incarnation, 5);
  });

  it('leave() returns dead(me) from me; afterwards accusations and alives about us are let stand', () => {
    const h = harness();
    const d = h.core.leave();
    assert.deepEqual(d, dead('me', 5, 'me'));
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('me')?.state, 'left');
    h.clear();
    h.core.receive(dead('me', 5, 'me'));
    h.core.receive(dead('me', 7, 'a'));
    h.core.receive(suspect('me', 5, 'a'));
    h.core.receive(alive('me', 6, { meta: Uint8Array.of(1) }));
    assertSilent(h.rec);
    assert.equal(h.core.local.incarnation, 5, 'the leave message stays the newest word about us');
  });
});

describe('suspect', () => {
  it('about an unknown node: nothing (SuspectNode_NoNode)', () => {
    const h = harness();
    h.core.receive(suspect('a', 1, 'b'));
    assertSilent(h.rec);
    assert.deepEqual(h.core.members().map((m) => m.name), ['me']);
  });

  it('about a known member: suspected, re-gossiped; after the timeout failed and dead(from me) gossiped (SuspectNode)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.advanceTo(100);
    const s = suspect('a', 1, 'b');
    h.core.receive(s);
    assert.deepEqual(ev(h.rec), ['suspected:a']);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: s }]);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('a')?.stateChangedAt, 100);
    // me + a: n = 2, too few for confirmations, so the timeout is the minimum.
    const timeout = suspicionTimeoutMs(suspicionBounds(h.config, 2), 0);
    assert.equal(timeout, 4000);
    h.clear();
    h.advanceTo(100 + timeout - 1);
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'suspect');
    h.advanceTo(100 + timeout);
    assert.deepEqual(ev(h.rec), ['failed:a']);
    assert.equal(h.rec.events[0]!.at, 100 + timeout);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: dead('a', 1, 'me') }]);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('a')?.state, 'dead');
    assert.equal(h.core.member('a')?.stateChangedAt, 100 + timeout);
  });

  it('the same suspicion again: nothing (SuspectNode_DoubleSuspect)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(suspect('a', 1, 'b'));
    h.clear();
    h.core.receive(suspect('a', 1, 'b'));
    assertSilent(h.rec);
  });

  it('an older suspicion: nothing (SuspectNode_OldSuspect)', () => {
    const h = harness({ given: [alive('a', 10)] });
    h.core.receive(suspect('a', 1, 'b'));
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'alive');
  });

  it('a second accuser: confirmed() once, re-gossiped, no new event, and the timeout shrinks', () => {
    // me + a, b, c: n = 4, so k = SuspicionMult − 2 = 2 confirmations are awaited.
    const h = harness({ given: [alive('a', 1), alive('b', 1), alive('c', 1)] });
    const bounds = suspicionBounds(h.config, 4);
    assert.equal(bounds.k, 2);
    h.core.receive(suspect('a', 1, 'b'));
    h.clear();
    const second = suspect('a', 1, 'c');
    h.core.receive(second);
    assert.equal(h.rec.confirmed, 1);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: second }]);
    assert.deepEqual(ev(h.rec), []);
    assert.equal(h.rec.viewChanged, 1);
    h.clear();
    // the same accuser again is not independent
    h.core.receive(suspect('a', 1, 'c'));
    assertSilent(h.rec);
    const shrunk = suspicionTimeoutMs(bounds, 1);
    assert.ok(shrunk < bounds.maxMs);
    h.advanceTo(shrunk - 1);
    assert.equal(h.core.member('a')?.state, 'suspect');
    h.advanceTo(shrunk);
    assert.deepEqual(ev(h.rec), ['failed:a']);
  });

  it('with too few members for confirmations, a second accuser confirms nothing', () => {
    const h = harness({ given: [alive('a', 1), alive('b', 1)] });
    assert.equal(suspicionBounds(h.config, 3).k, 0);
    h.core.receive(suspect('a', 1, 'b'));
    h.clear();
    h.core.receive(suspect('a', 1, 'c'));
    assertSilent(h.rec);
  });

  it('probeFailed: we suspect the member ourselves, at its incarnation', () => {
    const h = harness({ given: [alive('a', 3)] });
    h.core.probeFailed('a');
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: suspect('a', 3, 'me') }]);
    assert.deepEqual(ev(h.rec), ['suspected:a']);
    h.clear();
    h.core.probeFailed('nobody');
    assertSilent(h.rec);
  });

  it('about a dead member: nothing', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(dead('a', 1, 'b'));
    h.clear();
    h.core.receive(suspect('a', 1, 'b'));
    h.core.receive(suspect('a', 2, 'b'));
    assertSilent(h.rec);
  });
});

describe('dead', () => {
  it('about an unknown node: nothing (DeadNode_NoNode)', () => {
    const h = harness();
    h.core.receive(dead('a', 1, 'b'));
    assertSilent(h.rec);
  });

  it('about a known member from another node: failed, re-gossiped (DeadNode)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.advanceTo(50);
    const d = dead('a', 1, 'b');
    h.core.receive(d);
    assert.deepEqual(ev(h.rec), ['failed:a']);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: d }]);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('a')?.stateChangedAt, 50);
  });

  it('from the member itself: left; then it may come back from another address (DeadNodeLeft)', () => {
    const h = harness({ given: [alive('a', 1, { port: 8000 })] });
    const d = dead('a', 1, 'a');
    h.core.receive(d);
    assert.deepEqual(ev(h.rec), ['left:a']);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: d }]);
    assert.equal(h.core.member('a')?.state, 'left');
    h.clear();
    h.core.receive(alive('a', 3, { addr: Uint8Array.of(127, 0, 0, 2), port: 9000, meta: Uint8Array.of(1) }));
    assert.deepEqual(ev(h.rec), ['joined:a']);
    const m = h.core.member('a')!;
    assert.equal(m.address, '127.0.0.2');
    assert.equal(m.port, 9000);
    assert.deepEqual(m.meta, Uint8Array.of(1));
  });

  it('a second dead: nothing (DeadNode_Double)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(dead('a', 1, 'b'));
    h.clear();
    h.core.receive(dead('a', 2, 'b'));
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'dead');
  });

  it('its own leave after we declared it dead: left, and the leave is passed on (memberlist ignores it)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(dead('a', 1, 'b'));
    h.clear();
    h.core.receive(dead('a', 0, 'a'));
    assertSilent(h.rec);
    h.core.receive(dead('a', 1, 'a'));
    assert.equal(h.core.member('a')?.state, 'left');
    assert.deepEqual(h.rec.events.map((e) => e.type), ['left']);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: dead('a', 1, 'a') }]);
  });

  it('an older dead: nothing (DeadNode_OldDead)', () => {
    const h = harness({ given: [alive('a', 10)] });
    h.core.receive(dead('a', 1, 'b'));
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'alive');
  });

  it('an alive replayed at the dead incarnation: stays dead (DeadNode_AliveReplay)', () => {
    const h = harness({ given: [alive('a', 10)] });
    h.core.receive(dead('a', 10, 'b'));
    h.clear();
    h.core.receive(alive('a', 10));
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'dead');
    h.core.receive(alive('a', 11));
    assert.deepEqual(ev(h.rec), ['joined:a']);
  });

  it('a suspect member declared dead: failed, and its suspicion timer no longer fires', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(suspect('a', 1, 'b'));
    h.core.receive(dead('a', 1, 'b'));
    h.clear();
    h.advanceTo(1_000_000);
    assertSilent(h.rec);
  });
});

describe('a leave is never recorded as a failure where we saw it', () => {
  /** a and b alive; a left (its own dead) */
  function leftCluster() {
    const h = harness({ given: [alive('a', 3), alive('b', 1)] });
    h.core.receive(dead('a', 3, 'a'));
    h.clear();
    h.rec.told = [];
    return h;
  }

  it('a suspicion of a member we know left: the accuser is told the leave and the leave is gossiped again', () => {
    const h = leftCluster();
    h.advanceTo(1_000);
    h.core.receive(suspect('a', 3, 'b'));
    assert.deepEqual(h.rec.told, [{ member: 'b', msg: dead('a', 3, 'a') }]);
    assert.deepEqual(h.rec.gossip, [{ key: 'a', msg: dead('a', 3, 'a') }]);
    assert.equal(h.core.member('a')?.state, 'left', 'our record is unchanged');
    assert.deepEqual(ev(h.rec), []);
  });

  it('a dead from someone else about it: answered the same way; its own repeated leave is not an accusation', () => {
    const h = leftCluster();
    h.core.receive(dead('a', 3, 'a'));
    assert.deepEqual(h.rec.told, []);
    h.core.receive(dead('a', 3, 'b'));
    assert.deepEqual(h.rec.told, [{ member: 'b', msg: dead('a', 3, 'a') }]);
  });

  it('at most one answer per member per probe interval (every copy of the gossip would answer otherwise)', () => {
    const h = leftCluster();
    h.advanceTo(10_000);
    h.core.receive(suspect('a', 3, 'b'));
    h.core.receive(suspect('a', 3, 'c'));
    h.advanceTo(10_000 + h.config.probeInterval - 1);
    h.core.receive(suspect('a', 3, 'b'));
    assert.equal(h.rec.told.length, 1);
    h.advanceTo(10_000 + h.config.probeInterval);
    h.core.receive(suspect('a', 3, 'b'));
    assert.equal(h.rec.told.length, 2);
  });

  it('an accusation at a newer incarnation than the leave is not answered (the member came back)', () => {
    const h = leftCluster();
    h.core.receive(suspect('a', 4, 'b'));
    assert.deepEqual(h.rec.told, []);
    assert.deepEqual(h.rec.gossip, []);
  });

  it('leaveOf: the leave message of a member that left, nothing for the others', () => {
    const h = leftCluster();
    assert.deepEqual(h.core.leaveOf('a'), dead('a', 3, 'a'));
    assert.equal(h.core.leaveOf('b'), undefined);
    assert.equal(h.core.leaveOf('nobody'), undefined);
  });

  it('the accuser side: a suspect member whose leave arrives is left, not failed', () => {
    const h = harness({ given: [alive('a', 3)] });
    h.core.probeFailed('a');
    h.core.receive(dead('a', 3, 'a'));
    assert.deepEqual(ev(h.rec), ['suspected:a', 'left:a']);
  });
});

describe("Serf's leave intent (leaveIntent)", () => {
  it('a member whose leave intent we hold and who then fails is left: by a dead from another, or when our suspicion runs out', () => {
    const h = harness({ given: [alive('a', 1), alive('b', 1), alive('c', 1)] });
    assert.equal(h.core.leaveIntent('a'), true);
    assert.equal(h.core.leaveIntent('a'), false, 'a second intent changes nothing');
    assert.equal(h.core.member('a')?.state, 'alive', 'leaving is not a state users see');
    h.core.receive(dead('a', 1, 'b'));
    assert.equal(h.core.leaveIntent('b'), true);
    h.core.probeFailed('b');
    h.advanceTo(60_000);
    assert.deepEqual(ev(h.rec), ['left:a', 'suspected:b', 'left:b']);
    // the expiry is still announced as memberlist does: dead from us
    assert.ok(h.rec.gossip.some((g) => g.msg.type === 'dead' && g.msg.node === 'b' && g.msg.from === 'me'));
  });

  it('an intent for a member already recorded failed turns it into left (Serf: EventMemberLeave, forced)', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.receive(dead('a', 1, 'b'));
    h.clear();
    assert.equal(h.core.leaveIntent('a'), true);
    assert.deepEqual(ev(h.rec), ['left:a']);
    assert.equal(h.rec.viewChanged, 1);
  });

  it('a newer alive is a new life: the intent no longer holds', () => {
    const h = harness({ given: [alive('a', 1)] });
    h.core.leaveIntent('a');
    h.core.receive(alive('a', 2));
    h.core.receive(dead('a', 2, 'b'));
    assert.deepEqual(ev(h.rec), ['failed:a']);
  });

  it('an intent about ourselves or an unknown member changes nothing', () => {
    const h = harness({ given: [alive('a', 1)] });
    assert.equal(h.core.leaveIntent('me'), false);
    assert.equal(h.core.leaveIntent('nobody'), false);
    assert.equal(h.core.leaveIntent('me', true), false);
    assert.equal(h.core.leaveIntent('nobody', true), false);
    assert.equal(h.core.joinIntent('me'), false);
    assert.equal(h.core.joinIntent('nobody'), false);
    assertSilent(h.rec);
  });

  it('issue 13: a failed member memberlist has already forgotten (reaped) still becomes left (serf force-leave, late)', () => {
    const h = harness({ config: { gossipToTheDeadTime: 30_000 }, given: [alive('a', 1), alive('b', 1)] });
    h.core.receive(dead('b', 1, 'a'));
    h.advanceTo(30_001);
    h.wrap();
    assert.equal(h.core.size, 2, 'memberlist forgot b');
    h.clear();
    assert.equal(h.core.leaveIntent('b'), true);
    assert.deepEqual(ev(h.rec), ['left:b']);
    assert.equal(h.core.member('b')?.state, 'left');
    assert.equal(h.core.size, 2, 'still forgotten: not counted, not gossiped to');
    assert.deepEqual(h.core.pushState().map((r) => r.name), ['me', 'a']);
  });

  it('prune: a failed member becomes left, then is removed from the list (events left, reaped); one view change', () => {
    const h = harness({ given: [alive('a', 1), alive('b', 1)] });
    h.core.receive(dead('b', 1, 'a'));
    h.clear();
    assert.equal(h.core.leaveIntent('b', true), true);
    assert.deepEqual(ev(h.rec), ['left:b', 'reaped:b']);
    assert.equal(h.rec.events[1]!.member.state, 'left', 'the reaped event carries the last state it was listed in');
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.member('b'), undefined);
    assert.deepEqual(h.core.members().map((m) => m.name), ['me', 'a']);
    assert.equal(h.core.size, 2);
    assert.deepEqual(h.core.countByState(), { alive: 2, suspect: 0, dead: 0, left: 0 });
    // memberlist gossip about it from a peer that still has it dead does not bring it back
    h.core.receive(dead('b', 1, 'a'));
    assert.equal(h.core.member('b'), undefined);
    // a new life does
    h.core.receive(alive('b', 2));
    assert.equal(h.core.member('b')?.state, 'alive');
  });

  it('prune: a member that left is removed; a live member is only marked leaving, and a join intent undoes that', () => {
    const h = harness({ given: [alive('a', 1), alive('b', 1), alive('c', 1)] });
    h.core.receive(dead('b', 1, 'b'));
    h.clear();
    assert.equal(h.core.leaveIntent('b', true), true);
    assert.deepEqual(ev(h.rec), ['reaped:b']);
    h.clear();
    assert.equal(h.core.leaveIntent('c', true), true, 'c is leaving');
    assert.equal(h.core.member('c')?.state, 'alive', 'a live member is not erased');
    assert.deepEqual(ev(h.rec), []);
    assert.equal(h.core.joinIntent('c'), true, 'c refuted with a join intent');
    assert.equal(h.core.joinIntent('c'), false, 'nothing left to undo');
    h.core.receive(dead('c', 1, 'a'));
    assert.deepEqual(ev(h.rec), ['failed:c'], 'its failure is a failure, not a leave');
  });
});

describe('mergePushPull', () => {
  const record = (name: string, state: number, incarnation: number, over: Partial<PushNodeState> = {}): PushNodeState => ({
    name,
    addr: ipOf(name),
    port: PORT,
    meta: EMPTY,
    incarnation,
    state,
    vsn: VSN,
    ...over,
  });

  it('merges like memberlist: alive recovers, suspect suspects, dead only suspects, new joins (MergeState)', () => {
    const h = harness({ given: [alive('test1', 1), alive('test2', 1), alive('test3', 1)] });
    h.core.receive(suspect('test1', 1, 'x'));
    h.clear();
    const why = h.core.mergePushPull([
      record('test1', WireState.alive, 2),
      record('test2', WireState.suspect, 1),
      record('test3', WireState.dead, 1),
      record('test4', WireState.alive, 2),
    ]);
    assert.equal(why, null);
    const state = (n: string) => [h.core.member(n)?.state, h.core.member(n)?.incarnation];
    assert.deepEqual(state('test1'), ['alive', 2]);
    assert.deepEqual(state('test2'), ['suspect', 1]);
    assert.deepEqual(state('test3'), ['suspect', 1], 'a remote dead is only a suspicion here');
    assert.deepEqual(state('test4'), ['alive', 2]);
    assert.deepEqual(ev(h.rec), ['recovered:test1', 'suspected:test2', 'suspected:test3', 'joined:test4']);
    assert.deepEqual(
      h.rec.gossip.map((g) => g.msg),
      [
        alive('test1', 2),
        suspect('test2', 1, 'me'),
        suspect('test3', 1, 'me'),
        alive('test4', 2),
      ],
    );
    assert.equal(h.rec.viewChanged, 4);
  });

  it('a left record is the member’s own leave', () => {
    const h = harness({ given: [alive('a', 1)] });
    assert.equal(h.core.mergePushPull([record('a', WireState.left, 1)]), null);
    assert.deepEqual(ev(h.rec), ['left:a']);
    assert.deepEqual(h.rec.gossip.map((g) => g.msg), [dead('a', 1, 'a')]);
  });

  it('a record saying we are dead is refuted; our own record echoed back is not', () => {
    const h = harness();
    assert.equal(h.core.mergePushPull([record('me', WireState.alive, 5, { addr: IP_ME })]), null);
    assertSilent(h.rec);
    assert.equal(h.core.mergePushPull([record('me', WireState.dead, 5, { addr: IP_ME })]), null);
    assert.deepEqual(h.rec.gossip, [{ key: 'me', msg: alive('me', 6) }]);
    assert.equal(h.rec.refuted, 1);
  });

  it('a record in an unknown state is skipped with a debug log', () => {
    const h = harness();
    assert.equal(h.core.mergePushPull([record('a', 9, 1)]), null);
    assertSilent(h.rec);
    assert.equal(h.core.member('a'), undefined);
    assert.deepEqual(h.rec.logs.map((l) => l.level), ['debug']);
  });

  it('refuses incompatible protocol versions: returns why, changes nothing', () => {
    const h = harness({ given: [alive('a', 1)] });
    // A node that only speaks protocol 1: our PCur 2 is above its PMax.
    const old = record('b', WireState.alive, 3, { vsn: Uint8Array.of(1, 1, 1, 2, 5, 5) });
    const why = h.core.mergePushPull([record('a', WireState.dead, 1), old]);
    assert.equal(typeof why, 'string');
    assert.match(why!, /protocol version/);
    assertSilent(h.rec);
    assert.equal(h.core.member('a')?.state, 'alive');
    assert.equal(h.core.member('b'), undefined);
    // A node speaking a newer protocol than we understand.
    const newer = record('c', WireState.alive, 3, { vsn: Uint8Array.of(1, 6, 6, 2, 5, 5) });
    assert.match(h.core.mergePushPull([newer]) ?? '', /node c speaks protocol version 6/);
    assertSilent(h.rec);
  });
});

describe('reaping (GossipToTheDeadTime, ReconnectTimeout)', () => {
  const config = { gossipToTheDeadTime: 30_000, reconnectTimeout: 60_000, tombstoneTimeout: 90_000 };

  it('a dead member is kept until the first wrap after GossipToTheDeadTime, then not counted or gossiped to, still listed', () => {
    const h = harness({ config, given: [alive('a', 1), alive('b', 3)] });
    h.core.receive(dead('b', 3, 'a'));
    h.advanceTo(10_000);
    h.clear();
    h.wrap();
    assert.equal(h.rec.viewChanged, 0, 'too early to reap');
    assert.equal(h.core.size, 3);
    assert.deepEqual(new Set(h.core.gossipTargets(10).map((m) => m.name)), new Set(['a', 'b']), 'the dead still hear gossip so they can refute');

    h.advanceTo(30_001);
    assert.equal(h.core.size, 3, 'not reaped before the probe order wraps');
    h.wrap();
    assert.equal(h.rec.viewChanged, 1, 'reaping is one view change');
    assert.equal(h.core.size, 2);
    assert.deepEqual(h.core.gossipTargets(10).map((m) => m.name), ['a']);
    assert.deepEqual(h.core.pushState().map((r) => r.name), ['me', 'a'], 'memberlist forgot it');
    assert.equal(h.core.member('b')?.state, 'dead', 'Serf still lists it');
    assert.deepEqual(h.core.failedMembers().map((m) => m.name), ['b']);
    assert.equal(h.core.countByState().dead, 1);
    for (let i = 0; i < 5; i++) assert.equal(h.core.nextProbeTarget()?.name, 'a', 'never probed');

    h.clear();
    h.advanceTo(59_000);
    h.wrap();
    assert.equal(h.rec.viewChanged, 0);
    assert.ok(h.core.member('b'));
    h.advanceTo(60_001);
    h.wrap();
    assert.equal(h.rec.viewChanged, 1, 'forgetting is one view change');
    assert.equal(h.core.member('b'), undefined);
    assert.deepEqual(h.core.members().map((m) => m.name), ['me', 'a']);
  });

  it('a failed member is forgotten only once reaped, even with a ReconnectTimeout shorter than GossipToTheDeadTime', () => {
    const h = harness({ config: { ...config, reconnectTimeout: 10_000 }, given: [alive('a', 1), alive('b', 1)] });
    h.core.receive(dead('b', 1, 'a'));
    h.advanceTo(20_001);
    h.clear();
    h.wrap();
    assert.equal(h.rec.viewChanged, 0);
    assert.equal(h.core.member('b')?.state, 'dead', 'memberlist still gossips to it: kept');
    assert.equal(h.core.size, 3);
    h.advanceTo(30_001);
    h.wrap();
    assert.equal(h.rec.viewChanged, 1, 'reaped and forgotten in one change');
    assert.equal(h.core.member('b'), undefined);
    assert.equal(h.core.size, 2);
  });

  it('a member that left is listed until TombstoneTimeout', () => {
    const h = harness({ config, given: [alive('a', 1), alive('b', 1)] });
    h.core.receive(dead('b', 1, 'b'));
    h.advanceTo(60_001);
    h.wrap();
    assert.equal(h.core.size, 2);
    assert.equal(h.core.member('b')?.state, 'left', 'a failed one would be gone by now; a left one stays');
    h.clear();
    h.advanceTo(90_001);
    h.wrap();
    assert.equal(h.core.member('b'), undefined);
    assert.deepEqual(ev(h.rec), ['reaped:b'], "Serf's EventMemberReap");
  });

  it('a reaped member is unknown to accusations, and comes back with an alive at any incarnation > 0 as joined', () => {
    const h = harness({ config, given: [alive('a', 1), alive('b', 7)] });
    h.core.receive(dead('b', 7, 'a'));
    h.advanceTo(30_001);
    h.wrap();
    h.clear();
    h.core.receive(suspect('b', 7, 'a'));
    h.core.receive(dead('b', 9, 'a'));
    h.core.receive(alive('b', 0));
    assertSilent(h.rec);

    h.advanceTo(30_500);
    const back = alive('b', 1);
    h.core.receive(back);
    assert.deepEqual(ev(h.rec), ['joined:b']);
    assert.deepEqual(h.rec.gossip, [{ key: 'b', msg: back }]);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.size, 3);
    const b = h.core.member('b')!;
    assert.deepEqual([b.state, b.incarnation, b.stateChangedAt], ['alive', 1, 30_500]);
    // probed again: within this pass or the next
    const probed = new Set<string>();
    for (let i = 0; i < 4; i++) probed.add(h.core.nextProbeTarget()!.name);
    assert.ok(probed.has('b'));
  });
});

describe('our own announcements', () => {
  it('setMeta while running: alive one incarnation up is gossiped; before start only the view changes', () => {
    const h = harness();
    h.core.setMeta(Uint8Array.of(1), true);
    assert.deepEqual(h.rec.gossip, [{ key: 'me', msg: alive('me', 6, { meta: Uint8Array.of(1) }) }]);
    assert.equal(h.rec.viewChanged, 1);
    h.clear();
    h.core.setMeta(Uint8Array.of(2), false);
    assert.deepEqual(h.rec.gossip, []);
    assert.equal(h.rec.viewChanged, 1);
    assert.equal(h.core.local.incarnation, 7);
    // that announcement echoed back is ours
    h.clear();
    h.core.receive(alive('me', 7, { meta: Uint8Array.of(2) }));
    assertSilent(h.rec);
  });
});
