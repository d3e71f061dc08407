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
  const out = new Uint8Array(compoundLength(parts));
  writeCompound(parts, out, 0);
  return out;
}

/** The encoded size of a compound of `parts`, after the same checks as encodeCompound. */
export function compoundLength(parts: readonly Uint8Array[]): number {
  if (parts.length === 0) throw new RangeError('compound: no parts');
  if (parts.length > MAX_COMPOUND_PARTS) {
    throw new RangeError(`compound: ${parts.length} parts, at most ${MAX_COMPOUND_PARTS} allowed`);
  }
  let total = COMPOUND_HEADER_OVERHEAD + COMPOUND_PART_OVERHEAD * parts.length;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as Uint8Array;
    if (p.length === 0) throw new RangeError(`compound: part ${i} is empty`);
    if (p.length > MAX_COMPOUND_PART_LEN) {
      throw new RangeError(`compound: part ${i} is ${p.length} bytes, at most ${MAX_COMPOUND_PART_LEN} allowed`);
    }
    total += p.length;
  }
  return total;
}

/**
 * Writes the compound into `out` at `offset` (room for compoundLength(parts) bytes,
 * which must have been called first) and returns the offset after it. Lets the packet
 * encoder build the compound inside a buffer it reuses.
 */
export function writeCompound(parts: readonly Uint8Array[], out: Uint8Array, offset: number): number {
  const n = parts.length;
  out[offset] = MessageType.compound;
  out[offset + 1] = n;
  let lenAt = offset + 2;
  let at = offset + COMPOUND_HEADER_OVERHEAD + COMPOUND_PART_OVERHEAD * n;
  for (let i = 0; i < n; i++) {
    const p = parts[i] as Uint8Array;
    const len = p.length;
    out[lenAt++] = len >>> 8;
    out[lenAt++] = len & 0xff;
    out.set(p, at);
    at += len;
  }
  return at;
}

/**
 * Splits a compound message (type byte included). Like Go: a length table that
 * does not fit rejects the whole compound; a part running past the end drops
 * that part and every later one (counted in `truncated`) but keeps the earlier
 * ones; bytes after the last part are ignored. Parts are copies.
 */
export function decodeCompound(buf: Uint8Array): Compound {
  return splitCompound(buf, true);
}

/**
 * decodeCompound, with `copy` false giving parts as views into `buf`: for the packet
 * decoder, which decodes each part at once and copies whatever it keeps.
 */
export function splitCompound(buf: Uint8Array, copy: boolean): Compound {
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
    parts.push(copy ? new Uint8Array(buf.subarray(at, at + len)) : buf.subarray(at, at + len));
    at += len;
  }
  return { type: 'compound', parts, truncated: 0 };
}
