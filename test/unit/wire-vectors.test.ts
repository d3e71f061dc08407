// Every case of the Go-generated vectors: decoding gives the recorded fields and
// encoding the recorded fields gives the recorded bytes wherever that is
// deterministic (encrypted cases use random nonces, so those are checked by
// decrypting with the recorded key and by round trips instead).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createDecipheriv } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  decodeCompound,
  decodeCompressBody,
  decodeMessage,
  decodePacket,
  decodePushNodeState,
  decodePushPullHeader,
  decodeUserMsgHeader,
  decryptPayload,
  encodeCompound,
  encodeMessage,
  encodePacket,
  encodePushNodeState,
  encodePushPullHeader,
  encodeStream,
  encodeUserMsgHeader,
  compressMessage,
  lzwCompress,
  lzwDecompress,
  tryDecodeStream,
  encodeCompressBody,
} from '../../src/wire/index.js';
import type { EncodableMessage } from '../../src/wire/index.js';
import type { PushNodeState, PushPull, StreamMessage } from '../../src/wire/types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Vector {
  name: string;
  kind: 'message' | 'packet' | 'stream';
  hex: string;
  layers?: string[];
  decoded: Obj;
  extra?: Obj;
}

const file = JSON.parse(
  readFileSync(new URL('../fixtures/memberlist/vectors.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };
const vectors = new Map(file.vectors.map((v) => [v.name, v]));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** `{"$bytes": hex}` -> bytes, null -> null. */
function jbytes(v: Json | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object' && !Array.isArray(v) && typeof v.$bytes === 'string') return unhex(v.$bytes);
  throw new Error(`not a bytes value: ${JSON.stringify(v)}`);
}

function obj(v: Json | undefined): Obj {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), 'expected an object');
  return v as Obj;
}

/** Comparable form: bytes as hex, and nil and empty bytes alike (Go decodes "" to nil). */
function norm(v: unknown): unknown {
  if (v === null) return 'bytes:';
  if (v instanceof Uint8Array) return `bytes:${hex(v)}`;
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o.$bytes === 'string') return `bytes:${o.$bytes}`;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, norm(x)]));
  }
  return v;
}

/** Go field name -> our property name. */
const tsName = (k: string): string => k[0]!.toLowerCase() + k.slice(1);

/** Checks that every recorded Go field has the same value in our decoded object. */
function assertFields(ours: object, goBody: Obj, what: string): void {
  const o = ours as Record<string, unknown>;
  for (const [k, v] of Object.entries(goBody)) {
    assert.deepEqual(norm(o[tsName(k)] ?? null), norm(v), `${what}: field ${k}`);
  }
}

const TYPE_NAMES: Record<number, EncodableMessage['type']> = {
  0: 'ping',
  1: 'indirectPing',
  2: 'ack',
  3: 'suspect',
  4: 'alive',
  5: 'dead',
  11: 'nack',
  13: 'err',
};
const BYTE_FIELDS = new Set(['Addr', 'Meta', 'Vsn', 'Payload', 'Target', 'SourceAddr', 'Buf']);

/** Builds a message from a recorded Go body (the "listed fields"). */
function messageFromGo(type: number, body: Obj): EncodableMessage {
  const m: Record<string, unknown> = { type: TYPE_NAMES[type] };
  for (const [k, v] of Object.entries(body)) m[tsName(k)] = BYTE_FIELDS.has(k) ? jbytes(v) : v;
  return m as unknown as EncodableMessage;
}

function nodeFromGo(n: Obj): PushNodeState {
  return {
    name: n.Name as string,
    addr: jbytes(n.Addr),
    port: n.Port as number,
    meta: jbytes(n.Meta),
    incarnation: n.Incarnation as number,
    state: n.State as number,
    vsn: jbytes(n.Vsn),
  };
}

/**
 * JSON null cannot say whether Go wrote nil (c0) or a non-nil empty slice (a0);
 * Go decodes both to nil. Where the Go test data used an empty slice, the
 * listed-fields encoding needs that one hint to be byte-exact. Each entry is
 * checked against the wire bytes before use.
 */
const EMPTY_NOT_NIL: Record<string, Array<[node: number, field: 'meta']>> = {
  stream_pushpull_4nodes_userstate_join: [[2, 'meta']],
  stream_pushpull_compressed: [[2, 'meta']],
};

