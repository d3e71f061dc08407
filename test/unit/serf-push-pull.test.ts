// Serf's push-pull state as rxswim sends it (messagePushPull, serf/delegate.go
// LocalState), and rxswim's own state after it: a Serf agent decodes one msgpack value
// and ignores what follows, so Serf's state leads and an rxswim peer reads both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VirtualTimeScheduler } from 'rxjs';
import { resolveConfig } from '../../src/config.js';
import { NodeMetrics } from '../../src/metrics/metrics.js';
import { encodeEnvelope } from '../../src/messaging/user-envelope.js';
import { UserMessaging, type UserMessage } from '../../src/messaging/user-messages.js';
import { decodeSerfMessage, encodeSerfIntent, encodeSerfPushPull, type SerfPushPull } from '../../src/serf/messages.js';
import { SerfIntents } from '../../src/serf/intents.js';
import { SerfEvents, type SerfUserEvent } from '../../src/serf/user-events.js';
import { tryDecodeStream } from '../../src/wire/index.js';

const file = JSON.parse(readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8')) as {
  packets: Array<{ run: string; proto: string; hex: string; key_base64?: string }>;
};

function capturedStates(): Uint8Array[] {
  const states: Uint8Array[] = [];
  for (const p of file.packets) {
    if (p.proto === 'udp') continue;
    const opts = p.run === 'encrypted-2node' ? { keyring: [new Uint8Array(Buffer.from(p.key_base64!, 'base64'))] } : {};
    const r = tryDecodeStream(new Uint8Array(Buffer.from(p.hex, 'hex')), opts);
    if (r.status === 'ok' && r.message.type === 'pushPull' && r.message.userState?.[0] === 2) states.push(r.message.userState);
  }
  return states;
}

function pushPull(bytes: Uint8Array): SerfPushPull {
  const d = decodeSerfMessage(bytes);
  assert.ok(d.ok && d.message.type === 'pushPull', 'a Serf push-pull state');
  return d.message as SerfPushPull;
}

describe("Serf's push-pull state (messagePushPull)", () => {
  it("re-encodes what real serf agents sent with the same fields, and its size is the whole state", () => {
    const states = capturedStates();
    assert.ok(states.length >= 2, `captured Serf states: ${states.length}`);
    for (const bytes of states) {
      const m = pushPull(bytes);
      assert.equal(m.size, bytes.length, 'nothing follows a Serf agent\'s state');
      const again = pushPull(encodeSerfPushPull(m));
      const { size: _a, ...x } = m;
      const { size: _b, ...y } = again;
      assert.deepEqual(y, x);
    }
  });

  it('carries what our intents and events hold to a fresh receiver', () => {
    const leaving: string[] = [];
    const a = new SerfIntents({ name: 'a', leaving: () => {}, rebroadcast: () => {}, running: () => true });
    a.receive(encodeSerfIntent({ type: 'join', ltime: 5n, node: 'b' }));
    a.receive(encodeSerfIntent({ type: 'leave', ltime: 9n, node: 'c' }));
    const ev = new SerfEvents({ deliver: () => {}, rebroadcast: () => {} });
    ev.send('deploy', new Uint8Array(Buffer.from('v1')));
    ev.send('deploy', new Uint8Array(Buffer.from('v2')));
    const bytes = encodeSerfPushPull({ ltime: a.clock.time(), ...a.statusTimes(), ...ev.state(), queryLTime: 7n });
    const m = pushPull(bytes);
    assert.deepEqual([...m.statusLTimes], [['b', 5n], ['c', 9n]]);
    assert.deepEqual(m.leftMembers, ['c']);
    assert.equal(m.ltime, 10n);
    assert.equal(m.queryLTime, 7n);
    assert.equal(m.eventLTime, 3n);
    assert.deepEqual(m.events.map((s) => [s.ltime, s.events.map((e) => Buffer.from(e.payload).toString())]), [[1n, ['v1']], [2n, ['v2']]]);

    // A receiver replays the left member as a leave (one past its status time) and
    // delivers the events, as Serf's MergeRemoteState does.
    const b = new SerfIntents({ name: 'z', leaving: (n) => leaving.push(n), rebroadcast: () => {}, running: () => true });
    assert.equal(b.receiveState(bytes), undefined);
    assert.deepEqual(leaving, ['c']);
    assert.ok(b.clock.time() >= 10n);
    const got: SerfUserEvent[] = [];
    const evB = new SerfEvents({ deliver: (e) => got.push(e), rebroadcast: () => {} });
    assert.equal(evB.receiveState(bytes, false), undefined);
    assert.deepEqual(got.map((e) => Buffer.from(e.payload).toString()), ['v1', 'v2']);
  });

  it('a mistyped QueryLTime is malformed', async () => {
    const { encodeMsgpack } = await import('../../src/wire/msgpack.js');
    const body = encodeMsgpack({ LTime: 1, QueryLTime: 'x' });
    const d = decodeSerfMessage(new Uint8Array([2, ...body]));
    assert.ok(!d.ok && d.reason === 'malformed');
  });
});

