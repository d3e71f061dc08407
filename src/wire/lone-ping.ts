// A probe's round trip without the general codec: a datagram that is exactly one plain
// ping (behind the label header and a CRC, when present) is read in place, and its ack
// is written straight into the bytes that go on the wire.
//
// Why a second reader: at SWIM's rate of about one ping a second, the ping → ack path
// runs cold (other processes have evicted its code and data between two pings), and
// on these machines every distinct function and object it touches then costs about a
// microsecond. The general path (decodePacket's layers, the message struct reader, the
// generic msgpack writer, the packet builder) touched enough of them to make an ack
// leave ~250 µs after its ping arrived, where a bare Node UDP echo needs ~70
// (bench/results/profile-issue11-rtt.md). The ack is the prober's RTT: its failure
// detector's timeout and, in Serf clusters, every peer's network coordinate.
//
// Narrow by design: anything but one plain ping — encrypted, compressed, compound, an
// unknown or duplicated key, a value of an unexpected form, trailing bytes — gives
// null, and the caller hands the datagram to the general path exactly as before. So
// this path can only be faster, never different: test/unit/wire-lone-ping.test.ts
// checks that whatever it reads the general decoder reads the same, and that the ack
// it writes is byte for byte the one the general encoder writes. Never throws.
import { crc32 } from 'node:zlib';
import { HAS_LABEL_MSG, type LabelPolicy } from './label.js';
import { rawHeaderLength, readU32BE, uintLength, writeRawHeader, writeUint } from './msgpack.js';
import { MessageType } from './types.js';

export interface LonePing {
  seqNo: number;
  /** the name the prober meant (empty: any), as a view into the datagram */
  node: Uint8Array;
  /** the prober's own address, a view into the datagram; null when not sent or empty */
  sourceAddr: Uint8Array | null;
  sourcePort: number;
}

const CRC_HEADER = 5;
const U16 = 0xffff;
const U32 = 0xffffffff;

// The ping struct's keys by length and first differing byte: "SeqNo", "Node",
// "SourceAddr", "SourcePort", "SourceNode" (memberlist's ping).
const SEQ_NO = 1;
const NODE = 2;
const SOURCE_ADDR = 4;
const SOURCE_PORT = 8;
const SOURCE_NODE = 16;

function keyAt(b: Uint8Array, p: number, n: number): number {
  if (n === 5) return b[p] === 0x53 && b[p + 1] === 0x65 && b[p + 2] === 0x71 && b[p + 3] === 0x4e && b[p + 4] === 0x6f ? SEQ_NO : 0;
  if (n === 4) return b[p] === 0x4e && b[p + 1] === 0x6f && b[p + 2] === 0x64 && b[p + 3] === 0x65 ? NODE : 0;
  if (n !== 10) return 0;
  // "Source" then "Addr" / "Port" / "Node"
  if (b[p] !== 0x53 || b[p + 1] !== 0x6f || b[p + 2] !== 0x75 || b[p + 3] !== 0x72 || b[p + 4] !== 0x63 || b[p + 5] !== 0x65) return 0;
  const a = b[p + 6];
  const c = b[p + 7];
  const d = b[p + 8];
  const e = b[p + 9];
  if (a === 0x41 && c === 0x64 && d === 0x64 && e === 0x72) return SOURCE_ADDR;
  if (a === 0x50 && c === 0x6f && d === 0x72 && e === 0x74) return SOURCE_PORT;
  if (a === 0x4e && c === 0x6f && d === 0x64 && e === 0x65) return SOURCE_NODE;
  return 0;
}

/**
 * The one ping a datagram carries, if it is nothing else; null for anything the general
 * path must judge (including every datagram the label policy or the CRC refuses, so
 * that the general path counts the drop). `encrypted`: the node opens packets with a
 * keyring, where no plaintext may be trusted: always null.
 */