function pushPullFromGo(name: string, d: Obj): PushPull {
  const header = obj(d.header);
  const nodes = (d.nodes as Obj[]).map(nodeFromGo);
  for (const [i, field] of EMPTY_NOT_NIL[name] ?? []) {
    assert.equal(nodes[i]![field], null, `${name}: hint only applies where the JSON says null`);
    nodes[i]![field] = new Uint8Array(0);
  }
  assert.equal(nodes.length, header.Nodes);
  return { type: 'pushPull', join: header.Join as boolean, nodes, userState: jbytes(d.user_state) ?? new Uint8Array(0) };
}

function assertPushPull(msg: StreamMessage, d: Obj, what: string): void {
  assert.equal(msg.type, 'pushPull', what);
  const pp = msg as PushPull;
  const header = obj(d.header);
  assert.equal(pp.join, header.Join);
  assert.equal(pp.nodes.length, header.Nodes);
  assert.equal(pp.userState.length, header.UserStateLen);
  (d.nodes as Obj[]).forEach((n, i) => assertFields(pp.nodes[i]!, n, `${what} node ${i}`));
  assert.deepEqual(norm(pp.userState), norm(d.user_state));
}

function streamOk(buf: Uint8Array, opts: Parameters<typeof tryDecodeStream>[1] = {}): StreamMessage {
  const r = tryDecodeStream(buf, opts);
  assert.equal(r.status, 'ok', r.status === 'error' ? r.error.message : r.status);
  if (r.status !== 'ok') throw new Error('unreachable');
  assert.equal(r.consumed, buf.length, 'stream consumed every byte');
  return r.message;
}

const covered = new Set<string>();
function vectorTest(name: string, fn: (v: Vector, wire: Uint8Array) => void): void {
  covered.add(name);
  test(`vector ${name}`, () => {
    const v = vectors.get(name);
    assert.ok(v, `vector ${name} exists`);
    fn(v, unhex(v.hex));
  });
}

// --- plain messages --------------------------------------------------------

for (const name of [
  'ping',
  'ping_minimal',
  'ping_no_node',
  'indirect_ping',
  'indirect_ping_no_nack',
  'ack_empty',
  'ack_payload',
  'nack',
  'suspect',
  'alive',
  'alive_ipv6_form_nil_meta',
  'alive_meta_40',
  'dead',
  'dead_leave',
]) {
  vectorTest(name, (v, wire) => {
    const type = v.decoded.type as number;
    const body = obj(v.decoded.body);
    const decoded = decodeMessage(wire);
    assert.equal(decoded.type, TYPE_NAMES[type]);
    assertFields(decoded, body, name);
    assert.equal(hex(encodeMessage(messageFromGo(type, body))), v.hex, 'listed fields encode to the Go bytes');
    assert.equal(hex(encodeMessage(decoded)), v.hex, 'decode -> encode is byte-identical');
    // A bare message is also a valid single-message packet.
    const p = decodePacket(wire);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.messages, [decoded]);
  });
}

vectorTest('err_resp', (v, wire) => {
  const body = obj(v.decoded.body);
  const msg = streamOk(wire);
  assert.deepEqual(msg, { type: 'err', error: body.Error });
  assert.equal(hex(encodeMessage({ type: 'err', error: body.Error as string })), v.hex);
  // err is stream-only; inside a packet it is an unknown type.
  const p = decodePacket(wire);
  assert.deepEqual(p.messages, []);
  assert.equal(p.errors[0]?.reason, 'unknown_type');
});

vectorTest('push_pull_header', (v, wire) => {
  const body = obj(v.decoded.body);
  assert.equal(wire[0], 6);
  const h = decodePushPullHeader(wire.subarray(1));
  assert.deepEqual(h, { join: body.Join, nodes: body.Nodes, userStateLen: body.UserStateLen });
  assert.equal('06' + hex(encodePushPullHeader(h)), v.hex);
});

vectorTest('user_msg_header', (v, wire) => {
  const body = obj(v.decoded.body);
  assert.equal(wire[0], 8);
  assert.equal(decodeUserMsgHeader(wire.subarray(1)), body.UserMsgLen);
  assert.equal('08' + hex(encodeUserMsgHeader(body.UserMsgLen as number)), v.hex);
});

vectorTest('push_node_state', (v, wire) => {
  const body = obj(v.decoded.body);
  const s = decodePushNodeState(wire.subarray(1));
  assertFields(s, body, v.name);
  assert.equal('06' + hex(encodePushNodeState(nodeFromGo(body))), v.hex);
});

vectorTest('user', (v, wire) => {
  const payload = jbytes(v.decoded.payload)!;
  assert.deepEqual(decodeMessage(wire), { type: 'user', payload });
  assert.equal(hex(encodeMessage({ type: 'user', payload })), v.hex);
});

