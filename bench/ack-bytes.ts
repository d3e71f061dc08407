// Bytes per ack with and without Serf's network coordinate, computed from the encoded
// sizes (no timing): the ack message, and the datagram a lone ack becomes under each
// packet option rxswim uses (CRC for protocol ≥ 5 peers, LZW when it pays, AES-GCM).
// A seqNo over 127 adds 2 bytes (uint16), over 65535 4 (uint32), to every row alike.
// Coordinates: the origin (a fresh node) and one captured from a real Serf agent.
//
// node --import tsx bench/ack-bytes.ts [--md]
import { readFileSync } from 'node:fs';
import { newCoordinate } from '../src/serf/coordinate.js';
import { encodePingPayload } from '../src/serf/ping-payload.js';
import { decodeMessage, encodeMessage } from '../src/wire/messages.js';
import { encodePacket } from '../src/wire/packet.js';

const captured = JSON.parse(readFileSync(new URL('../test/fixtures/serf/ack-payloads.json', import.meta.url), 'utf8')) as { acks: Array<{ udpPayloadHex: string }> };
const serfAck = decodeMessage(new Uint8Array(Buffer.from(captured.acks[0]!.udpPayloadHex, 'hex')));
if (serfAck.type !== 'ack' || !serfAck.payload) throw new Error('fixture: not an ack with a payload');

const KEY = new Uint8Array(32);
const cases = [
  { what: 'no coordinate (coordinates: false)', payload: null },
  { what: 'coordinate at the origin', payload: encodePingPayload(newCoordinate()) },
  { what: "coordinate from a Serf agent's ack", payload: serfAck.payload },
];
const variants = [
  { what: 'message', opts: undefined },
  { what: 'datagram, plain', opts: { compress: false, crc: false } },
  { what: 'datagram, CRC (protocol 5)', opts: { compress: false, crc: true } },
  { what: 'datagram, CRC + LZW', opts: { compress: true, crc: true } },
  { what: 'datagram, CRC + LZW + AES-GCM', opts: { compress: true, crc: true, keyring: [KEY], encryptionVersion: 1 as const } },
];

const rows = cases.map((c) => {
  const msg = encodeMessage({ type: 'ack', seqNo: 100, payload: c.payload });
  return [c.what, ...variants.map((v) => (v.opts ? encodePacket([msg], v.opts) : msg).length)];
});
if (process.argv.includes('--md')) {
  console.log(`| ack (seqNo 100) | ${variants.map((v) => v.what).join(' | ')} |`);
  console.log(`|---|${variants.map(() => '---:').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} else console.log(JSON.stringify({ variants: variants.map((v) => v.what), rows }, null, 2));
