// Serf's ping-delegate payload against acks captured from real Serf 0.8.2 agents
// (test/fixtures/serf/ack-payloads.json), malformed payloads, and the delegate.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { newCoordinate, type Coordinate } from '../../src/serf/coordinate.js';
import { estimateRtt, NetworkCoordinates } from '../../src/serf/network-coordinates.js';
import { decodePingPayload, encodePingPayload, PING_VERSION } from '../../src/serf/ping-payload.js';
import { decodeMessage, encodeMessage, encodeMsgpack } from '../../src/wire/index.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/serf/ack-payloads.json', import.meta.url), 'utf8')) as {
  acks: Array<{ src: string; dst: string; udpPayloadHex: string }>;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function capturedAcks() {
  return fixture.acks.map((a) => {
    const m = decodeMessage(fromHex(a.udpPayloadHex));
    assert.equal(m.type, 'ack');
    return m as { type: 'ack'; seqNo: number; payload: Uint8Array | null };
  });
}

test('captured Serf acks: the payload decodes to an 8-dimension coordinate and re-encodes byte for byte', () => {
  assert.equal(fixture.acks.length, 4);
  for (const [i, ack] of capturedAcks().entries()) {
    assert.ok(ack.payload && ack.payload.length === 130, `ack ${i} payload length`);
    assert.equal(ack.payload[0], PING_VERSION);
    const r = decodePingPayload(ack.payload);
    assert.ok(r.ok, `ack ${i}: ${JSON.stringify(r)}`);
    const c = r.coordinate;
    assert.equal(c.vec.length, 8);
    assert.ok(c.error > 0 && c.error <= 1.5, `error ${c.error}`);
    assert.ok(c.height >= 10e-6, `height ${c.height}`);
    assert.ok(c.vec.every((x) => Math.abs(x) < 0.01), 'loopback coordinates sit within 10 ms of the origin');
    assert.equal(hex(encodePingPayload(c)), hex(ack.payload), `payload ${i}`);
    // And the whole ack, as memberlist sends it.
    assert.equal(hex(encodeMessage({ type: 'ack', seqNo: ack.seqNo, payload: encodePingPayload(c) })), fixture.acks[i]!.udpPayloadHex, `ack ${i}`);
  }
  // The first capture, decoded (Go float64s, printed by JS).
  const first = decodePingPayload(capturedAcks()[0]!.payload!);
  assert.ok(first.ok);
  assert.equal(first.coordinate.error, 1.4335984745035308);
});

test('ack sizes: 18 bytes without coordinates, 150 with (seqNo < 128)', () => {
  const payload = encodePingPayload(newCoordinate());
  assert.equal(payload.length, 130);
  assert.equal(encodeMessage({ type: 'ack', seqNo: 1, payload: null }).length, 18);
  assert.equal(encodeMessage({ type: 'ack', seqNo: 1, payload }).length, 150);
  // A 4-byte seqNo adds 4 to both (uint32: 0xce + 4 bytes).
  assert.equal(encodeMessage({ type: 'ack', seqNo: 70000, payload }).length, 154);
});

test('malformed payloads come back as a drop reason, never an exception', () => {
  const good = encodePingPayload(newCoordinate());
  const rows: Array<{ what: string; bytes: Uint8Array; reason: string }> = [
    { what: 'empty', bytes: new Uint8Array(), reason: 'unsupported_version' },
    { what: 'version 2', bytes: Uint8Array.of(2, ...good.subarray(1)), reason: 'unsupported_version' },
    { what: 'version 0', bytes: Uint8Array.of(0), reason: 'unsupported_version' },
    { what: 'version only', bytes: Uint8Array.of(1), reason: 'malformed' },
    { what: 'truncated', bytes: good.subarray(0, 60), reason: 'malformed' },
    { what: 'reserved byte 0xc1', bytes: Uint8Array.of(1, 0xc1), reason: 'malformed' },
    { what: 'not a map', bytes: Uint8Array.of(1, ...encodeMsgpack([1, 2])), reason: 'not_a_coordinate' },
    { what: 'string Error', bytes: Uint8Array.of(1, ...encodeMsgpack({ Error: 'x' })), reason: 'not_a_coordinate' },
    { what: 'Vec not an array', bytes: Uint8Array.of(1, ...encodeMsgpack({ Vec: 3 })), reason: 'not_a_coordinate' },
    { what: 'string in Vec', bytes: Uint8Array.of(1, ...encodeMsgpack({ Vec: [0.5, 'x'] })), reason: 'not_a_coordinate' },
  ];
  for (const r of rows) assert.deepEqual(decodePingPayload(r.bytes), { ok: false, reason: r.reason }, r.what);
  // Random garbage after the version byte: never a throw.
  let seed = 3;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 2000; i++) {
    const b = Uint8Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
    b[0] = 1;
    const r = decodePingPayload(b);
    assert.ok(r.ok || ['malformed', 'not_a_coordinate'].includes(r.reason));
  }
  // Also every truncation of a real payload.
  for (let n = 0; n < good.length; n++) assert.equal(decodePingPayload(good.subarray(0, n)).ok, false, `cut at ${n}`);
});