export function readLonePing(data: Uint8Array, accept: LabelPolicy, encrypted: boolean): LonePing | null {
  if (encrypted) return null;
  const end = data.length;
  let p = 0;
  if (end === 0) return null;
  const label = accept.label;
  if (data[0] === HAS_LABEL_MSG) {
    if (end < 2) return null;
    const n = data[1] as number;
    if (n === 0 || n !== label.length || 2 + n > end) return null;
    for (let i = 0; i < n; i++) if (data[2 + i] !== label[i]) return null;
    p = 2 + n;
  } else if (label.length > 0 && !accept.acceptUnlabelled) return null;
  if (data[p] === MessageType.hasCrc) {
    if (end - p < CRC_HEADER) return null;
    const expected = readU32BE(data, p + 1);
    if (crc32(data.subarray(p + CRC_HEADER)) !== expected) return null;
    p += CRC_HEADER;
  }
  if (p >= end || data[p] !== MessageType.ping) return null;
  p++;
  // the struct: a fixmap of at most the five fields
  const h = data[p] as number;
  if (h < 0x80 || h > 0x85) return null;
  let left = h & 0x0f;
  p++;
  let seen = 0;
  let seqNo = 0;
  let node: Uint8Array | null = null;
  let sourceAddr: Uint8Array | null = null;
  let sourcePort = 0;
  while (left-- > 0) {
    // keys: fixstr
    if (p >= end) return null;
    const kh = data[p] as number;
    if (kh < 0xa0 || kh > 0xbf) return null;
    const kn = kh & 0x1f;
    if (p + 1 + kn > end) return null;
    const key = keyAt(data, p + 1, kn);
    if (key === 0 || (seen & key) !== 0) return null;
    seen |= key;
    p += 1 + kn;
    if (p >= end) return null;
    const v = data[p] as number;
    if (key === SEQ_NO || key === SOURCE_PORT) {
      let u: number;
      if (v <= 0x7f) {
        u = v;
        p += 1;
      } else if (v === 0xcc && p + 2 <= end) {
        u = data[p + 1] as number;
        p += 2;
      } else if (v === 0xcd && p + 3 <= end) {
        u = ((data[p + 1] as number) << 8) | (data[p + 2] as number);
        p += 3;
      } else if (v === 0xce && p + 5 <= end) {
        u = readU32BE(data, p + 1);
        p += 5;
      } else return null;
      if (key === SEQ_NO) {
        if (u > U32) return null;
        seqNo = u;
      } else {
        if (u > U16) return null;
        sourcePort = u;
      }
      continue;
    }
    // Node, SourceAddr, SourceNode: old-spec raw (fixstr or raw16), as memberlist writes
    // them, or nil (the zero value, as the general reader takes it)
    let n: number;
    if (v === 0xc0) {
      n = 0;
      p += 1;
    } else if (v >= 0xa0 && v <= 0xbf) {
      n = v & 0x1f;
      p += 1;
    } else if (v === 0xda && p + 3 <= end) {
      n = ((data[p + 1] as number) << 8) | (data[p + 2] as number);
      p += 3;
    } else return null;
    if (p + n > end) return null;
    if (key === NODE) node = data.subarray(p, p + n);
    else if (key === SOURCE_ADDR) sourceAddr = n > 0 ? data.subarray(p, p + n) : null;
    p += n;
  }
  if (p !== end || (seen & SEQ_NO) === 0) return null;
  return { seqNo, node: node ?? data.subarray(0, 0), sourceAddr, sourcePort };
}

const ACK_HEAD = [MessageType.ack, 0x82, 0xa7, 0x50, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64]; // ack, map of 2, "Payload"
const SEQ_KEY = [0xa5, 0x53, 0x65, 0x71, 0x4e, 0x6f]; // "SeqNo"

/**
 * The packet answering a ping: the label header (`header`, empty for none), then the
 * ack `{Payload, SeqNo}` as encodeMessage writes it, uncompressed and without a CRC (an
 * ack goes to an address, not a member whose protocol we know: Outbound.reply). A fresh
 * array each time: the transport may hold it until the kernel takes it.
 */
export function encodeLoneAck(header: Uint8Array, seqNo: number, payload: Uint8Array | null): Uint8Array {
  const pn = payload === null ? 0 : payload.length;
  const out = new Uint8Array(header.length + ACK_HEAD.length + rawHeaderLength(pn) + pn + SEQ_KEY.length + uintLength(seqNo));
  let p = 0;
  for (let i = 0; i < header.length; i++) out[p++] = header[i] as number;
  for (let i = 0; i < ACK_HEAD.length; i++) out[p++] = ACK_HEAD[i] as number;
  if (payload === null) out[p++] = 0xc0;
  else {
    p = writeRawHeader(out, p, pn);
    out.set(payload, p);
    p += pn;
  }
  for (let i = 0; i < SEQ_KEY.length; i++) out[p++] = SEQ_KEY[i] as number;
  writeUint(out, p, seqNo);
  return out;
}
