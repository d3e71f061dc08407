import assert from 'node:assert/strict';
import { createRandom } from '../../src/sim/random.js';
import { test } from 'node:test';
import { PacketBuilder, type PacketBuilderOptions } from '../../src/shell/packet-builder.js';
import { BroadcastQueue } from '../../src/swim/broadcast-queue.js';
import { decodeCompound } from '../../src/wire/compound.js';
import { decryptPayload, ENCRYPTION_OVERHEAD_V0, ENCRYPTION_OVERHEAD_V1 } from '../../src/wire/crypto.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { CRC_OVERHEAD, decodePacket } from '../../src/wire/packet.js';
import { tryDecodeStream } from '../../src/wire/stream.js';
import { MessageType } from '../../src/wire/types.js';

const KEY = new Uint8Array(32).fill(3);
const ping = encodeMessage({ type: 'ping', seqNo: 42, node: 'target-node', sourceAddr: Uint8Array.of(10, 0, 0, 1), sourcePort: 7946, sourceNode: 'me' });
const user = (size: number, fill = 1) => encodeMessage({ type: 'user', payload: new Uint8Array(size - 1).fill(fill) });
const nack = (seqNo: number) => encodeMessage({ type: 'nack', seqNo });


type Sealing = 'none' | 'v0' | 'v1';

function builder(over: Partial<PacketBuilderOptions> & { sealing?: Sealing } = {}) {
  const limits: number[] = [];
  const { sealing = 'none', ...rest } = over;
  const opts: PacketBuilderOptions = {
    udpBufferSize: 1400,
    compress: false,
    protocolVersion: sealing === 'v0' ? 1 : 5,
    sealKey: () => (sealing === 'none' ? null : KEY),
    takeGossip: () => [],
    hasGossip: () => false,
    openKeys: () => (sealing === 'none' ? [] : [KEY]),
    ...rest,
  };
  const take = opts.takeGossip;
  opts.takeGossip = (limit) => {
    limits.push(limit);
    return take(limit);
  };
  return { b: new PacketBuilder(opts), limits };
}

const decodeOpts = (sealing: Sealing) => (sealing === 'none' ? {} : { keyring: [KEY] });

test('a packet never exceeds udpBufferSize, with and without encryption, and decodes back', () => {
  for (const sealing of ['none', 'v0', 'v1'] as const) {
    for (const compress of [false, true]) {
      for (const udpBufferSize of [256, 1400]) {
        for (const pmax of [2, 4, 5]) {
          const rand = createRandom(udpBufferSize * 7 + pmax + (compress ? 1 : 0));
          const q = new BroadcastQueue(1000, () => 10);
          let id = 0;
          const refill = () => {
            while (q.depth < 50) {
              const size = 3 + Math.floor(rand() * Math.min(300, udpBufferSize / 2));
              // half random (incompressible), half repetitive
              const m = user(size, id % 256);
              if (rand() < 0.5) for (let i = 1; i < m.length; i++) m[i] = Math.floor(rand() * 256);
              q.queue({ key: `k${id++}`, message: m });
            }
          };
          const { b } = builder({ sealing, compress, udpBufferSize, takeGossip: (limit) => q.take(2, limit), hasGossip: () => q.depth > 0 });
          let piggybacked = 0;
          let largest = 0;
          for (let round = 0; round < 40; round++) {
            refill();
            const base = round % 3 === 0 ? [] : round % 3 === 1 ? [ping] : [ping, user(20)];
            const msgs = base.length === 0 ? b.gossip(pmax) : b.withGossip(base, pmax);
            piggybacked += msgs.length - base.length;
            const packets = b.encode(msgs, pmax);
            assert.equal(packets.length, 1);
            for (const p of packets) {
              const label = `${sealing} compress=${compress} udp=${udpBufferSize} pmax=${pmax} round ${round}`;
              assert.ok(p.length <= udpBufferSize, `${label}: ${p.length} > ${udpBufferSize}`);
              largest = Math.max(largest, p.length);
              const d = decodePacket(p, decodeOpts(sealing));
              assert.deepEqual(d.errors, [], label);
              assert.equal(d.messages.length, msgs.length, label);
              assert.equal(b.decode(p).messages.length, msgs.length, 'the builder decodes its own packets');
            }
          }
          assert.ok(piggybacked > 40, 'gossip was piggybacked');
          if (!compress) assert.ok(largest > udpBufferSize - 80, `packets get close to full (${largest})`);
        }
      }
    }
  }
});