test('lenient like Go: integers for floats, unknown keys, trailing bytes, missing fields as zero', () => {
  const r = decodePingPayload(Uint8Array.of(1, ...encodeMsgpack({ Vec: [1, 0, 0], Error: 1, Extra: 'x', Height: 0 }), 0xff));
  assert.deepEqual(r, { ok: true, coordinate: { vec: [1, 0, 0], error: 1, adjustment: 0, height: 0 } });
  assert.deepEqual(decodePingPayload(Uint8Array.of(1, 0x80)), { ok: true, coordinate: { vec: [], error: 0, adjustment: 0, height: 0 } });
});

test('the delegate: acks carry our coordinate; a direct ack updates it and caches the peer', () => {
  const seq = [0.1, 0.7, 0.3, 0.9];
  let i = 0;
  const nc = new NetworkCoordinates('me', undefined, () => seq[i++ % seq.length]!);
  const first = nc.ackPayload();
  assert.equal(hex(first), hex(encodePingPayload(newCoordinate())));
  assert.equal(nc.ackPayload(), first, 'encoded once per coordinate');
  assert.deepEqual(nc.notifyPingComplete('peer', 1, new Uint8Array()), { kind: 'none' });
  assert.deepEqual(nc.notifyPingComplete('peer', 1, Uint8Array.of(7)), { kind: 'rejected', reason: 'unsupported_version' });
  assert.deepEqual(nc.notifyPingComplete('peer', 20_000, first), { kind: 'rejected', reason: 'rtt_out_of_range' });
  const alien = encodePingPayload({ vec: [0, 0], error: 1, adjustment: 0, height: 0 });
  assert.deepEqual(nc.notifyPingComplete('peer', 1, alien), { kind: 'rejected', reason: 'dimensions' });
  assert.equal(nc.coordinateOf('peer'), undefined, 'nothing cached from refused payloads');

  const peer = capturedAcks()[0]!.payload!;
  const o = nc.notifyPingComplete('peer', 0.8, peer);
  assert.equal(o.kind, 'updated');
  assert.notEqual(hex(nc.ackPayload()), hex(first), 'the payload follows the new coordinate');
  const cached = nc.coordinateOf('peer') as Coordinate;
  assert.deepEqual(cached, (decodePingPayload(peer) as { coordinate: Coordinate }).coordinate);
  assert.equal(nc.coordinateOf('me'), nc.coordinate);
  assert.deepEqual(nc.entries().map(([n]) => n), ['me', 'peer']);
  assert.ok(estimateRtt(nc.coordinate, cached) > 0);
  nc.forget('peer');
  assert.equal(nc.coordinateOf('peer'), undefined);
});