vectorTest('compress_alive', (v, wire) => {
  const body = obj(v.decoded.body);
  const inner = unhex(v.decoded.inner_hex as string);
  const buf = jbytes(body.Buf)!;
  assert.equal(wire[0], 9);
  const c = decodeCompressBody(wire.subarray(1));
  assert.equal(c.algo, body.Algo);
  assert.equal(hex(c.buf), hex(buf));
  assert.equal(hex(lzwDecompress(buf)), hex(inner));
  assert.equal(hex(lzwCompress(inner)), hex(buf), 'our LZW output equals Go compress/lzw');
  assert.equal(hex(compressMessage(inner)), v.hex);
  assert.equal('09' + hex(encodeCompressBody({ algo: 0, buf })), v.hex);
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages, [decodeMessage(inner)]);
  // Packets only use compression when it shrinks them, and here it does not.
  assert.equal(hex(encodePacket([inner], { compress: true, crc: false })), hex(inner));
});

vectorTest('compound_3', (v, wire) => {
  const d = v.decoded;
  const parts = (d.parts_hex as string[]).map(unhex);
  const c = decodeCompound(wire);
  assert.equal(c.truncated, 0);
  assert.equal(c.parts.length, d.count);
  assert.deepEqual(c.parts.map((p) => p.length), d.lengths);
  assert.deepEqual(c.parts.map(hex), d.parts_hex);
  assert.equal(hex(encodeCompound(parts)), v.hex);
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages, parts.map((x) => decodeMessage(x)));
});

// --- packets ---------------------------------------------------------------

vectorTest('packet_crc_ping', (v, wire) => {
  const inner = unhex(v.decoded.inner_hex as string);
  assert.equal(wire[0], 12);
  assert.equal(hex(wire.subarray(1, 5)), v.decoded.crc32);
  assert.equal(crc32(inner).toString(16).padStart(8, '0'), v.decoded.crc32);
  assert.equal(hex(encodePacket([inner], { compress: false, crc: true })), v.hex);
  assert.equal(hex(encodePacket([inner], { compress: true, crc: true })), v.hex, 'no compression when not smaller');
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages, [decodeMessage(inner)]);
  // One flipped CRC bit drops the packet.
  const bad = wire.slice();
  bad[1]! ^= 1;
  const q = decodePacket(bad);
  assert.deepEqual(q.messages, []);
  assert.equal(q.errors[0]?.reason, 'bad_crc');
});

vectorTest('packet_nocrc_ping', (v, wire) => {
  const inner = unhex(v.decoded.inner_hex as string);
  assert.equal(hex(encodePacket([inner], { compress: false, crc: false })), v.hex);
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages, [decodeMessage(inner)]);
  assert.equal(p.messages[0]?.type, 'ping');
});

vectorTest('packet_crc_compound', (v, wire) => {
  const inner = unhex(v.decoded.inner_hex as string);
  assert.equal(hex(wire.subarray(1, 5)), v.decoded.crc32);
  const parts = decodeCompound(inner).parts;
  assert.equal(parts.length, 3);
  assert.equal(hex(encodePacket(parts, { compress: false, crc: true })), v.hex);
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages.map((m) => m.type), ['ack', 'alive', 'suspect']);
});

vectorTest('packet_ack_piggyback', (v, wire) => {
  const parts = (v.decoded.parts_hex as string[]).map(unhex);
  assert.equal(hex(encodePacket(parts, { compress: false, crc: false })), v.hex);
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages.map((m) => m.type), ['ack', 'alive', 'dead', 'user']);
  assert.deepEqual(p.messages, parts.map((x) => decodeMessage(x)));
});

vectorTest('packet_crc_compressed_compound', (v, wire) => {
  const d = v.decoded;
  const compound = unhex(d.decompressed_hex as string);
  const goBuf = jbytes(obj(d.compress).Buf)!;
  assert.equal(hex(lzwCompress(compound)), hex(goBuf), 'our LZW output equals Go compress/lzw');
  const parts = decodeCompound(compound).parts;
  assert.equal(parts.length, 6);
  assert.equal(hex(encodePacket(parts, { compress: true, crc: true })), v.hex);
  const p = decodePacket(wire);
  assert.deepEqual(p.errors, []);
  assert.equal(p.messages.length, 6);
  assert.deepEqual(p.messages, parts.map((x) => decodeMessage(x)));
  assert.ok(p.messages.every((m) => m.type === 'alive'), 'all alive');
});

