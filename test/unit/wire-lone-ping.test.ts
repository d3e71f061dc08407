// The ping → ack fast path (src/wire/lone-ping.ts) against the general codec: whatever
// the fast reader accepts, decodePacket reads as exactly that one ping; what it refuses
// the general path still takes; the ack it writes is the general encoder's, byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createRandom } from '../../src/sim/random.js';
import { labelHeader, type LabelPolicy } from '../../src/wire/label.js';
import { encodeLoneAck, readLonePing, type LonePing } from '../../src/wire/lone-ping.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { decodePacket, encodePacket } from '../../src/wire/packet.js';
import type { Ping } from '../../src/wire/types.js';

const vectors = new Map(
  (JSON.parse(readFileSync(new URL('../fixtures/memberlist/vectors.json', import.meta.url), 'utf8')) as { vectors: Array<{ name: string; hex: string }> }).vectors.map((v) => [v.name, new Uint8Array(Buffer.from(v.hex, 'hex'))]),
);
const te = new TextEncoder();
const NO_LABEL: LabelPolicy = { label: new Uint8Array(0), acceptUnlabelled: false };
const label = (s: string, acceptUnlabelled = false): LabelPolicy => ({ label: te.encode(s), acceptUnlabelled });

/** what the general path makes of a datagram, as the fast reader's shape (null: not one clean ping) */
function general(data: Uint8Array, policy: LabelPolicy): LonePing | null {
  const d = decodePacket(data, { label: policy });
  if (d.errors.length > 0 || d.messages.length !== 1 || d.messages[0]!.type !== 'ping') return null;
  const p = d.messages[0] as Ping;
  return { seqNo: p.seqNo, node: te.encode(p.node), sourceAddr: p.sourceAddr && p.sourceAddr.length > 0 ? p.sourceAddr : null, sourcePort: p.sourcePort ?? 0 };
}

// The name as text: the fast reader hands over raw bytes, the general one a decoded string
// (ill-formed UTF-8 becomes U+FFFD). Either way only a name whose bytes are the agent's own
// (well-formed) name is answered, so the two readings agree wherever it matters.
const td = new TextDecoder();
const plain = (p: LonePing | null) => p && { seqNo: p.seqNo, node: td.decode(p.node), sourceAddr: p.sourceAddr ? Buffer.from(p.sourceAddr).toString('hex') : null, sourcePort: p.sourcePort };

function pingPacket(m: Omit<Ping, 'type'>, opts: { crc?: boolean; label?: string; compress?: boolean } = {}): Uint8Array {
  return encodePacket([encodeMessage({ type: 'ping', ...m })], { crc: opts.crc ?? false, compress: opts.compress ?? false, label: te.encode(opts.label ?? '') });
}

test('memberlist\'s own pings (Go vectors) take the fast path, read as the general decoder reads them', () => {
  for (const name of ['ping', 'ping_minimal', 'ping_no_node', 'packet_crc_ping', 'packet_nocrc_ping']) {
    const data = vectors.get(name)!;
    const fast = readLonePing(data, NO_LABEL, false);
    assert.ok(fast, `${name}: taken by the fast path`);
    assert.deepEqual(plain(fast), plain(general(data, NO_LABEL)), name);
  }
  const p = readLonePing(vectors.get('packet_crc_ping')!, NO_LABEL, false)!;
  assert.equal(Buffer.from(p.node).toString(), 'node-b');
  assert.deepEqual([...p.sourceAddr!], [127, 0, 0, 1]);
  assert.equal(p.sourcePort, 7946);
});

test('every ping rxswim sends reads the same both ways: seqNo, name and source forms, CRC, label', () => {
  const seqNos = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1];
  const names = ['', 'n', 'node-b', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(300), 'nœud-é'];
  const sources: Array<Pick<Ping, 'sourceAddr' | 'sourcePort' | 'sourceNode'>> = [
    { sourceAddr: null, sourcePort: 0, sourceNode: '' },
    { sourceAddr: Uint8Array.of(127, 0, 0, 9), sourcePort: 7946, sourceNode: 'me' },
    { sourceAddr: new Uint8Array(16).fill(1), sourcePort: 65535, sourceNode: 'v6' },
  ];
  let n = 0;
  for (const seqNo of seqNos)
    for (const node of names)
      for (const s of sources)
        for (const crc of [false, true])
          for (const l of ['', 'prod']) {
            const data = pingPacket({ seqNo, node, ...s }, { crc, label: l });
            const policy = l ? label(l) : NO_LABEL;
            const fast = readLonePing(data, policy, false);
            assert.ok(fast, `taken: ${seqNo} ${node} crc=${crc} label=${l}`);
            assert.deepEqual(plain(fast), plain(general(data, policy)));
            n++;
          }
  assert.equal(n, seqNos.length * names.length * sources.length * 4);
});

