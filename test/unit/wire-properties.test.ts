// Properties of the wire layer: encode -> decode round trips for every message
// and layer combination, decoders that never throw on hostile input, LZW round
// trips across table resets, plus the edge cases the spec calls out.
// Every assert.ok carries a message: without one, Node builds the failure
// message by re-parsing the source, which takes minutes on this file under tsx.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { DECODE_ERROR_REASONS, DecodeError } from '../../src/errors.js';
import type { DecodeErrorReason } from '../../src/errors.js';
import {
  MsgpackReader,
  MsgpackMap,
  MsgpackExt,
  encodeMsgpack,
  decodeMsgpack,
  decodeCompound,
  decodeMessage,
  decodePacket,
  encodeCompound,
  encodeMessage,
  encodePacket,
  MIN_COMPRESSIBLE,
  encodeStream,
  encodeStreamMessage,
  compressMessage,
  decryptPayload,
  encryptPayload,
  encryptedLength,
  lzwCompress,
  lzwDecompress,
  tryDecodeStream,
  ENCRYPTION_OVERHEAD_V0,
  ENCRYPTION_OVERHEAD_V1,
} from '../../src/wire/index.js';
import type { EncodableMessage, StreamDecodeResult } from '../../src/wire/index.js';
import type { PacketMessage, PushNodeState, StreamMessage } from '../../src/wire/types.js';

const REASONS = new Set<DecodeErrorReason>(DECODE_ERROR_REASONS);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

// --- arbitraries -----------------------------------------------------------

/** fc.record, but never with a null prototype, so deepStrictEqual can compare with decoded objects. */
const rec = ((model: Record<string, fc.Arbitrary<unknown>>, constraints?: object) =>
  fc.record(model, { ...constraints, noNullPrototype: true })) as typeof fc.record;

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
// Names cross the fixstr/raw16 boundary at 32 UTF-8 bytes; 'binary' covers non-ASCII and astral code points.
const name = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 50 }));
const bytes = (maxLength = 40) => fc.uint8Array({ maxLength });
const bytesOrNil = (maxLength = 40) => fc.option(bytes(maxLength), { nil: null });
const addr = fc.option(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), {
  nil: null,
});
const vsn = fc.option(fc.oneof(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.constant(new Uint8Array(0))), { nil: null });
/** Payloads that compress well, so the compress-if-smaller branch is taken too. */
const repetitive = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 120 }))
  .map(([unit, times]) => new Uint8Array(Buffer.concat(Array.from({ length: times }, () => unit))));
const payload = fc.oneof(bytes(60), repetitive);

const source = {
  sourceAddr: fc.option(fc.oneof(addr, fc.constant(new Uint8Array(0))), { nil: undefined }),
  sourcePort: fc.option(u16, { nil: undefined }),
  sourceNode: fc.option(name, { nil: undefined }),
};

const pingArb: fc.Arbitrary<EncodableMessage> = rec(
  { type: fc.constant('ping' as const), seqNo: u32, node: name, ...source },
  { requiredKeys: ['type', 'seqNo', 'node'] },
);
const indirectArb: fc.Arbitrary<EncodableMessage> = rec(
  {
    type: fc.constant('indirectPing' as const),
    seqNo: u32,
    target: addr,
    port: u16,
    node: name,
    nack: fc.boolean(),
    ...source,
  },
  { requiredKeys: ['type', 'seqNo', 'target', 'port', 'node', 'nack'] },
);
const ackArb = rec({ type: fc.constant('ack' as const), seqNo: u32, payload: fc.option(payload, { nil: null }) });
const nackArb = rec({ type: fc.constant('nack' as const), seqNo: u32 });
const accusationArb = rec({
  type: fc.constantFrom('suspect' as const, 'dead' as const),
  incarnation: u32,
  node: name,
  from: name,
});
const aliveArb = rec({
  type: fc.constant('alive' as const),
  incarnation: u32,
  node: name,
  addr,
  port: u16,
  meta: bytesOrNil(80),
  vsn,
});
const userArb = rec({ type: fc.constant('user' as const), payload });
const packetMessageArb: fc.Arbitrary<EncodableMessage> = fc.oneof(
  pingArb,
  indirectArb,
  ackArb,
  nackArb,
  accusationArb,
  aliveArb,
  userArb,
);
const errArb = rec({ type: fc.constant('err' as const), error: name });

const nodeArb: fc.Arbitrary<PushNodeState> = rec({
  name,
  addr,
  port: u16,
  meta: bytesOrNil(60),
  incarnation: u32,
  state: fc.integer({ min: 0, max: 3 }),
  vsn,
});
const streamMessageArb: fc.Arbitrary<StreamMessage> = fc.oneof(
  rec({
    type: fc.constant('pushPull' as const),
    join: fc.boolean(),
    nodes: fc.array(nodeArb, { maxLength: 8 }),
    userState: payload,
  }),
  pingArb as fc.Arbitrary<StreamMessage>,
  ackArb,
  rec({ type: fc.constant('userStream' as const), payload }),
  errArb,
);

const keyArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.uint8Array({ minLength: 24, maxLength: 24 }),
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
);
const versionArb = fc.constantFrom(0 as const, 1 as const);

/** What the decoder should give back: omitted Source* fields read as their zero values. */
function expected(m: EncodableMessage): PacketMessage | StreamMessage {
  if (m.type === 'ping' || m.type === 'indirectPing') {
    return {
      ...m,
      sourceAddr: m.sourceAddr && m.sourceAddr.length > 0 ? m.sourceAddr : null,
      sourcePort: m.sourcePort ?? 0,
      sourceNode: m.sourceNode ?? '',
    } as PacketMessage;
  }
  return m as PacketMessage;
}

function assertOnlyDecodeErrors(errors: DecodeError[]): void {
  for (const e of errors) {
    assert.ok(e instanceof DecodeError, `typed error, got ${String(e)}`);
    assert.ok(REASONS.has(e.reason), e.reason);
  }
}

function assertStreamResult(r: StreamDecodeResult): void {
  assert.ok(r.status === 'ok' || r.status === 'need-more' || r.status === 'error', 'known status');
  if (r.status === 'error') assertOnlyDecodeErrors([r.error]);
}

// --- round trips -----------------------------------------------------------

test('every message type round-trips through encodeMessage/decodeMessage', () => {
  fc.assert(
    fc.property(packetMessageArb, (m) => {
      const wire = encodeMessage(m);
      assert.deepEqual(decodeMessage(wire), expected(m));
      assert.deepEqual(encodeMessage(decodeMessage(wire)), wire, 're-encoding is byte-identical');
    }),
    { numRuns: 500 },
  );
});

test('raw lengths at the fixstr/raw16/raw32 boundaries', () => {
  for (const n of [0, 31, 32, 255, 256, 65535, 65536, 70000]) {
    const p = new Uint8Array(n).fill(0x61);
    const wire = encodeMessage({ type: 'ack', seqNo: 1, payload: p });
    // 0xa7 "Payload" then the raw header
    const at = 2 + 8;
    const expectedHeader = n <= 31 ? [0xa0 | n] : n <= 0xffff ? [0xda, n >> 8, n & 0xff] : [0xdb, 0, n >> 16, (n >> 8) & 0xff, n & 0xff];
    assert.deepEqual([...wire.subarray(at, at + expectedHeader.length)], expectedHeader, `length ${n}`);
    assert.deepEqual(decodeMessage(wire), { type: 'ack', seqNo: 1, payload: p });
  }
});