function checkEncryptedPacket(v: Vector, wire: Uint8Array, version: 0 | 1): void {
  const d = v.decoded;
  const extra = v.extra!;
  const key = jbytes(extra.key)!;
  const plaintext = jbytes(extra.plaintext)!;
  assert.equal(extra.additional_data, null, 'UDP uses no additional data');
  assert.equal(wire[0], version);
  assert.equal(d.version, version);
  assert.equal(hex(wire.subarray(1, 13)), hex(jbytes(d.nonce)!));
  assert.equal(hex(wire.subarray(13)), hex(jbytes(d.ciphertext_and_tag)!));
  assert.equal(hex(decryptPayload([key], wire)), hex(plaintext));
  // Wrong key first, right key second: the keyring is tried in order.
  const other = new Uint8Array(key.length).fill(7);
  assert.equal(hex(decryptPayload([other, key], wire)), hex(plaintext));
  assert.throws(() => decryptPayload([other], wire), { name: 'DecodeError', reason: 'decrypt_failed' });

  const p = decodePacket(wire, { keyring: [key] });
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.messages, decodePacket(plaintext).messages);
  assert.equal(p.messages[0]?.type, 'ping');
  const dropped = decodePacket(wire, { keyring: [other] });
  assert.deepEqual(dropped.messages, []);
  assert.equal(dropped.errors[0]?.reason, 'decrypt_failed');
  // Without verification the plaintext packet is still accepted next to encryption.
  assert.deepEqual(decodePacket(plaintext, { keyring: [key], verifyIncoming: false }).messages, p.messages);

  // Our encryption of the same plaintext: same length (nonce differs), same contents.
  const layers = v.layers ?? [];
  const crc = layers.includes('hasCrc');
  const message = crc ? plaintext.subarray(5) : plaintext;
  const ours = encodePacket([message], { compress: false, crc, keyring: [key], encryptionVersion: version });
  assert.equal(ours.length, wire.length);
  assert.equal(ours[0], version);
  assert.equal(hex(decryptPayload([key], ours)), hex(plaintext));
  assert.deepEqual(decodePacket(ours, { keyring: [key] }).messages, p.messages);
}

vectorTest('packet_encrypted_aes128_v1', (v, wire) => checkEncryptedPacket(v, wire, 1));
vectorTest('packet_encrypted_aes256_v1', (v, wire) => checkEncryptedPacket(v, wire, 1));
vectorTest('packet_encrypted_aes128_v0', (v, wire) => {
  checkEncryptedPacket(v, wire, 0);
  // The sealed bytes are the PKCS#7-padded plaintext.
  const key = jbytes(v.extra!.key)!;
  const decipher = createDecipheriv('aes-128-gcm', key, wire.subarray(1, 13));
  decipher.setAuthTag(wire.subarray(wire.length - 16));
  const sealed = Buffer.concat([decipher.update(wire.subarray(13, wire.length - 16)), decipher.final()]);
  assert.equal(sealed.toString('hex'), hex(jbytes(v.extra!.padded_plaintext_sealed)!));
});

// --- streams ---------------------------------------------------------------

vectorTest('stream_pushpull_2nodes', (v, wire) => {
  assertPushPull(streamOk(wire), v.decoded, v.name);
  assert.equal(hex(encodeStream(pushPullFromGo(v.name, v.decoded), { compress: false })), v.hex);
  assert.equal(hex(encodeStream(streamOk(wire), { compress: false })), v.hex);
});

vectorTest('stream_pushpull_4nodes_userstate_join', (v, wire) => {
  assertPushPull(streamOk(wire), v.decoded, v.name);
  assert.ok(v.hex.includes('a44d657461a0'), 'node-c Meta is a non-nil empty slice on the wire');
  assert.equal(hex(encodeStream(pushPullFromGo(v.name, v.decoded), { compress: false })), v.hex);
  assert.equal(hex(encodeStream(streamOk(wire), { compress: false })), v.hex);
});

vectorTest('stream_pushpull_compressed', (v, wire) => {
  const d = v.decoded;
  const inner = unhex(v.extra!.decompressed_hex as string);
  const goBuf = jbytes(obj(d.compress).Buf)!;
  assert.equal(hex(lzwDecompress(goBuf)), hex(inner));
  assert.equal(hex(lzwCompress(inner)), hex(goBuf), 'our LZW output equals Go compress/lzw');
  const msg = streamOk(wire);
  assertPushPull(msg, obj(d.decompressed), v.name);
  assert.equal(hex(encodeStream(pushPullFromGo(v.name, obj(d.decompressed)), { compress: true })), v.hex);
  assert.equal(hex(encodeStream(msg, { compress: true })), v.hex);
  // The compressed stream is a prefix-safe read: every shorter prefix asks for more.
  for (let i = 0; i < wire.length; i++) assert.equal(tryDecodeStream(wire.subarray(0, i)).status, 'need-more');
});

