// Serf's member intents: the bytes are checked against messages captured from real
// serf 0.8.2 agents (test/fixtures/memberlist/captured-serf.json), the behaviour
// against Serf's handleNodeLeaveIntent / handleNodeJoinIntent / MergeRemoteState.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodePacket, tryDecodeStream } from '../../src/wire/index.js';
import { LamportClock } from '../../src/serf/lamport.js';
import { decodeSerfMessage, encodeSerfIntent, isSerfMessage } from '../../src/serf/messages.js';
import { SerfIntents } from '../../src/serf/intents.js';
import { encodeEnvelope } from '../../src/messaging/user-envelope.js';

const file = JSON.parse(readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8')) as {
  packets: Array<{ run: string; proto: string; hex: string }>;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** every Serf user message and push-pull user state in the plaintext captures */
function captured() {
  const user: Uint8Array[] = [];
  const states: Uint8Array[] = [];
  for (const p of file.packets) {
    if (p.run === 'encrypted-2node') continue;
    const wire = new Uint8Array(Buffer.from(p.hex, 'hex'));
    if (p.proto === 'udp') {
      for (const m of decodePacket(wire).messages) if (m.type === 'user') user.push(m.payload);
    } else {
      const r = tryDecodeStream(wire);
      if (r.status === 'ok' && r.message.type === 'pushPull' && r.message.userState) states.push(r.message.userState);
    }
  }
  return { user, states };
}

describe('Serf messages (captured from serf 0.8.2)', () => {
  const { user, states } = captured();

  it('the capture holds leave and join intents and push-pull states', () => {
    assert.ok(user.some((u) => u[0] === 0));
    assert.ok(user.some((u) => u[0] === 1));
    assert.ok(states.length >= 2);
  });

  it('a leave intent decodes, and ours encodes to the very bytes serf sent', () => {
    const leave = user.find((u) => u[0] === 0)!;
    const d = decodeSerfMessage(leave);
    assert.deepEqual(d, { ok: true, message: { type: 'leave', ltime: 2n, node: 'node-b', prune: false } });
    assert.equal(hex(encodeSerfIntent({ type: 'leave', ltime: 2n, node: 'node-b' })), hex(leave));
  });

  it('a join intent decodes, and ours encodes to the very bytes serf sent', () => {
    const join = user.find((u) => u[0] === 1)!;
    const d = decodeSerfMessage(join);
    assert.ok(d.ok && d.message.type === 'join');
    if (d.ok && d.message.type === 'join') assert.equal(hex(encodeSerfIntent(d.message)), hex(join));
  });

  it("a push-pull state: its Lamport time, status times and left members", () => {
    const d = decodeSerfMessage(states[0]!);
    assert.ok(d.ok && d.message.type === 'pushPull');
    if (d.ok && d.message.type === 'pushPull') {
      assert.equal(d.message.ltime, 1n);
      assert.deepEqual([...d.message.statusLTimes.keys()].length, 1);
      assert.deepEqual(d.message.leftMembers, []);
    }
  });

  it('user events and queries are read (serf-events, serf-query-messages tests); key and conflict types are recognised, not read', () => {
    const ev = user.find((u) => u[0] === 3)!;
    assert.equal(decodeSerfMessage(ev).ok && (decodeSerfMessage(ev) as { message: { type: string } }).message.type, 'userEvent');
    assert.deepEqual(decodeSerfMessage(new Uint8Array([4, 0x80])).ok, false, 'a query without its fields');
    assert.deepEqual(decodeSerfMessage(new Uint8Array([7, 0x80])), { ok: true, message: { type: 'other', messageType: 7 } });
  });

  it('never throws: rxswim envelopes, every truncation and mistyped fields give a drop reason', () => {
    assert.equal(isSerfMessage(encodeEnvelope({ from: 'a', id: 1, topic: '', broadcast: true, payload: new Uint8Array(0) })), false);
    assert.equal(isSerfMessage(new Uint8Array(0)), false);
    const leave = encodeSerfIntent({ type: 'leave', ltime: 7n, node: 'x' });
    for (let n = 1; n < leave.length; n++) {
      const d = decodeSerfMessage(leave.subarray(0, n));
      assert.equal(d.ok, false, `truncated at ${n}`);
    }
    const mistyped = Uint8Array.of(0, 0x82, 0xa5, ...Buffer.from('LTime'), 0xa1, 0x78, 0xa4, ...Buffer.from('Node'), 0xa1, 0x78);
    assert.deepEqual(decodeSerfMessage(mistyped).ok, false);
    const notAMap = Uint8Array.of(2, 0x93, 1, 2, 3);
    assert.deepEqual(decodeSerfMessage(notAMap), { ok: false, reason: 'malformed', detail: 'Serf message body is not a map' });
  });
});

describe('LamportClock (serf/lamport.go)', () => {
  it('increment returns the new time; witness moves one past what it saw, never back', () => {
    const c = new LamportClock();
    assert.equal(c.increment(), 1n);
    c.witness(10n);
    assert.equal(c.time(), 11n);
    c.witness(3n);
    assert.equal(c.time(), 11n);
    assert.equal(c.increment(), 12n);
  });
});

function intents(opts: { running?: boolean } = {}) {
  const leaving: string[] = [];
  const pruned: string[] = [];
  const staying: string[] = [];
  const rebroadcast: Array<{ key: string; bytes: string }> = [];
  const applied: string[] = [];
  const s = new SerfIntents({
    name: 'me',
    leaving: (n, prune) => void (prune ? pruned : leaving).push(n),
    staying: (n) => void staying.push(n),
    rebroadcast: (key, m) => void rebroadcast.push({ key, bytes: hex(m) }),
    applied: (t) => void applied.push(t),
    running: () => opts.running ?? true,
  });
  return { s, leaving, pruned, staying, rebroadcast, applied };
}

/** messagePushPull as Serf encodes it, with what rxswim reads: LTime, StatusLTimes, LeftMembers */
function serfState(ltime: number, status: Record<string, number>, left: string[]): Uint8Array {
  const str = (t: string) => Buffer.from([0xa0 | t.length, ...Buffer.from(t)]);
  const uint = (n: number) => Buffer.from(n < 128 ? [n] : [0xcd, n >> 8, n & 0xff]);
  const entries = Object.entries(status);
  return new Uint8Array(Buffer.concat([
    Buffer.from([2, 0x83]),
    str('LTime'), uint(ltime),
    str('LeftMembers'), Buffer.from([0x90 | left.length]), ...left.map(str),
    str('StatusLTimes'), Buffer.from([0x80 | entries.length]), ...entries.flatMap(([k, v]) => [str(k), uint(v)]),
  ]));
}

describe('SerfIntents', () => {
  it('a new leave intent: the member is leaving, the intent is passed on once; an older or equal one is not', () => {
    const h = intents();
    const i5 = encodeSerfIntent({ type: 'leave', ltime: 5n, node: 'a' });
    assert.equal(h.s.receive(i5), undefined);
    assert.equal(h.s.receive(i5), undefined);
    assert.equal(h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 4n, node: 'a' })), undefined);
    assert.deepEqual(h.leaving, ['a']);
    assert.deepEqual(h.rebroadcast, [{ key: 'serf:a', bytes: hex(i5) }]);
    assert.deepEqual(h.applied, ['leave']);
  });

  it('a join after a leave (a new life), then a newer leave: leaving again', () => {
    const h = intents();
    h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 5n, node: 'a' }));
    h.s.receive(encodeSerfIntent({ type: 'join', ltime: 6n, node: 'a' }));
    h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 7n, node: 'a' }));
    assert.deepEqual(h.leaving, ['a', 'a']);
    assert.deepEqual(h.applied, ['leave', 'join', 'leave']);
  });

  it('our leave intent is above every Lamport time witnessed, from intents and from push-pull states', () => {
    const h = intents();
    h.s.receive(encodeSerfIntent({ type: 'join', ltime: 41n, node: 'b' }));
    const ours = decodeSerfMessage(h.s.leaveIntent());
    assert.ok(ours.ok && ours.message.type === 'leave');
    if (ours.ok && ours.message.type === 'leave') {
      assert.equal(ours.message.node, 'me');
      assert.ok(ours.message.ltime > 41n);
    }
    const { states } = captured();
    const h2 = intents();
    assert.equal(h2.s.receiveState(states[0]!), undefined);
    assert.ok(h2.s.clock.time() >= 1n);
  });

  it("Serf's push-pull left members are leaving members (at one past their status time), not passed on", () => {
    const h = intents();
    // a state with LTime 9, StatusLTimes {x: 4}, LeftMembers [x], built as Serf encodes it
    const body = Buffer.concat([
      Buffer.from([2, 0x83]),
      Buffer.from([0xa5]), Buffer.from('LTime'), Buffer.from([9]),
      Buffer.from([0xab]), Buffer.from('LeftMembers'), Buffer.from([0x91, 0xa1]), Buffer.from('x'),
      Buffer.from([0xac]), Buffer.from('StatusLTimes'), Buffer.from([0x81, 0xa1]), Buffer.from('x'), Buffer.from([4]),
    ]);
    assert.equal(h.s.receiveState(new Uint8Array(body)), undefined);
    assert.deepEqual(h.leaving, ['x']);
    assert.deepEqual(h.rebroadcast, []);
    // the same leave arriving as an intent at LTime 5 is not new
    h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 5n, node: 'x' }));
    assert.deepEqual(h.leaving, ['x']);
  });

  it('a stale leave intent about us while running is refuted with a join at a later time; not while leaving', () => {
    const h = intents();
    h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 3n, node: 'me' }));
    assert.deepEqual(h.leaving, []);
    assert.equal(h.rebroadcast.length, 1);
    const join = decodeSerfMessage(Buffer.from(h.rebroadcast[0]!.bytes, 'hex'));
    assert.ok(join.ok && join.message.type === 'join' && join.message.node === 'me' && join.message.ltime > 3n);
    const off = intents({ running: false });
    off.s.receive(encodeSerfIntent({ type: 'leave', ltime: 3n, node: 'me' }));
    assert.deepEqual(off.rebroadcast, []);
  });

  it("a leave intent with Prune (serf force-leave -prune) says so; its copies are not new", () => {
    const h = intents();
    const bytes = encodeSerfIntent({ type: 'leave', ltime: 8n, node: 'a', prune: true });
    assert.equal(h.s.receive(bytes), undefined);
    assert.equal(h.s.receive(bytes), undefined);
    assert.deepEqual(h.pruned, ['a']);
    assert.deepEqual(h.leaving, []);
    assert.deepEqual(h.rebroadcast, [{ key: 'serf:a', bytes: hex(bytes) }], 'passed on as sent, Prune included');
  });

  it("forceLeave (Serf's forceLeave): the intent is at the clock's time, the clock moves on, it is applied here and its copies are not new", () => {
    const h = intents();
    h.s.receive(encodeSerfIntent({ type: 'join', ltime: 20n, node: 'a' }));
    assert.equal(h.s.clock.time(), 21n);
    const { ltime, message } = h.s.forceLeave('a', false);
    assert.equal(ltime, 21n, 'Serf: LTime = clock.Time(), then Increment()');
    assert.equal(h.s.clock.time(), 22n);
    assert.deepEqual(decodeSerfMessage(message), { ok: true, message: { type: 'leave', ltime: 21n, node: 'a', prune: false } });
    assert.deepEqual(h.leaving, ['a']);
    assert.deepEqual(h.applied, ['join'], 'counted as received: the join, not our own force-leave');
    assert.equal(h.s.receive(message), undefined);
    assert.deepEqual(h.leaving, ['a'], 'our own intent coming back is not new');
    assert.equal(h.rebroadcast.length, 1, 'only the join was passed on: the caller gossips the force-leave, once');
    const pruned = h.s.forceLeave('b', true);
    assert.deepEqual(decodeSerfMessage(pruned.message), { ok: true, message: { type: 'leave', ltime: 22n, node: 'b', prune: true } });
    assert.deepEqual(h.pruned, ['b']);
    // the bytes are Serf's: {LTime, Node, Prune}, as serf 0.8.2 sent its own leave
    assert.equal(hex(pruned.message), hex(encodeSerfIntent({ type: 'leave', ltime: 22n, node: 'b', prune: true })));
  });

  it("a join intent newer than the leave we hold: the member stays (Serf's Leaving → Alive); an older one is not new", () => {
    const h = intents();
    h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 10n, node: 'a' }));
    h.s.receive(encodeSerfIntent({ type: 'join', ltime: 9n, node: 'a' }));
    assert.deepEqual(h.staying, []);
    h.s.receive(encodeSerfIntent({ type: 'join', ltime: 11n, node: 'a' }));
    assert.deepEqual(h.staying, ['a']);
    assert.equal(h.rebroadcast.length, 2, 'the leave and the newer join passed on, not the stale join');
  });

  it("our join intent (Serf's Join) is at the clock's time after the join's push-pull, so our old leave, in a Serf agent's left members, is older", () => {
    const h = intents();
    // a Serf agent that had us left at 14: LeftMembers [me], StatusLTimes {me: 14}, its clock at 30
    assert.equal(h.s.receiveState(serfState(30, { me: 14, x: 3 }, ['me'])), undefined);
    assert.deepEqual(h.rebroadcast.length, 1, 'our old leave (at 15) refuted at once while running');
    const join = decodeSerfMessage(h.s.joinIntent());
    assert.ok(join.ok && join.message.type === 'join' && join.message.node === 'me');
    if (join.ok && join.message.type === 'join') assert.ok(join.message.ltime >= 29n && join.message.ltime > 15n, `join at ${join.message.ltime}`);
    // The same state again (a stale push-pull): its leave of us is not new.
    h.s.receiveState(serfState(30, { me: 14 }, ['me']));
    assert.equal(h.rebroadcast.length, 1);
  });

  it("Serf's push-pull status times are artificial joins (MergeRemoteState): a newer one undoes a leave we hold, an older one does not", () => {
    const h = intents();
    h.s.receive(encodeSerfIntent({ type: 'leave', ltime: 10n, node: 'a' }));
    h.s.receiveState(serfState(12, { a: 9, b: 4 }, []));
    assert.deepEqual(h.staying, ['b'], 'b was news; a at 9 is older than its leave at 10');
    h.s.receiveState(serfState(12, { a: 11 }, []));
    assert.deepEqual(h.staying, ['b', 'a']);
    assert.deepEqual(h.rebroadcast.map((r) => r.key), ['serf:a'], 'push-pull is not passed on');
  });

  it('a status time we already hold moves the clock exactly as applying it would: past our own intent at the clock, not past older ones', () => {
    const h = intents();
    const own = decodeSerfMessage(h.s.leaveIntent());
    assert.ok(own.ok && own.message.type === 'leave');
    const t = h.s.clock.time();
    // our own leave at t, heard back in a push-pull: refused, but witnessing t moves the clock to t + 1, as Serf's witness does
    h.s.receiveState(serfState(0, { me: Number(t) }, []));
    assert.equal(h.s.clock.time(), t + 1n);
    h.s.receiveState(serfState(0, { a: 20 }, []));
    assert.equal(h.s.clock.time(), 21n);
    const staying = h.staying.length;
    // the same state again: nothing is news and the clock (at 21, above 20) stays
    h.s.receiveState(serfState(0, { a: 20 }, []));
    assert.equal(h.s.clock.time(), 21n);
    assert.equal(h.staying.length, staying);
    // an older time for a known member changes nothing either
    h.s.receiveState(serfState(0, { a: 7 }, []));
    assert.equal(h.s.clock.time(), 21n);
    assert.equal(h.staying.length, staying);
  });

  it("statusTimes() is Serf's LocalState once the owner says how names are listed: no pruned or unknown names, leftMembers only while listed left", () => {
    const listed = new Map<string, string>([['alive', 'alive'], ['gone', 'left'], ['back', 'alive']]);
    const s = new SerfIntents({ name: 'me', leaving: () => {}, rebroadcast: () => {}, running: () => true, listed: (n) => listed.get(n) as never });
    s.receive(encodeSerfIntent({ type: 'join', ltime: 3n, node: 'alive' }));
    s.receive(encodeSerfIntent({ type: 'leave', ltime: 4n, node: 'gone' }));
    s.receive(encodeSerfIntent({ type: 'leave', ltime: 5n, node: 'back' })); // a new life whose join intent is still on its way
    s.receive(encodeSerfIntent({ type: 'leave', ltime: 6n, node: 'pruned' })); // erased: not listed any more
    s.joinIntent();
    const t = s.statusTimes();
    assert.deepEqual([...t.statusLTimes.keys()].sort(), ['alive', 'back', 'gone', 'me']);
    assert.deepEqual(t.leftMembers, ['gone']);
  });

  it('malformed Serf messages are dropped with a reason and change nothing', () => {
    const h = intents();
    assert.equal(h.s.receive(Uint8Array.of(0, 0xc1)), 'malformed');
    assert.equal(h.s.receive(Uint8Array.of(0)), 'truncated');
    assert.equal(h.s.receiveState(encodeSerfIntent({ type: 'leave', ltime: 1n, node: 'a' })), 'unknown_type');
    assert.deepEqual(h.leaving, []);
    assert.deepEqual(h.rebroadcast, []);
  });
});

describe("Serf's clock in rxswim's push-pull state", () => {
  it('round trips, and a state without it (an older rxswim) reads as 0', async () => {
    const { encodePushPullState, decodePushPullState } = await import('../../src/messaging/push-pull-state.js');
    const s = decodePushPullState(encodePushPullState({ app: Uint8Array.of(1), recent: [], serfLTime: 42n }));
    assert.equal(s?.serfLTime, 42n);
    const none = decodePushPullState(encodePushPullState({ app: Uint8Array.of(1), recent: [], serfLTime: 0n }));
    assert.equal(none?.serfLTime, 0n);
    assert.ok(!Buffer.from(encodePushPullState({ app: new Uint8Array(0), recent: [], serfLTime: 0n })).includes('SerfLTime'), 'not written when unknown');
  });
});