test('anything but one plain, acceptable ping is left to the general path', () => {
  const ping = { seqNo: 7, node: 'b', sourceAddr: Uint8Array.of(127, 0, 0, 1), sourcePort: 7946, sourceNode: 'a' };
  const data = pingPacket(ping, { crc: true });
  assert.ok(readLonePing(data, NO_LABEL, false));
  // the node decrypts what it reads: no plaintext taken at face value
  assert.equal(readLonePing(data, NO_LABEL, true), null, 'keyring');
  // compound, compressed
  const both = encodePacket([encodeMessage({ type: 'ping', ...ping }), encodeMessage({ type: 'nack', seqNo: 1 })], { crc: false, compress: false, label: new Uint8Array(0) });
  assert.equal(readLonePing(both, NO_LABEL, false), null, 'compound');
  const z = encodePacket([encodeMessage({ type: 'ping', ...ping, node: 'b'.repeat(200) })], { crc: false, compress: true, label: new Uint8Array(0) });
  assert.equal(z[0], 9, 'the fixture is compressed');
  assert.equal(readLonePing(z, NO_LABEL, false), null, 'compressed');
  // other messages
  assert.equal(readLonePing(vectors.get('indirect_ping')!, NO_LABEL, false), null, 'indirect ping');
  assert.equal(readLonePing(vectors.get('ack_empty')!, NO_LABEL, false), null, 'ack');
  // CRC wrong: the general path counts the drop
  const bad = data.slice();
  bad[2]! ^= 1;
  assert.equal(readLonePing(bad, NO_LABEL, false), null, 'bad CRC');
  assert.equal(decodePacket(bad).errors[0]?.reason, 'bad_crc');
  // labels: missing where required, unexpected, another cluster's; accepted unlabelled during a rollout
  const labelled = pingPacket(ping, { label: 'prod' });
  assert.equal(readLonePing(data, label('prod'), false), null, 'label missing');
  assert.ok(readLonePing(data, label('prod', true), false), 'unlabelled accepted during a rollout');
  assert.equal(readLonePing(labelled, NO_LABEL, false), null, 'label unexpected');
  assert.equal(readLonePing(labelled, label('prud'), false), null, 'label mismatch');
  assert.equal(readLonePing(labelled, label('prod2'), false), null, 'label of another length');
  // trailing bytes, an unknown key, a key twice, an integer form memberlist does not write
  const body = encodeMessage({ type: 'ping', ...ping });
  assert.equal(readLonePing(Uint8Array.of(...body, 0), NO_LABEL, false), null, 'trailing byte');
  const unknown = Uint8Array.of(0, 0x82, 0xa5, ...te.encode('SeqNo'), 1, 0xa5, ...te.encode('Extra'), 1);
  assert.equal(readLonePing(unknown, NO_LABEL, false), null, 'unknown key');
  assert.ok(general(unknown, NO_LABEL), 'which the general path accepts (Go ignores unknown keys)');
  const twice = Uint8Array.of(0, 0x82, 0xa5, ...te.encode('SeqNo'), 1, 0xa5, ...te.encode('SeqNo'), 2);
  assert.equal(readLonePing(twice, NO_LABEL, false), null, 'a key twice');
  const wide = Uint8Array.of(0, 0x81, 0xa5, ...te.encode('SeqNo'), 0xcf, 0, 0, 0, 0, 0, 0, 0, 1);
  assert.equal(readLonePing(wide, NO_LABEL, false), null, 'uint64 form');
  assert.equal(readLonePing(Uint8Array.of(0, 0x80), NO_LABEL, false), null, 'no SeqNo');
  assert.equal(readLonePing(new Uint8Array(0), NO_LABEL, false), null, 'empty');
});

test('truncated and mutated pings: the fast path refuses, or reads exactly what the general path reads', () => {
  const rand = createRandom(11);
  let taken = 0;
  let refused = 0;
  for (let round = 0; round < 400; round++) {
    const crc = round % 2 === 0;
    const l = round % 3 === 0 ? 'prod' : '';
    const policy = l ? label(l) : NO_LABEL;
    const data = pingPacket({ seqNo: Math.floor(rand() * 2 ** 32), node: 'node-' + round, sourceAddr: Uint8Array.of(127, 0, 0, round & 0xff), sourcePort: round, sourceNode: 'src' }, { crc, label: l });
    for (let cut = 0; cut < data.length; cut++) assert.equal(readLonePing(data.subarray(0, cut), policy, false), null, `cut at ${cut}`);
    for (let k = 0; k < 8; k++) {
      const m = data.slice();
      m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      const fast = readLonePing(m, policy, false);
      if (fast === null) refused++;
      else {
        taken++;
        assert.deepEqual(plain(fast), plain(general(m, policy)), `mutation ${Buffer.from(m).toString('hex')}`);
      }
    }
  }
  assert.ok(taken > 100 && refused > 100, `both outcomes exercised: ${taken} taken, ${refused} refused`);
});

test('the lone ack is the general encoder\'s packet, byte for byte', () => {
  const payloads = [null, new Uint8Array(0), Uint8Array.of(1, 0xde, 0xad), new Uint8Array(31).fill(2), new Uint8Array(32).fill(3), new Uint8Array(120).fill(4), new Uint8Array(70_000).fill(5)];
  for (const seqNo of [0, 42, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1])
    for (const payload of payloads)
      for (const l of ['', 'prod']) {
        const expected = encodePacket([encodeMessage({ type: 'ack', seqNo, payload })], { crc: false, compress: false, label: te.encode(l) });
        assert.deepEqual(encodeLoneAck(labelHeader(te.encode(l)), seqNo, payload), expected, `${seqNo} ${payload?.length} ${l}`);
      }
  // and Go's own acks
  assert.deepEqual(encodeLoneAck(new Uint8Array(0), 42, null), vectors.get('ack_empty'));
  assert.deepEqual(encodeLoneAck(new Uint8Array(0), 42, Uint8Array.of(1, 0xde, 0xad, 0xbe, 0xef)), vectors.get('ack_payload'));
});