vectorTest('stream_pushpull_encrypted', (v, wire) => {
  const d = v.decoded;
  const extra = v.extra!;
  const key = jbytes(extra.key)!;
  const plaintext = jbytes(extra.plaintext)!;
  assert.equal(wire[0], 10);
  assert.equal(new DataView(wire.buffer).getUint32(1), d.length);
  assert.equal(wire.length, 5 + (d.length as number));
  assert.equal(hex(wire.subarray(0, 5)), hex(jbytes(extra.additional_data)!), 'AAD is the 5 header bytes');
  assert.equal(wire[5], d.version);
  assert.equal(hex(wire.subarray(6, 18)), hex(jbytes(d.nonce)!));
  assert.equal(hex(decryptPayload([key], wire.subarray(5), wire.subarray(0, 5))), hex(plaintext));
  assert.throws(() => decryptPayload([key], wire.subarray(5)), { reason: 'decrypt_failed' }, 'AAD is required');

  const msg = streamOk(wire, { keyring: [key] });
  assertPushPull(msg, obj(d.plaintext), v.name);
  assert.equal(hex(encodeStream(msg, { compress: false })), hex(plaintext));

  const listed = pushPullFromGo(v.name, obj(d.plaintext));
  const ours = encodeStream(listed, { compress: false, keyring: [key] });
  assert.equal(ours.length, wire.length);
  assert.equal(hex(ours.subarray(0, 5)), hex(wire.subarray(0, 5)), 'same header (type + length)');
  assert.equal(hex(decryptPayload([key], ours.subarray(5), ours.subarray(0, 5))), hex(plaintext));
  assert.deepEqual(streamOk(ours, { keyring: [key] }), msg);

  const noKey = tryDecodeStream(wire);
  assert.equal(noKey.status, 'error');
  assert.match(noKey.status === 'error' ? noKey.error.message : '', /encrypted and encryption is not configured/);
  const plainWithKey = tryDecodeStream(plaintext, { keyring: [key] });
  assert.equal(plainWithKey.status, 'error');
  assert.match(plainWithKey.status === 'error' ? plainWithKey.error.message : '', /configured but remote state is not encrypted/);
  assert.deepEqual(streamOk(plaintext, { keyring: [key], verifyIncoming: false }), msg);
  for (let i = 0; i < wire.length; i++) {
    assert.equal(tryDecodeStream(wire.subarray(0, i), { keyring: [key] }).status, 'need-more');
  }
});

vectorTest('stream_tcp_ping', (v, wire) => {
  const msg = streamOk(wire);
  assert.equal(msg.type, 'ping');
  assertFields(msg, obj(v.decoded.body), v.name);
  assert.equal(hex(encodeStream(messageFromGo(0, obj(v.decoded.body)) as StreamMessage, { compress: false })), v.hex);
});

vectorTest('stream_tcp_ping_compressed', (v, wire) => {
  const inner = unhex(v.decoded.inner_hex as string);
  const ping = decodeMessage(inner);
  assert.deepEqual(streamOk(wire), ping);
  assert.equal(hex(encodeStream(ping as StreamMessage, { compress: true })), v.hex);
  assert.ok(wire.length > inner.length, 'streams are compressed even when that makes them longer');
});

vectorTest('stream_tcp_ack', (v, wire) => {
  const msg = streamOk(wire);
  assert.equal(msg.type, 'ack');
  assertFields(msg, obj(v.decoded.body), v.name);
  assert.equal(hex(encodeStream(messageFromGo(2, obj(v.decoded.body)) as StreamMessage, { compress: false })), v.hex);
});

vectorTest('stream_user_msg', (v, wire) => {
  const payload = jbytes(v.decoded.payload)!;
  assert.equal(obj(v.decoded.header).UserMsgLen, payload.length);
  assert.deepEqual(streamOk(wire), { type: 'userStream', payload });
  assert.equal(hex(encodeStream({ type: 'userStream', payload }, { compress: false })), v.hex);
  for (let i = 0; i < wire.length; i++) assert.equal(tryDecodeStream(wire.subarray(0, i)).status, 'need-more');
});

test('every vector in vectors.json is covered', () => {
  assert.equal(file.vectors.length, 37);
  assert.deepEqual(
    file.vectors.map((v) => v.name).filter((n) => !covered.has(n)),
    [],
  );
});