test('gossip is piggybacked up to the budget and not beyond', () => {
  for (const sealing of ['none', 'v0', 'v1'] as const) {
    for (const pmax of [4, 5]) {
      const overhead = 2 + (pmax >= 5 ? CRC_OVERHEAD : 0) + { none: 0, v0: ENCRYPTION_OVERHEAD_V0, v1: ENCRYPTION_OVERHEAD_V1 }[sealing];
      const label = `${sealing} pmax=${pmax}`;
      // What is left for gossip beside the ping: every message costs its 2-byte length slot.
      const budget = 300 - overhead - (ping.length + 2);
      {
        const { b } = builder({ sealing, udpBufferSize: 300 });
        assert.equal(b.gossipBudget(ping.length + 2, pmax), budget, label);
        assert.equal(b.gossipBudget(0, pmax), 300 - overhead, label);
        assert.equal(b.gossipBudget(10_000, pmax), 0, 'never negative');
      }
      // One byte too many: nothing fits, the ping goes alone and the message stays queued.
      {
        const q = new BroadcastQueue(4, () => 10);
        q.queue({ key: 'big', message: user(budget - 2 + 1) });
        const { b, limits } = builder({ sealing, udpBufferSize: 300, takeGossip: (l) => q.take(2, l), hasGossip: () => q.depth > 0 });
        const msgs = b.withGossip([ping], pmax);
        assert.deepEqual(limits, [budget], label);
        assert.deepEqual(msgs, [ping], label);
        assert.equal(q.depth, 1);
      }
      // Exactly the budget: the packet is full to the byte (no compression, v1 or no sealing).
      {
        const q = new BroadcastQueue(4, () => 10);
        const exact = user(budget - 2);
        q.queue({ key: 'exact', message: exact });
        const { b } = builder({ sealing, udpBufferSize: 300, takeGossip: (l) => q.take(2, l), hasGossip: () => q.depth > 0 });
        const msgs = b.withGossip([ping], pmax);
        assert.deepEqual(msgs, [ping, exact], label);
        const [p, ...more] = b.encode(msgs, pmax);
        assert.equal(more.length, 0);
        if (sealing === 'v0') assert.ok(p!.length <= 300 && p!.length > 300 - 16, `${label}: ${p!.length}`);
        else assert.equal(p!.length, 300, label);
        assert.equal(decodePacket(p!, decodeOpts(sealing)).messages.length, 2);
      }
    }
  }
});

test('gossip() alone and a packet with no room ask nothing of the queues', () => {
  const { b, limits } = builder({ udpBufferSize: 100 });
  assert.deepEqual(b.withGossip([user(200)], 5), [user(200)]);
  assert.deepEqual(limits, [], 'no room: the queues are not asked');
  assert.deepEqual(b.gossip(5), []);
  assert.deepEqual(limits, [100 - 2 - CRC_OVERHEAD]);
  // unknown peer version: charge the CRC to be safe
  assert.equal(b.gossipBudget(), 100 - 2 - CRC_OVERHEAD);
});

test('more than 255 messages are split into several compounds', () => {
  for (const sealing of ['none', 'v1'] as const) {
    const { b } = builder({ sealing, udpBufferSize: 65_000 });
    const msgs = Array.from({ length: 600 }, (_, i) => nack(i));
    const packets = b.encode(msgs, 5);
    assert.equal(packets.length, 3);
    const counts: number[] = [];
    const seqs: number[] = [];
    for (const p of packets) {
      let plain = sealing === 'none' ? p : decryptPayload([KEY], p);
      assert.equal(plain[0], MessageType.hasCrc);
      plain = plain.subarray(CRC_OVERHEAD);
      assert.equal(plain[0], MessageType.compound);
      counts.push(decodeCompound(plain).parts.length);
      const d = decodePacket(p, decodeOpts(sealing));
      assert.deepEqual(d.errors, []);
      for (const m of d.messages) seqs.push((m as { seqNo: number }).seqNo);
    }
    assert.deepEqual(counts, [255, 255, 90]);
    assert.deepEqual(seqs, msgs.map((_, i) => i), 'every message once, in order');
  }
  // exactly 255: one compound; 256: a compound and a lone message
  const { b } = builder();
  assert.equal(b.encode(Array.from({ length: 255 }, (_, i) => nack(i)), 4).length, 1);
  const two = b.encode(Array.from({ length: 256 }, (_, i) => nack(i)), 4);
  assert.equal(two.length, 2);
  assert.equal(two[1]![0], MessageType.nack, 'the 256th goes bare');
  assert.deepEqual(b.encode([], 5), [], 'nothing to send: no packet');
});

