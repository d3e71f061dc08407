// Compound message (type 7, spec §5.2): several complete messages in one datagram,
// used to piggy-back gossip on probes.

import { DecodeError } from '../errors.js';
import type { Compound } from './types.js';
import { MessageType } from './types.js';

/** The count is a single byte and Go 0.2.2 silently truncates it, so 255 is a hard cap. */
export const MAX_COMPOUND_PARTS = 255;
/** Each part length is a big-endian uint16. */
export const MAX_COMPOUND_PART_LEN = 0xffff;
/** 07 + count byte. */
export const COMPOUND_HEADER_OVERHEAD = 2;
/** The uint16 length each part costs in the header. */
export const COMPOUND_PART_OVERHEAD = 2;

/**
 * Builds `07 | count | len_1..len_n (u16 BE) | part_1..part_n`. Throws
 * RangeError for inputs a Go receiver would mis-handle: no parts, more than
 * 255, an empty part (Go reads its type byte unchecked) or one over 65535.
 */
export function encodeCompound(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) throw new RangeError('compound: no parts');
  if (parts.length > MAX_COMPOUND_PARTS) {
    throw new RangeError(`compound: ${parts.length} parts, at most ${MAX_COMPOUND_PARTS} allowed`);
  }
  let total = COMPOUND_HEADER_OVERHEAD + COMPOUND_PART_OVERHEAD * parts.length;
  for (const [i, p] of parts.entries()) {
    if (p.length === 0) throw new RangeError(`compound: part ${i} is empty`);
    if (p.length > MAX_COMPOUND_PART_LEN) {
      throw new RangeError(`compound: part ${i} is ${p.length} bytes, at most ${MAX_COMPOUND_PART_LEN} allowed`);
    }
    total += p.length;
  }
  const out = new Uint8Array(total);
  out[0] = MessageType.compound;
  out[1] = parts.length;
  let lenAt = 2;
  let at = COMPOUND_HEADER_OVERHEAD + COMPOUND_PART_OVERHEAD * parts.length;
  for (const p of parts) {
    out[lenAt++] = p.length >>> 8;
    out[lenAt++] = p.length & 0xff;
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Splits a compound message (type byte included). Like Go: a length table that
 * does not fit rejects the whole compound; a part running past the end drops
 * that part and every later one (counted in `truncated`) but keeps the earlier
 * ones; bytes after the last part are ignored. Parts are copies.
 */
export function decodeCompound(buf: Uint8Array): Compound {
  if (buf.length === 0 || buf[0] !== MessageType.compound) {
    throw new DecodeError('malformed', 'compound: missing type byte 7');
  }
  if (buf.length < 2) throw new DecodeError('truncated', 'compound: missing part count');
  const count = buf[1] as number;
  let at = COMPOUND_HEADER_OVERHEAD + COMPOUND_PART_OVERHEAD * count;
  if (buf.length < at) {
    throw new DecodeError('truncated', `compound: ${count} parts declared but the length table is cut short`);
  }
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = ((buf[2 + 2 * i] as number) << 8) | (buf[3 + 2 * i] as number);
    if (at + len > buf.length) return { type: 'compound', parts, truncated: count - i };
    parts.push(new Uint8Array(buf.subarray(at, at + len)));
    at += len;
  }
  return { type: 'compound', parts, truncated: 0 };
}
