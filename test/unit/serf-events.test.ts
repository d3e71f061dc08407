// Serf's user events: the bytes against events captured from real serf 0.8.2 agents
// (test/fixtures/memberlist/captured-serf.json), the rules against Serf's
// handleUserEvent / UserEvent / MergeRemoteState (serf/serf.go, serf/delegate.go).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodePacket, tryDecodeStream } from '../../src/wire/index.js';
import { encodeMsgpack } from '../../src/wire/msgpack.js';
import { decodeSerfMessage, encodeSerfUserEvent } from '../../src/serf/messages.js';
import { EVENT_BUFFER, SerfEvents, USER_EVENT_SIZE_LIMIT, type SerfEventIgnored, type SerfUserEvent } from '../../src/serf/user-events.js';

const file = JSON.parse(readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8')) as {
  packets: Array<{ run: string; proto: string; hex: string; key_base64?: string }>;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

function captured() {
  const events: Uint8Array[] = [];
  const states: Uint8Array[] = [];
  for (const p of file.packets) {
    const wire = new Uint8Array(Buffer.from(p.hex, 'hex'));
    // the encrypted run's key, noted in the capture
    const opts = p.run === 'encrypted-2node' ? { keyring: [new Uint8Array(Buffer.from(p.key_base64!, 'base64'))] } : {};
    if (p.proto === 'udp') {
      for (const m of decodePacket(wire, opts).messages) if (m.type === 'user' && m.payload[0] === 3) events.push(m.payload);
    } else {
      const r = tryDecodeStream(wire, opts);
      if (r.status === 'ok' && r.message.type === 'pushPull' && r.message.userState?.[0] === 2) states.push(r.message.userState);
    }
  }
  return { events, states };
}

function harness(bufferSize?: number) {
  const delivered: SerfUserEvent[] = [];
  const sent: Uint8Array[] = [];
  const ignored: SerfEventIgnored[] = [];
  const s = new SerfEvents({
    deliver: (e) => delivered.push(e),
    rebroadcast: (_k, m) => sent.push(m),
    ignored: (why) => ignored.push(why),
    ...(bufferSize ? { bufferSize } : {}),
  });
  return { s, delivered, sent, ignored };
}

/** a Serf push-pull state as serf 0.8 encodes it: type 2, then its fields sorted by name */
function serfState(eventLTime: number, slots: Array<{ ltime: number; events: Array<[string, string]> } | null>): Uint8Array {
  const body = encodeMsgpack({
    EventLTime: eventLTime,
    Events: slots.map((s) => (s ? { Events: s.events.map(([n, p]) => ({ Name: n, Payload: bytes(p) })), LTime: s.ltime } : null)),
    LTime: 1,
    LeftMembers: [],
    QueryLTime: 1,
    StatusLTimes: {},
  });
  return new Uint8Array([2, ...body]);
}

describe('Serf user events: the wire (captured from serf 0.8.2)', () => {
  const { events, states } = captured();

  it('`serf event deploy v1` decodes, and ours encodes to the very bytes serf sent', () => {
    const v1 = events.find((e) => hex(e).endsWith(hex(bytes('v1'))))!;
    assert.equal(hex(v1), '0384a24343c3a54c54696d6501a44e616d65a66465706c6f79a75061796c6f6164a27631');
    const d = decodeSerfMessage(v1);
    assert.deepEqual(d, { ok: true, message: { type: 'userEvent', ltime: 1n, name: 'deploy', payload: bytes('v1'), cc: true } });
    for (const e of events) {
      const m = decodeSerfMessage(e);
      assert.ok(m.ok && m.message.type === 'userEvent');
      if (m.ok && m.message.type === 'userEvent') assert.equal(hex(encodeSerfUserEvent(m.message)), hex(e));
    }
    // v1 from the plain run, v2 from the encrypted one (decrypted with its key)
    assert.deepEqual(events.map((e) => Buffer.from(e.subarray(-2)).toString()).sort(), ['v1', 'v2']);
  });

  it("a captured push-pull state: the event clock, and Serf's 512 empty buffer slots left out", () => {
    assert.ok(states.length >= 2);
    for (const st of states) {
      const d = decodeSerfMessage(st);
      assert.ok(d.ok && d.message.type === 'pushPull');
      if (d.ok && d.message.type === 'pushPull') {
        assert.equal(d.message.eventLTime, 1n);
        assert.deepEqual(d.message.events, []);
      }
      assert.ok(hex(st).includes('dc0200' + 'c0'.repeat(EVENT_BUFFER)), 'serf sent its whole buffer, 512 nils');
    }
  });

  it('a push-pull state with buffered events decodes slot by slot', () => {
    const d = decodeSerfMessage(serfState(9, [null, { ltime: 5, events: [['a', 'x'], ['b', '']] }, null, { ltime: 8, events: [] }]));
    assert.ok(d.ok && d.message.type === 'pushPull');
    if (d.ok && d.message.type === 'pushPull') {
      assert.equal(d.message.eventLTime, 9n);
      assert.deepEqual(d.message.events, [
        { ltime: 5n, events: [{ name: 'a', payload: bytes('x') }, { name: 'b', payload: bytes('') }] },
        { ltime: 8n, events: [] },
      ]);
    }
  });

  it('a nil Payload (Go nil []byte) and no CC (Serf 0.1) decode as empty and false', () => {
    const m = new Uint8Array([3, ...encodeMsgpack({ LTime: 4, Name: 'x', Payload: null })]);
    assert.deepEqual(decodeSerfMessage(m), { ok: true, message: { type: 'userEvent', ltime: 4n, name: 'x', payload: new Uint8Array(0), cc: false } });
  });

  it('never throws: every truncation and each mistyped field gives a drop reason', () => {
    const ev = encodeSerfUserEvent({ ltime: 300n, name: 'deploy', payload: bytes('v1'), cc: false });
    for (let n = 1; n < ev.length; n++) {
      const d = decodeSerfMessage(ev.subarray(0, n));
      assert.equal(d.ok, false, `truncated at ${n}`);
      if (!d.ok) assert.ok(['truncated', 'malformed'].includes(d.reason), `truncated at ${n}: ${d.reason}`);
    }
    const cases: Array<[string, Record<string, unknown> | number]> = [
      ['not a map', 7],
      ['LTime missing', { Name: 'x' }],
      ['LTime negative', { LTime: -1, Name: 'x' }],
      ['LTime a string', { LTime: 'one', Name: 'x' }],
      ['Name missing', { LTime: 1 }],
      ['Name a number', { LTime: 1, Name: 5 }],
      ['Payload a number', { LTime: 1, Name: 'x', Payload: 5 }],
      ['CC a string', { CC: 'yes', LTime: 1, Name: 'x' }],
    ];
    for (const [what, body] of cases) {
      const d = decodeSerfMessage(new Uint8Array([3, ...encodeMsgpack(body as never)]));
      assert.deepEqual(d.ok ? 'ok' : d.reason, 'malformed', what);
    }
    const badStates: Array<[string, Uint8Array]> = [
      ['Events not an array', new Uint8Array([2, ...encodeMsgpack({ LTime: 1, Events: 3 })])],
      ['a slot not a map', new Uint8Array([2, ...encodeMsgpack({ LTime: 1, Events: [null, 4] })])],
      ['a slot without LTime', new Uint8Array([2, ...encodeMsgpack({ LTime: 1, Events: [{ Events: [] }] })])],
      ['an event without Name', new Uint8Array([2, ...encodeMsgpack({ LTime: 1, Events: [{ LTime: 1, Events: [{ Payload: bytes('x') }] }] })])],
      ['EventLTime mistyped', new Uint8Array([2, ...encodeMsgpack({ LTime: 1, EventLTime: 'x' })])],
    ];
    for (const [what, st] of badStates) {
      const h = harness();
      assert.equal(h.s.receiveState(st, false), 'malformed', what);
      assert.equal(h.delivered.length, 0, what);
    }
    // The wrong Serf type at the events entry point is not an event.
    assert.equal(harness().s.receive(new Uint8Array([1, ...encodeMsgpack({ LTime: 1, Node: 'x' })])), 'unknown_type');
  });
});

describe("Serf user events: handleUserEvent's rules", () => {
  it('the clock starts at 1, and UserEvent sends at the current time, then moves on', () => {
    const h = harness();
    assert.equal(h.s.clock.time(), 1n);
    assert.equal(h.s.send('deploy', bytes('v1'), true), 1n);
    assert.equal(h.s.clock.time(), 2n);
    assert.equal(h.s.send('deploy', bytes('v2')), 2n);
    assert.deepEqual(h.delivered.map((e) => [e.name, Buffer.from(e.payload).toString(), e.ltime, e.coalesce]), [['deploy', 'v1', 1n, true], ['deploy', 'v2', 2n, false]]);
    // What goes out is Serf's message, byte for byte what serf itself sends.
    assert.equal(hex(h.sent[0]!), '0384a24343c3a54c54696d6501a44e616d65a66465706c6f79a75061796c6f6164a27631');
  });

  it("UserEventSizeLimit: 512 bytes of name plus payload, a RangeError beyond (nothing sent, clock unmoved)", () => {
    const h = harness();
    assert.equal(USER_EVENT_SIZE_LIMIT, 512);
    h.s.send('n', new Uint8Array(511));
    assert.throws(() => h.s.send('n', new Uint8Array(512)), (e: Error) => e instanceof RangeError && /513 bytes.*512/.test(e.message));
    // bytes, not characters: 'é' is 2 bytes of UTF-8
    assert.throws(() => h.s.send('é', new Uint8Array(511)), RangeError);
    assert.equal(h.sent.length, 1);
    assert.equal(h.s.clock.time(), 2n);
  });

  // Each row: the events received in order, what each one did, and the clock after.
  const B = 8; // a small ring so the window is easy to cross
  const rows: Array<{ what: string; events: Array<[number, string, string]>; want: Array<'new' | SerfEventIgnored>; clock: number }> = [
    { what: 'a new event is delivered and the clock jumps past it', events: [[5, 'a', 'x']], want: ['new'], clock: 6 },
    { what: 'the same (LTime, Name, Payload) again is a duplicate', events: [[5, 'a', 'x'], [5, 'a', 'x']], want: ['new', 'duplicate'], clock: 6 },
    { what: 'same time and name, other payload: a different event', events: [[5, 'a', 'x'], [5, 'a', 'y']], want: ['new', 'new'], clock: 6 },
    { what: 'same time and payload, other name: a different event', events: [[5, 'a', 'x'], [5, 'b', 'x']], want: ['new', 'new'], clock: 6 },
    { what: 'same name and payload at another time: a different event', events: [[5, 'a', 'x'], [6, 'a', 'x']], want: ['new', 'new'], clock: 7 },
    { what: 'an older event still inside the window is delivered', events: [[20, 'a', 'x'], [14, 'b', 'x']], want: ['new', 'new'], clock: 21 },
    { what: 'LTime < clock − buffer is too old (clock 21, 12 < 13)', events: [[20, 'a', 'x'], [12, 'b', 'x']], want: ['new', 'too_old'], clock: 21 },
    { what: 'exactly clock − buffer is still inside (13)', events: [[20, 'a', 'x'], [13, 'b', 'x']], want: ['new', 'new'], clock: 21 },
    { what: 'a later time takes over a slot (5 and 13 share slot 5); the earlier is then out of the window', events: [[5, 'a', 'x'], [13, 'a', 'x'], [5, 'a', 'x']], want: ['new', 'new', 'too_old'], clock: 14 },
    { what: 'no window while the clock is at most the buffer size', events: [[7, 'a', 'x'], [0, 'b', 'x']], want: ['new', 'new'], clock: 8 },
    { what: 'a repeat after other events at other times is still a duplicate', events: [[5, 'a', 'x'], [6, 'b', 'x'], [7, 'c', 'x'], [5, 'a', 'x']], want: ['new', 'new', 'new', 'duplicate'], clock: 8 },
  ];
  for (const r of rows) {
    it(r.what, () => {
      const h = harness(B);
      const got = r.events.map(([lt, name, p]) => {
        const before = h.ignored.length;
        const isNew = h.s.handle({ ltime: BigInt(lt), name, payload: bytes(p), cc: false });
        return isNew ? 'new' : h.ignored[before]!;
      });
      assert.deepEqual(got, r.want);
      assert.equal(h.s.clock.time(), BigInt(r.clock));
      assert.equal(h.delivered.length, r.want.filter((w) => w === 'new').length);
    });
  }

  it('receive(): a new event is delivered once and passed on as the very bytes; a repeat is not', () => {
    const h = harness();
    const ev = encodeSerfUserEvent({ ltime: 1n, name: 'deploy', payload: bytes('v1'), cc: true });
    assert.equal(h.s.receive(ev), undefined);
    assert.equal(h.s.receive(ev), undefined);
    assert.equal(h.delivered.length, 1);
    assert.deepEqual(h.sent.map(hex), [hex(ev)]);
    assert.deepEqual(h.ignored, ['duplicate']);
  });

  it('push-pull: buffered events gossip missed are delivered (not passed on), the clock witnesses EventLTime − 1', () => {
    const h = harness();
    h.s.handle({ ltime: 3n, name: 'a', payload: bytes('x'), cc: false }); // heard by gossip already
    const st = serfState(10, [null, { ltime: 3, events: [['a', 'x'], ['b', 'y']] }, { ltime: 7, events: [['c', '']] }]);
    assert.equal(h.s.receiveState(st, false), undefined);
    assert.deepEqual(h.delivered.map((e) => `${e.ltime}:${e.name}`), ['3:a', '3:b', '7:c']);
    // witness(9): past 9, as Serf's Witness(EventLTime - 1) leaves it
    assert.equal(h.s.clock.time(), 10n);
    assert.deepEqual(h.sent, []);
    // the same state again: nothing new
    h.s.receiveState(st, false);
    assert.equal(h.delivered.length, 3);
  });

  it("joining: a Serf peer's buffered events are from before we joined and are not delivered; later ones are", () => {
    const h = harness();
    assert.equal(h.s.receiveState(serfState(10, [{ ltime: 3, events: [['a', 'x']] }, { ltime: 9, events: [['b', 'x']] }]), true), undefined);
    assert.equal(h.delivered.length, 0);
    assert.deepEqual(h.ignored, ['before_join', 'before_join']);
    assert.equal(h.s.receive(encodeSerfUserEvent({ ltime: 10n, name: 'deploy', payload: bytes('v1'), cc: false })), undefined);
    assert.deepEqual(h.delivered.map((e) => e.name), ['deploy']);
    // and the same old event by gossip later is still not ours
    h.s.receive(encodeSerfUserEvent({ ltime: 9n, name: 'b', payload: bytes('x'), cc: false }));
    assert.equal(h.delivered.length, 1);
  });

  it("joining through an rxswim peer: the recent events in its push-pull state are remembered as seen, not delivered nor passed on", () => {
    const h = harness();
    const ev = encodeSerfUserEvent({ ltime: 4n, name: 'deploy', payload: bytes('v1'), cc: true });
    assert.equal(h.s.receive(ev, true), undefined);
    assert.deepEqual([h.delivered.length, h.sent.length, h.ignored], [0, 0, ['before_join']]);
    assert.equal(h.s.clock.time(), 5n, 'its time is witnessed');
    // the same event by gossip afterwards: a repeat
    h.s.receive(ev);
    assert.deepEqual([h.delivered.length, h.ignored], [0, ['before_join', 'duplicate']]);
  });
});