test('CRC only for peers with PMax >= 5', () => {
  for (const sealing of ['none', 'v0', 'v1'] as const) {
    const { b } = builder({ sealing });
    for (const pmax of [0, 1, 2, 3, 4, 5, 6]) {
      for (const msgs of [[ping], [ping, nack(1)]]) {
        const [p] = b.encode(msgs, pmax);
        const plain = sealing === 'none' ? p! : decryptPayload([KEY], p!);
        const crc = plain[0] === MessageType.hasCrc;
        assert.equal(crc, pmax >= 5, `${sealing} pmax=${pmax} ${msgs.length} message(s)`);
        assert.equal(plain[crc ? CRC_OVERHEAD : 0], msgs.length === 1 ? MessageType.ping : MessageType.compound);
        assert.equal(decodePacket(p!, decodeOpts(sealing)).messages.length, msgs.length);
      }
    }
  }
});

test('sealing: version 0 for protocol version 1, version 1 otherwise; none without a key', () => {
  for (const [protocolVersion, version] of [
    [1, 0],
    [2, 1],
    [5, 1],
  ] as const) {
    const { b } = builder({ sealing: 'v1', protocolVersion });
    assert.equal(b.encryptionVersion, version);
    assert.equal(b.encryptionOverhead(), version === 0 ? ENCRYPTION_OVERHEAD_V0 : ENCRYPTION_OVERHEAD_V1);
    const [p] = b.encode([ping], 5);
    assert.equal(p![0], version, 'the version byte leads a sealed packet');
    assert.equal(decodePacket(p!, { keyring: [KEY] }).messages.length, 1);
  }
  const { b } = builder({ sealing: 'none' });
  assert.equal(b.encryptionOverhead(), 0);
  assert.deepEqual(b.encode([ping], 4), [ping], 'a lone message, unsealed, no CRC: the message itself');
  assert.deepEqual(b.decodeOptions(), {});
});

test('the key is asked for at each packet, so a key rotation applies at once', () => {
  const keys = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];
  let primary: Uint8Array | null = keys[0]!;
  const b = new PacketBuilder({
    udpBufferSize: 1400,
    compress: false,
    protocolVersion: 5,
    sealKey: () => primary,
    takeGossip: () => [],
    hasGossip: () => false,
    openKeys: () => keys,
  });
  const first = b.encode([ping], 5)[0]!;
  primary = keys[1]!;
  const second = b.encode([ping], 5)[0]!;
  assert.throws(() => decryptPayload([keys[1]!], first));
  assert.ok(decryptPayload([keys[1]!], second));
  primary = null; // gossipVerifyOutgoing off: plaintext out, both keys still accepted in
  assert.equal(b.encode([ping], 5)[0]![0], MessageType.hasCrc);
  assert.equal(b.gossipBudget(0, 5), 1400 - 2 - CRC_OVERHEAD);
  assert.deepEqual(b.decodeOptions(), { keyring: keys, verifyIncoming: true });
  assert.equal(b.decode(first).messages.length, 1);
  assert.equal(b.decode(second).messages.length, 1);
  assert.equal(b.decode(Uint8Array.of(1, 2, 3)).errors.length, 1, 'garbage is an error, not a throw');
});

test('compression: used when smaller, and the packet still decodes', () => {
  const { b } = builder({ compress: true });
  const msgs = Array.from({ length: 10 }, () => user(100, 0x61));
  const [p] = b.encode(msgs, 4);
  assert.equal(p![0], MessageType.compress);
  assert.ok(p!.length < 10 * 102);
  assert.equal(decodePacket(p!).messages.length, 10);
  const [small] = b.encode([ping], 4);
  assert.deepEqual(small, ping, 'a lone ping is not worth compressing');
});

test('encodeStream seals and compresses like packets', () => {
  const { b } = builder({ sealing: 'v1', compress: true });
  const bytes = b.encodeStream({ type: 'userStream', payload: new Uint8Array(500).fill(0x62) });
  assert.equal(bytes[0], MessageType.encrypt);
  const r = tryDecodeStream(bytes, { keyring: [KEY] });
  assert.equal(r.status, 'ok');
  assert.equal(r.status === 'ok' && r.message.type, 'userStream');
});