function messaging(serfState?: () => Uint8Array) {
  const scheduler = new VirtualTimeScheduler();
  const metrics = new NodeMetrics({
    memberCounts: () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }),
    queueDepth: () => 0,
    userQueueDepth: () => 0,
    healthScore: () => 0,
    incarnation: () => 0,
  });
  const foreign: Uint8Array[] = [];
  const delegated: Uint8Array[] = [];
  const got: UserMessage[] = [];
  const m = new UserMessaging({
    name: 'me', config: resolveConfig('lan'), scheduler, random: () => 0.5, metrics,
    numNodes: () => 3, encryptionOverhead: () => 0,
    sendPacket: () => {}, sendStream: async () => {},
    delegate: { mergeRemoteState: (s) => delegated.push(s.slice()) },
    foreignState: (s) => foreign.push(s.slice()),
    ...(serfState ? { serfState } : {}),
    log: () => {},
  });
  m.messages$.subscribe((x) => got.push(x));
  const dropped = async (reason: string) => {
    const all = await metrics.registry.getSingleMetric('rxswim_packets_dropped_total')!.get();
    return all.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  };
  return { m, foreign, delegated, got, dropped };
}

describe("rxswim's push-pull user state beside Serf's", () => {
  const serf = encodeSerfPushPull({ ltime: 4n, statusLTimes: new Map([['x', 3n]]), leftMembers: [], eventLTime: 1n, events: [], queryLTime: 1n });

  it("with Serf's layer on, Serf's state leads and ours follows only when we have any", () => {
    const quiet = messaging(() => serf);
    assert.deepEqual(quiet.m.localState(false), serf);
    const busy = messaging(() => serf);
    busy.m.receive(encodeEnvelope({ from: 'other', topic: 't', payload: Uint8Array.of(9), broadcast: true, id: 1 }), 'udp');
    const state = busy.m.localState(false);
    assert.deepEqual(state.subarray(0, serf.length), serf);
    assert.ok(state.length > serf.length, 'the recent broadcast follows');
    // A Serf agent reads the first value: the same state as on its own.
    const { size: _s, ...m } = pushPull(state);
    const { size: _t, ...n } = pushPull(serf);
    assert.deepEqual(m, n);
  });

  it('an rxswim peer reads both halves: Serf\'s to the Serf layer, the broadcasts delivered', () => {
    const a = messaging(() => serf);
    a.m.receive(encodeEnvelope({ from: 'other', topic: 't', payload: Uint8Array.of(9), broadcast: true, id: 1 }), 'udp');
    const b = messaging(() => serf);
    b.m.mergeState(a.m.localState(false), false, 'a');
    assert.deepEqual(b.foreign, [serf]);
    assert.deepEqual(b.got.map((g) => [g.from, g.topic, [...g.payload]]), [['other', 't', [9]]]);
    assert.deepEqual(b.delegated, [], 'the delegate gets no Serf bytes from an rxswim peer with none of its own');
  });

  it("bytes after Serf's state that are not ours are dropped and counted; Serf's half still counts", async () => {
    const b = messaging(() => serf);
    b.m.mergeState(new Uint8Array([...serf, 0x01, 0x02]), false, 'a');
    assert.deepEqual(b.foreign, [serf]);
    assert.deepEqual(b.got, []);
    assert.equal(await b.dropped('malformed'), 1);
  });

  it("a Serf agent's state (nothing after it) goes to the Serf layer and the delegate, as before", () => {
    const b = messaging(() => serf);
    b.m.mergeState(serf, true, 'serf');
    assert.deepEqual(b.foreign, [serf]);
    assert.deepEqual(b.delegated, [serf]);
  });

  it("without Serf's layer nothing changes: the application's bytes, or nothing", () => {
    const off = messaging();
    assert.equal(off.m.localState(false).length, 0);
  });
});