test('packets round-trip with any mix of compound, compression, CRC and encryption', () => {
  fc.assert(
    fc.property(
      fc.array(packetMessageArb, { minLength: 1, maxLength: 12 }),
      fc.boolean(),
      fc.boolean(),
      fc.option(fc.tuple(fc.array(keyArb, { minLength: 1, maxLength: 3 }), versionArb), { nil: null }),
      (msgs, compress, crc, enc) => {
        const wires = msgs.map((m) => encodeMessage(m));
        const keyring = enc?.[0];
        const packet = encodePacket(wires, { compress, crc, keyring, encryptionVersion: enc?.[1] });
        const r = decodePacket(packet, { keyring });
        assert.deepEqual(r.errors, []);
        assert.deepEqual(r.messages, msgs.map(expected));
        if (enc) {
          // Any key of the receiver's keyring works as long as the sender's primary is in it.
          const other = new Uint8Array(16).fill(0xee);
          assert.deepEqual(decodePacket(packet, { keyring: [other, ...enc[0]] }).messages, r.messages);
          const overhead = enc[1] === 1 ? ENCRYPTION_OVERHEAD_V1 : ENCRYPTION_OVERHEAD_V0;
          assert.ok(packet.length <= encodePacket(wires, { compress, crc }).length + overhead, 'overhead bound');
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('compression is used in packets only when strictly smaller (and not tried below MIN_COMPRESSIBLE bytes)', () => {
  fc.assert(
    fc.property(fc.array(packetMessageArb, { minLength: 1, maxLength: 6 }), (msgs) => {
      const wires = msgs.map((m) => encodeMessage(m));
      const plain = encodePacket(wires, { compress: false, crc: false });
      const maybe = encodePacket(wires, { compress: true, crc: false });
      const compressed = compressMessage(plain);
      const expected = plain.length >= MIN_COMPRESSIBLE && compressed.length < plain.length ? compressed : plain;
      assert.deepEqual(maybe, expected);
    }),
    { numRuns: 200 },
  );
});

test('streams round-trip with compression and encryption; every prefix needs more', () => {
  fc.assert(
    fc.property(
      streamMessageArb,
      fc.boolean(),
      fc.option(fc.tuple(fc.array(keyArb, { minLength: 1, maxLength: 2 }), versionArb), { nil: null }),
      fc.uint8Array({ maxLength: 20 }),
      (msg, compress, enc, trailer) => {
        const keyring = enc?.[0];
        const wire = encodeStream(msg, { compress, keyring, encryptionVersion: enc?.[1] });
        const r = tryDecodeStream(wire, { keyring });
        assert.equal(r.status, 'ok', r.status === 'error' ? r.error.message : undefined);
        if (r.status !== 'ok') return;
        assert.equal(r.consumed, wire.length);
        assert.deepEqual(r.message, expected(msg as EncodableMessage));
        // Bytes after the message are not part of it.
        const more = tryDecodeStream(cat(wire, trailer), { keyring });
        assert.equal(more.status, 'ok');
        if (more.status === 'ok') assert.equal(more.consumed, wire.length);
        for (const cut of new Set([0, 1, 2, 5, wire.length >> 1, wire.length - 1])) {
          if (cut < 0 || cut >= wire.length) continue;
          assert.equal(tryDecodeStream(wire.subarray(0, cut), { keyring }).status, 'need-more', `prefix ${cut}/${wire.length}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('encrypted stream header announces the exact encrypted length', () => {
  fc.assert(
    fc.property(streamMessageArb, keyArb, versionArb, (msg, key, version) => {
      const plain = encodeStreamMessage(msg);
      const wire = encodeStream(msg, { compress: false, keyring: [key], encryptionVersion: version });
      assert.equal(wire[0], 10);
      assert.equal(new DataView(wire.buffer, wire.byteOffset).getUint32(1), encryptedLength(version, plain.length));
      assert.equal(wire.length, 5 + encryptedLength(version, plain.length));
      assert.deepEqual(decryptPayload([key], wire.subarray(5), wire.subarray(0, 5)), plain);
    }),
    { numRuns: 100 },
  );
});

test('encryptPayload/decryptPayload round trip, with and without AAD', () => {
  fc.assert(
    fc.property(keyArb, versionArb, fc.uint8Array({ maxLength: 300 }), fc.option(bytes(8), { nil: undefined }), (key, v, pt, aad) => {
      const sealed = encryptPayload(key, v, pt, aad);
      assert.equal(sealed.length, encryptedLength(v, pt.length));
      assert.deepEqual(decryptPayload([key], sealed, aad), pt);
      const tampered = sealed.slice();
      tampered[tampered.length - 1]! ^= 0x80;
      assert.throws(() => decryptPayload([key], tampered, aad), { name: 'DecodeError', reason: 'decrypt_failed' });
    }),
    { numRuns: 200 },
  );
  assert.throws(() => encryptPayload(new Uint8Array(15), 1, new Uint8Array(1)), RangeError);
  assert.throws(() => decryptPayload([new Uint8Array(16)], new Uint8Array(28).fill(1)), { reason: 'decrypt_failed' });
  assert.throws(() => decryptPayload([new Uint8Array(16)], Uint8Array.of(2, ...new Uint8Array(40))), { reason: 'decrypt_failed' });
  assert.throws(() => decryptPayload([new Uint8Array(16)], new Uint8Array(0)), { reason: 'decrypt_failed' });
  assert.equal(ENCRYPTION_OVERHEAD_V1, 29);
  assert.equal(ENCRYPTION_OVERHEAD_V0, 45);
});

// --- LZW -------------------------------------------------------------------

test('LZW round-trips arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), repetitive), (data) => {
      const c = lzwCompress(data);
      assert.equal(c[0], 0, 'starts with a clear code');
      assert.equal(c[1]! & 1, 1);
      assert.deepEqual(lzwDecompress(c), data);
    }),
    { numRuns: 300 },
  );
});

test('LZW round-trips >60 kB inputs that fill and reset the table', () => {
  const rnd = fc.sample(fc.uint8Array({ minLength: 70000, maxLength: 70000 }), { numRuns: 1, seed: 42 })[0]!;
  const text = new TextEncoder().encode(Array.from({ length: 6000 }, (_, i) => `node-${i % 97}:${(i * 7919) % 1000};`).join(''));
  const zeros = new Uint8Array(200000);
  const mixed = cat(rnd.subarray(0, 20000), zeros.subarray(0, 30000), text, rnd.subarray(20000));
  for (const data of [rnd, text, zeros, mixed]) {
    assert.ok(data.length > 60000, 'input long enough to reset the table');
    assert.deepEqual(lzwDecompress(lzwCompress(data)), data);
  }
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 60001, maxLength: 80000 }), (data) => {
      assert.deepEqual(lzwDecompress(lzwCompress(data)), data);
    }),
    { numRuns: 5 },
  );
});

test('LZW decoder: KwKwK, data after EOF, missing EOF, bad codes, output bound', () => {
  // "aaaa" makes the encoder emit a code equal to the next undefined one.
  assert.deepEqual(lzwDecompress(lzwCompress(new Uint8Array(4).fill(0x61))), new Uint8Array(4).fill(0x61));
  const c = lzwCompress(new TextEncoder().encode('hello hello hello'));
  assert.deepEqual(lzwDecompress(cat(c, Uint8Array.of(1, 2, 3))), new TextEncoder().encode('hello hello hello'));
  assert.throws(() => lzwDecompress(c.subarray(0, c.length - 2)), { reason: 'decompress_failed' });
  assert.throws(() => lzwDecompress(new Uint8Array(0)), { reason: 'decompress_failed' });
  // clear, then code 300 which is not defined yet
  assert.throws(() => lzwDecompress(Uint8Array.of(0x00, 0x59, 0x02)), { reason: 'decompress_failed' });
  const big = lzwCompress(new Uint8Array(100000));
  assert.throws(() => lzwDecompress(big, 1000), { reason: 'oversize' });
  assert.equal(lzwDecompress(big, 100000).length, 100000);
  assert.deepEqual(lzwDecompress(lzwCompress(new Uint8Array(0))), new Uint8Array(0));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (garbage) => {
      try {
        lzwDecompress(garbage, 1 << 16);
      } catch (e) {
        assert.ok(e instanceof DecodeError && (e.reason === 'decompress_failed' || e.reason === 'oversize'), String(e));
      }
    }),
    { numRuns: 500 },
  );
});

// --- msgpack ---------------------------------------------------------------

test('msgpack decoder accepts every form the new spec and Serf use', () => {
  // str8, bin8, bin16, unsorted keys, uint64, int8, float32/64, ext, nested array/map.
  const v = decodeMsgpack(
    unhex(
      '89' +
        'd903616263' + // str8 "abc"
        'c40201ff' + // bin8
        'a161' + 'c50003010203' + // "a": bin16
        'a162' + 'cf0000000000000001' + // "b": uint64 1
        'a163' + 'd0ff' + // "c": int8 -1
        'a164' + 'ca3f800000' + // "d": float32 1
        'a165' + 'cb3ff8000000000000' + // "e": float64 1.5
        'a166' + 'd501abcd' + // "f": fixext2
        'a167' + '92c081a168c3' + // "g": [nil, {"h": true}]
        'a169' + 'cfffffffffffffffff', // "i": uint64 max -> bigint
    ),
  ).value;
  assert.ok(v instanceof MsgpackMap, 'a map');
  assert.deepEqual(v.entries[0], [new TextEncoder().encode('abc'), Uint8Array.of(1, 0xff)]);
  assert.deepEqual(v.get('a'), Uint8Array.of(1, 2, 3));
  assert.equal(v.get('b'), 1);
  assert.equal(v.get('c'), -1);
  assert.equal(v.get('d'), 1);
  assert.equal(v.get('e'), 1.5);
  assert.deepEqual(v.get('f'), new MsgpackExt(1, Uint8Array.of(0xab, 0xcd)));
  assert.deepEqual(v.get('g'), [null, new MsgpackMap([[new TextEncoder().encode('h'), true]])]);
  assert.equal(v.get('i'), 2n ** 64n - 1n);
});

test('msgpack encoder: sorted keys, old raw family, smallest ints', () => {
  assert.equal(hex(encodeMsgpack({ b: 1, a: null, B: true, aa: false })), '84a142c3a161c0a26161c2a16201');
  for (const [n, h] of [
    [0, '00'],
    [127, '7f'],
    [128, 'cc80'],
    [255, 'ccff'],
    [256, 'cd0100'],
    [65535, 'cdffff'],
    [65536, 'ce00010000'],
    [0xffffffff, 'ceffffffff'],
    [2 ** 32, 'cf0000000100000000'],
    [-1, 'ff'],
    [-33, 'd0df'],
  ] as const) {
    assert.equal(hex(encodeMsgpack(n)), h, String(n));
    assert.equal(decodeMsgpack(unhex(h)).value, n);
  }
  assert.equal(hex(encodeMsgpack('x'.repeat(32))).slice(0, 6), 'da0020');
  fc.assert(
    fc.property(fc.array(fc.oneof(u32, fc.boolean(), fc.constant(null), bytes(40)), { maxLength: 20 }), (arr) => {
      assert.deepEqual(decodeMsgpack(encodeMsgpack(arr)).value, arr);
    }),
  );
});


test('msgpack encoder: a Map is a map like an object, keys in UTF-8 byte order even where UTF-16 order differs', () => {
  // z (7a) < é (c3 a9) < U+FFFD (ef bf bd) < U+1F600 (f0 9f 98 80); in UTF-16 the last two swap.
  const keys = ['\u{1F600}', 'z', '\uFFFD', 'é'];
  const viaMap = hex(encodeMsgpack(new Map(keys.map((k) => [k, null]))));
  assert.equal(viaMap, `84${['z', 'é', '\uFFFD', '\u{1F600}'].map((k) => `${hex(encodeMsgpack(k))}c0`).join('')}`);
  assert.equal(hex(encodeMsgpack(Object.fromEntries(keys.map((k) => [k, null])))), viaMap, 'an object with the same keys');
  assert.equal(hex(encodeMsgpack(new Map<string, number | undefined>([['b', 1], ['gone', undefined], ['a', 2]]))), '82a16102a16201', 'undefined left out, ASCII keys sorted');
  fc.assert(
    // Any keys, surrogate pairs and lone surrogates included, against the rule written
    // out: each key's UTF-8 bytes, compared as bytes.
    fc.property(fc.dictionary(fc.string({ maxLength: 6, unit: 'binary' }), u32, { maxKeys: 12 }), (d) => {
      const entries = Object.entries(d).sort((a, b) => Buffer.compare(Buffer.from(a[0], 'utf8'), Buffer.from(b[0], 'utf8')));
      const reference = `${(0x80 | entries.length).toString(16)}${entries.map(([k, v]) => hex(encodeMsgpack(k)) + hex(encodeMsgpack(v))).join('')}`;
      assert.equal(hex(encodeMsgpack(new Map(Object.entries(d)))), reference);
      assert.equal(hex(encodeMsgpack(d)), reference);
    }),
  );
});

test('struct decoding: unknown keys skipped, any key order and raw form, nil as zero value', () => {
  // Spec §15.5: a ping with str8 strings, bin8 SourceAddr and unsorted keys was accepted by serf.
  const ping = unhex(
    '00' +
      '86' +
      'aa536f75726365506f7274' + 'cd1f0a' + // SourcePort
      'a5536572660a' + 'cb3ff0000000000000' + // unknown "Serf\n": float, skipped
      'a44e6f6465' + 'd9066e6f64652d61' + // Node: str8
      'aa536f7572636541646472' + 'c4047f000002' + // SourceAddr: bin8
      'a55365714e6f' + 'cd0100' + // SeqNo 256
      'aa536f757263654e6f6465' + 'c0', // SourceNode: nil
  );
  assert.deepEqual(decodeMessage(ping), {
    type: 'ping',
    seqNo: 256,
    node: 'node-a',
    sourceAddr: Uint8Array.of(127, 0, 0, 2),
    sourcePort: 7946,
    sourceNode: '',
  });
  // Missing fields keep their zero value.
  assert.deepEqual(decodeMessage(unhex('0480')), {
    type: 'alive',
    incarnation: 0,
    node: '',
    addr: null,
    port: 0,
    meta: null,
    vsn: null,
  });
  const bad = (h: string, reason: DecodeErrorReason) =>
    assert.throws(() => decodeMessage(unhex(h)), { name: 'DecodeError', reason }, h);
  bad('0081a55365714e6fa131', 'malformed'); // SeqNo as a string
  bad('0081a55365714e6fcf0000000100000000', 'malformed'); // SeqNo overflows uint32
  bad('0081a55365714e6fff', 'malformed'); // negative SeqNo
  bad('0181a44e61636b01', 'malformed'); // Nack as an int
  bad('0092', 'malformed'); // not a map
  bad('0082a55365714e6f01', 'truncated'); // map claims 2 entries
  bad('00c1', 'malformed'); // reserved byte
  bad('20', 'unknown_type');
  bad('06', 'unknown_type');
  bad('', 'malformed');
});

test('msgpack bounds: depth and declared lengths', () => {
  const deep = new Uint8Array(100).fill(0x91); // [[[[...
  assert.throws(() => new MsgpackReader(deep).readValue(), { reason: 'too_deep' });
  assert.throws(() => new MsgpackReader(deep).skip(), { reason: 'too_deep' });
  // Declared lengths far beyond the buffer are "truncated", and nothing is allocated for them.
  for (const h of ['dbffffffff', 'c6ffffffff', 'ddffffffff', 'dfffffffff', 'c9ffffffff01']) {
    assert.throws(() => new MsgpackReader(unhex(h)).readValue(), { reason: 'truncated' }, h);
    assert.throws(() => new MsgpackReader(unhex(h)).skip(), { reason: 'truncated' }, h);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
      for (const read of [(r: MsgpackReader) => r.readValue(), (r: MsgpackReader) => r.skip()]) {
        try {
          read(new MsgpackReader(data));
        } catch (e) {
          assert.ok(e instanceof DecodeError && REASONS.has(e.reason), String(e));
        }
      }
    }),
    { numRuns: 1000 },
  );
});

// --- compound and packet edge cases ---------------------------------------

test('compound encode limits', () => {
  const one = Uint8Array.of(8);
  assert.equal(decodeCompound(encodeCompound(Array(255).fill(one))).parts.length, 255);
  assert.throws(() => encodeCompound(Array(256).fill(one)), RangeError);
  assert.throws(() => encodeCompound([]), RangeError);
  assert.throws(() => encodeCompound([one, new Uint8Array(0)]), RangeError);
  assert.throws(() => encodeCompound([new Uint8Array(65536)]), RangeError);
  assert.equal(decodeCompound(encodeCompound([new Uint8Array(65535).fill(8)])).parts[0]!.length, 65535);
  assert.throws(() => encodePacket([], { compress: false, crc: false }), RangeError);
});

test('compound truncation keeps the parts before the cut (spec §5.2)', () => {
  const a = encodeMessage({ type: 'nack', seqNo: 1 });
  const b = encodeMessage({ type: 'nack', seqNo: 2 });
  const c = encodeMessage({ type: 'nack', seqNo: 3 });
  const full = encodeCompound([a, b, c]);
  const cut = full.subarray(0, full.length - 1);
  const d = decodeCompound(cut);
  assert.deepEqual(d.parts, [a, b]);
  assert.equal(d.truncated, 1);
  const p = decodePacket(cut);
  assert.deepEqual(p.messages, [decodeMessage(a), decodeMessage(b)]);
  assert.deepEqual(p.errors.map((e) => e.reason), ['truncated']);
  // A length table that does not fit rejects the whole compound.
  assert.throws(() => decodeCompound(Uint8Array.of(7, 3, 0, 1)), { reason: 'truncated' });
  // Trailing bytes after the last part are ignored.
  assert.deepEqual(decodeCompound(cat(full, Uint8Array.of(9, 9))).parts, [a, b, c]);
});

test('packet decoding collects per-part errors and keeps the good parts', () => {
  const nack = encodeMessage({ type: 'nack', seqNo: 5 });
  const parts = [
    nack,
    Uint8Array.of(6, 0x80), // pushPull is stream-only
    Uint8Array.of(13, 0x80), // err is stream-only
    Uint8Array.of(12, 0, 0, 0, 0, 8), // hasCrc only counts as the outermost layer
    Uint8Array.of(10, 1, 2), // encrypt framing never appears on UDP
    Uint8Array.of(0x42), // no such type
    Uint8Array.of(0, 0x81), // truncated ping
    nack,
  ];
  // Hand-built with a trailing empty part: our encoder refuses those, a peer might not.
  const packet = cat(
    Uint8Array.of(7, parts.length + 1),
    ...parts.map((p) => Uint8Array.of(p.length >> 8, p.length & 0xff)),
    Uint8Array.of(0, 0),
    ...parts,
  );
  const r = decodePacket(packet);
  assert.deepEqual(r.messages, [decodeMessage(nack), decodeMessage(nack)]);
  assert.deepEqual(
    r.errors.map((e) => e.reason),
    ['unknown_type', 'unknown_type', 'unknown_type', 'unknown_type', 'unknown_type', 'truncated', 'malformed'],
  );
});

test('packet layers: CRC only outermost, nesting depth bounded, empty packet', () => {
  const ping = encodeMessage({ type: 'ping', seqNo: 9, node: 'x' });
  // CRC inside a compress is not unwrapped.
  const crcInside = compressMessage(encodePacket([ping], { compress: false, crc: true }));
  assert.deepEqual(decodePacket(crcInside).errors.map((e) => e.reason), ['unknown_type']);
  // compound(compound(...)) four levels deep decodes, five does not.
  let nested = ping;
  for (let i = 0; i < 4; i++) nested = encodeCompound([nested, ping]);
  assert.equal(decodePacket(nested).messages.length, 5);
  assert.deepEqual(decodePacket(nested).errors, []);
  const tooDeep = encodeCompound([nested, ping]);
  const r = decodePacket(tooDeep);
  assert.deepEqual(r.errors.map((e) => e.reason), ['too_deep']);
  assert.equal(r.messages.length, 4, 'the pings beside each nested compound still decode');
  let zipped = ping;
  for (let i = 0; i < 5; i++) zipped = compressMessage(zipped);
  assert.deepEqual(decodePacket(zipped).errors.map((e) => e.reason), ['too_deep']);
  assert.deepEqual(decodePacket(new Uint8Array(0)).errors.map((e) => e.reason), ['malformed']);
  assert.deepEqual(decodePacket(Uint8Array.of(12, 1, 2)).errors.map((e) => e.reason), ['truncated']);
  // A compress with an unknown algorithm is refused.
  const algo1 = Uint8Array.of(9, ...encodeMsgpack({ Algo: 1, Buf: lzwCompress(ping) }));
  assert.deepEqual(decodePacket(algo1).errors.map((e) => e.reason), ['decompress_failed']);
});

test('packet decryption: verifyIncoming decides what happens to plaintext', () => {
  const key = new Uint8Array(16).fill(3);
  const ping = encodeMessage({ type: 'ping', seqNo: 1, node: 'n' });
  const dropped = decodePacket(ping, { keyring: [key] });
  assert.deepEqual(dropped.messages, []);
  assert.deepEqual(dropped.errors.map((e) => e.reason), ['decrypt_failed']);
  assert.deepEqual(decodePacket(ping, { keyring: [key], verifyIncoming: false }).messages, [decodeMessage(ping)]);
  const enc = encodePacket([ping], { compress: false, crc: true, keyring: [key] });
  assert.equal(enc[0], 1, 'UDP ciphertext starts with the version byte, not 10');
  assert.deepEqual(decodePacket(enc, { keyring: [key], verifyIncoming: false }).messages, [decodeMessage(ping)]);
});

test('stream reader: limits, wrong layering and garbage', () => {
  const key = new Uint8Array(32).fill(1);
  const status = (b: Uint8Array, o = {}) => tryDecodeStream(b, o);
  const reason = (b: Uint8Array, o = {}) => {
    const r = status(b, o);
    assert.equal(r.status, 'error', `expected an error for ${hex(b.subarray(0, 16))}`);
    return r.status === 'error' ? r.error.reason : undefined;
  };
  assert.equal(status(new Uint8Array(0)).status, 'need-more');
  // Encrypted length over 20 MiB is refused as soon as the header is in.
  assert.equal(reason(Uint8Array.of(10, 0x01, 0x40, 0x00, 0x01), { keyring: [key] }), 'oversize');
  assert.equal(status(Uint8Array.of(10, 0x01, 0x40, 0x00, 0x00), { keyring: [key] }).status, 'need-more');
  assert.equal(status(Uint8Array.of(10, 0, 0), { keyring: [key] }).status, 'need-more');
  // A push/pull header claiming more nodes than could ever arrive.
  const header = (nodes: number, userStateLen: number) =>
    Uint8Array.of(6, ...encodeMsgpack({ Join: false, Nodes: nodes, UserStateLen: userStateLen }));
  assert.equal(reason(header(2 ** 40, 0)), 'oversize');
  assert.equal(reason(header(0, 2 ** 40)), 'oversize');
  assert.equal(reason(header(10, 0), { maxBytes: 12 }), 'oversize');
  assert.equal(status(header(10, 0)).status, 'need-more');
  // ...and inside a complete (compressed) buffer, the same claim is simply malformed.
  assert.equal(reason(compressMessage(header(10, 0))), 'malformed');
  // A user stream claiming more than the limit.
  assert.equal(reason(Uint8Array.of(8, ...encodeMsgpack({ UserMsgLen: 2 ** 31 }))), 'oversize');
  // Waiting forever is not an option either.
  assert.equal(reason(Uint8Array.of(6, 0x83, 0xdb, 0xff, 0xff, 0xff, 0xff), { maxBytes: 7 }), 'oversize');
  // Types that are not valid on a stream, or not at that layer.
  for (const t of [1, 3, 4, 5, 7, 11, 12, 0x42]) assert.equal(reason(Uint8Array.of(t, 0x80)), 'unknown_type', `type ${t}`);
  assert.equal(reason(compressMessage(compressMessage(encodeMessage({ type: 'nack', seqNo: 1 })))), 'unknown_type');
  // Damage inside a complete compress value is an error, not a wait.
  const zipped = compressMessage(encodeMessage({ type: 'ping', seqNo: 1, node: 'abc' }));
  const lzwCut = Uint8Array.of(9, ...encodeMsgpack({ Algo: 0, Buf: lzwCompress(Uint8Array.of(0, 0x82)) }));
  assert.equal(reason(lzwCut), 'truncated');
  assert.equal(status(zipped.subarray(0, zipped.length - 3)).status, 'need-more');
  // Encryption mismatches in both directions, and a wrong key.
  const plainWithKey = status(zipped, { keyring: [key] });
  assert.ok(plainWithKey.status === 'error' && /not encrypted/.test(plainWithKey.error.message), 'plain stream refused');
  assert.equal(status(zipped, { keyring: [key], verifyIncoming: false }).status, 'ok');
  const encrypted = encodeStream({ type: 'ping', seqNo: 1, node: 'abc' }, { compress: true, keyring: [key] });
  const noKey = status(encrypted);
  assert.ok(noKey.status === 'error' && /encryption is not configured/.test(noKey.error.message), 'encrypted stream refused');
  assert.equal(reason(encrypted, { keyring: [new Uint8Array(16)] }), 'decrypt_failed');
  assert.equal(status(encrypted, { keyring: [new Uint8Array(16), key] }).status, 'ok');
});

// --- hostile input -----------------------------------------------------------

const vectorsFile = JSON.parse(
  readFileSync(new URL('../fixtures/memberlist/vectors.json', import.meta.url), 'utf8'),
) as { vectors: Array<{ name: string; kind: string; hex: string }> };
const capturedFile = JSON.parse(
  readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8'),
) as { packets: Array<{ proto: string; run: string; hex: string }> };
const SERF_KEY = new Uint8Array(Buffer.from('AAECAwQFBgcICQoLDA0ODw==', 'base64'));
const realPackets = [
  ...vectorsFile.vectors.filter((v) => v.kind !== 'stream').map((v) => unhex(v.hex)),
  ...capturedFile.packets.filter((p) => p.proto === 'udp').map((p) => unhex(p.hex)),
];
const realStreams = [
  ...vectorsFile.vectors.filter((v) => v.kind === 'stream').map((v) => unhex(v.hex)),
  ...capturedFile.packets.filter((p) => p.proto === 'tcp').map((p) => unhex(p.hex)),
];

/** A real packet, then bit-flipped, truncated, or extended. */
function mutated(pool: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.integer({ min: 0, max: pool.length - 1 }),
      fc.constantFrom('flip', 'truncate', 'extend', 'flip+truncate', 'byte'),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
    )
    .map(([i, how, at, bit, extra]) => {
      const src = pool[i]!.slice();
      const pos = at % src.length;
      switch (how) {
        case 'flip':
          src[pos]! ^= 1 << bit;
          return src;
        case 'truncate':
          return src.subarray(0, pos);
        case 'extend':
          return cat(src, extra);
        case 'flip+truncate':
          src[pos]! ^= 1 << bit;
          return src.subarray(0, Math.max(1, (pos * 7) % src.length));
        default:
          src[pos] = extra[0]!;
          return src;
      }
    });
}

const keyrings = [undefined, [SERF_KEY]];

test('decodePacket never throws on random or mutated input', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated(realPackets)), fc.constantFrom(...keyrings), fc.boolean(), (data, keyring, verifyIncoming) => {
      const r = decodePacket(data, { keyring, verifyIncoming });
      assert.ok(Array.isArray(r.messages) && Array.isArray(r.errors), 'result shape');
      assertOnlyDecodeErrors(r.errors);
    }),
    { numRuns: 3000 },
  );
});

test('tryDecodeStream never throws on random or mutated input', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated(realStreams)),
      fc.constantFrom(...keyrings),
      fc.boolean(),
      (data, keyring, verifyIncoming) => {
        const r = tryDecodeStream(data, { keyring, verifyIncoming });
        assertStreamResult(r);
        if (r.status === 'ok') assert.ok(r.consumed > 0 && r.consumed <= data.length, 'consumed within input');
      },
    ),
    { numRuns: 3000 },
  );
});

test('every real packet and stream survives every single-bit flip', () => {
  // Every bit of every one (about 71,000 flips, each with and without the key): a few
  // seconds on a 2-core machine.
  assert.ok(realPackets.length >= 60 && realStreams.length >= 10, `${realPackets.length} packets, ${realStreams.length} streams from the fixtures`);
  let flips = 0;
  let bits = 0;
  for (const data of realPackets) {
    bits += data.length * 8;
    for (let i = 0; i < data.length * 8; i++) {
      const m = data.slice();
      m[i >> 3]! ^= 1 << (i & 7);
      for (const keyring of keyrings) assertOnlyDecodeErrors(decodePacket(m, { keyring }).errors);
      flips++;
    }
  }
  for (const data of realStreams) {
    bits += data.length * 8;
    for (let i = 0; i < data.length * 8; i++) {
      const m = data.slice();
      m[i >> 3]! ^= 1 << (i & 7);
      for (const keyring of keyrings) assertStreamResult(tryDecodeStream(m, { keyring }));
      flips++;
    }
  }
  assert.equal(flips, bits, 'every bit was flipped once');
});

test('MsgpackMap.get finds a key by its text, ASCII or not, and only an exact match', async () => {
  const { MsgpackReader, encodeMsgpack } = await import('../../src/wire/msgpack.js');
  const keys = ['Name', 'Nam', 'Names', 'Näme', 'ключ', ''];
  const obj = Object.fromEntries(keys.map((k, i) => [k, i]));
  const m = new MsgpackReader(encodeMsgpack(obj)).readValue();
  assert.ok(m && typeof m === 'object' && 'get' in m);
  for (const [i, k] of keys.entries()) assert.equal(m.get(k), i, k);
  for (const k of ['name', 'Nme', 'Nämee', 'клю']) assert.equal(m.get(k), undefined, k);
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.integer()), fc.string({ maxLength: 8 }), (d, probe) => {
      const dm = new MsgpackReader(encodeMsgpack(d)).readValue() as { get(k: string): unknown };
      for (const k of Object.keys(d)) assert.equal(dm.get(k), d[k]);
      if (!Object.hasOwn(d, probe)) assert.equal(dm.get(probe), undefined);
    }),
  );
});
