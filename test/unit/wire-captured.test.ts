// Real serf 0.8.2 / memberlist 0.2.2 traffic captured on loopback: every packet
// and stream must decode with no errors, no leftover bytes, and the same
// messages the capture's reference decoder saw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodePacket, encodeMessage, encodeStream, tryDecodeStream } from '../../src/wire/index.js';
import type { PacketMessage, PushPull, StreamMessage } from '../../src/wire/types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Captured {
  run: string;
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  summary: string;
  hex: string;
  decoded: Obj;
}

const file = JSON.parse(
  readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8'),
) as { packets: Captured[] };

const KEY = new Uint8Array(Buffer.from('AAECAwQFBgcICQoLDA0ODw==', 'base64'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const tsName = (k: string): string => k[0]!.toLowerCase() + k.slice(1);

function norm(v: unknown): unknown {
  if (v === null) return 'bytes:';
  if (v instanceof Uint8Array) return `bytes:${hex(v)}`;
  if (typeof v === 'object' && v !== null && typeof (v as Obj).$bytes === 'string') return `bytes:${(v as Obj).$bytes as string}`;
  return v;
}

function assertFields(ours: object, goBody: Obj, what: string): void {
  const o = ours as Record<string, unknown>;
  for (const [k, v] of Object.entries(goBody)) assert.deepEqual(norm(o[tsName(k)] ?? null), norm(v), `${what}: ${k}`);
}

const TYPE_NAMES: Record<number, string> = { 0: 'ping', 1: 'indirectPing', 2: 'ack', 3: 'suspect', 4: 'alive', 5: 'dead', 8: 'user', 11: 'nack' };

/** The reference decoder's tree, flattened to the leaf messages in order. */
function leaves(m: Obj): Obj[] {
  if (m.type === 7) return (m.parts as Obj[]).flatMap(leaves);
  if (m.type === 9) return leaves(m.inner as Obj);
  return [m];
}

function assertLeaf(ours: PacketMessage, ref: Obj, what: string): void {
  assert.equal(ours.type, TYPE_NAMES[ref.type as number], what);
  if (ours.type === 'user') assert.equal(hex(ours.payload), (ref.payload as Obj).$bytes);
  else assertFields(ours, ref.body as Obj, what);
}

test('capture holds 42 packets/streams from three runs', () => {
  assert.equal(file.packets.length, 42);
  assert.deepEqual(new Set(file.packets.map((p) => p.run)), new Set(['plain-2node', 'failure-3node', 'encrypted-2node']));
});

for (const [i, p] of file.packets.entries()) {
  const encrypted = p.run === 'encrypted-2node';
  const opts = encrypted ? { keyring: [KEY] } : {};
  test(`captured #${i} ${p.run} ${p.proto} ${p.src}->${p.dst}: ${p.summary}`, () => {
    const wire = new Uint8Array(Buffer.from(p.hex, 'hex'));
    if (p.proto === 'udp') {
      const r = decodePacket(wire, opts);
      assert.deepEqual(r.errors, []);
      const ref = leaves(p.decoded.message as Obj);
      assert.equal(r.messages.length, ref.length);
      r.messages.forEach((m, j) => assertLeaf(m, ref[j]!, `message ${j}`));
      // Each message re-encodes to exactly the bytes Go sent (checked for the plain ones).
      if (!encrypted && p.summary === TYPE_NAMES[wire[0]!]) assert.equal(hex(encodeMessage(r.messages[0]!)), p.hex);
      // Without the key the ciphertext is just noise to the decoder.
      if (encrypted) assert.ok(decodePacket(wire).errors.length > 0, 'undecryptable without the key');
    } else {
      const r = tryDecodeStream(wire, opts);
      assert.equal(r.status, 'ok', r.status === 'error' ? r.error.message : r.status);
      if (r.status !== 'ok') return;
      assert.equal(r.consumed, wire.length, 'no leftover bytes');
      const ref = p.decoded;
      assert.equal(ref.type, 6);
      const msg: StreamMessage = r.message;
      assert.equal(msg.type, 'pushPull');
      const pp = msg as PushPull;
      const header = ref.header as Obj;
      assert.equal(pp.join, header.Join);
      assert.equal(pp.nodes.length, header.Nodes);
      assert.equal(pp.userState.length, header.UserStateLen);
      (ref.nodes as Obj[]).forEach((n, j) => assertFields(pp.nodes[j]!, n, `node ${j}`));
      assert.equal(hex(pp.userState), (ref.user_state as Obj).$bytes);
      if (!encrypted) {
        // Serf's compressed push/pull is reproduced byte for byte from the decoded message.
        assert.equal(hex(encodeStream(pp, { compress: true })), p.hex);
        for (const cut of [1, 5, Math.floor(wire.length / 2), wire.length - 1]) {
          assert.equal(tryDecodeStream(wire.subarray(0, cut)).status, 'need-more', `prefix ${cut}`);
        }
      } else {
        const noKey = tryDecodeStream(wire);
        assert.equal(noKey.status, 'error');
      }
    }
  });
}
