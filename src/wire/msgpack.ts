// Hand-written msgpack for the memberlist wire.
//
// memberlist 0.2.2 encodes with hashicorp/go-msgpack's default MsgpackHandle,
// which speaks the OLD msgpack spec: strings and byte slices share the "raw"
// family (fixstr / 0xda / 0xdb, never str8 0xd9, never bin), struct maps are
// written with keys in byte-wise sorted order, and integers take the smallest
// encoding for their value. General-purpose libraries write the new spec (str8,
// bin) and decode str as UTF-8, which would corrupt Addr/Meta/Vsn/Payload/Buf;
// matching Go byte for byte is only practical with our own small codec.
//
// The decoder is deliberately more liberal than the encoder: it accepts every
// msgpack form (str8, bin, floats, ext, ...) so that newer peers and Serf's
// float-carrying payloads can be read or skipped.

import { DecodeError } from '../errors.js';

/** What the encoder accepts. Plain objects become sorted maps; undefined values are omitted. */
export type EncodableValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly EncodableValue[]
  | ReadonlyMap<string, EncodableValue | undefined>
  | { readonly [key: string]: EncodableValue | undefined };

/** A decoded ext value; memberlist never sends one, but a decoder must not choke on it. */
export class MsgpackExt {
  constructor(
    readonly extType: number,
    readonly data: Uint8Array,
  ) {}
}

/** A decoded map. Kept as an entry list because keys may be any value (raw bytes, ints). */
export class MsgpackMap {
  constructor(readonly entries: Array<[DecodedValue, DecodedValue]>) {}

  /**
   * Looks a key up by its UTF-8 text (memberlist keys are always strings). An ASCII key
   * (every field name memberlist and Serf use) is compared char by char, without
   * encoding it: a decoder reads a few fields of every message it gets.
   */
  get(key: string): DecodedValue | undefined {
    if (isAscii(key)) {
      for (const [k, v] of this.entries) if (k instanceof Uint8Array && asciiEquals(k, key)) return v;
      return undefined;
    }
    const want = utf8Encode(key);
    for (const [k, v] of this.entries) {
      if (k instanceof Uint8Array && bytesEqual(k, want)) return v;
    }
    return undefined;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function asciiEquals(bytes: Uint8Array, s: string): boolean {
  if (bytes.length !== s.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== s.charCodeAt(i)) return false;
  return true;
}

/** What the generic decoder yields. Both str and bin come back as raw bytes. */
export type DecodedValue =
  | null
  | boolean
  | number
  | bigint
  | Uint8Array
  | DecodedValue[]
  | MsgpackMap
  | MsgpackExt;

/** Containers nested deeper than this are rejected; memberlist itself nests at most 2. */
export const DEFAULT_MAX_DEPTH = 32;

const textEncoder = new TextEncoder();

// Field names are encoded for every struct written; keep the few short ones.
const encodedKeys = new Map<string, Uint8Array>();

export function utf8Encode(s: string): Uint8Array {
  if (s.length <= 16) {
    const hit = encodedKeys.get(s);
    if (hit) return hit;
    const enc = textEncoder.encode(s);
    if (encodedKeys.size < 256) encodedKeys.set(s, enc);
    return enc;
  }
  return textEncoder.encode(s);
}

/** Decodes without stripping a BOM (TextDecoder would), so names round-trip as sent. */
export function utf8Decode(b: Uint8Array): string {
  // Keys and node names are short ASCII: build them directly instead of through a
  // Buffer view, which dominated decoding in large simulations.
  if (b.length <= 32) {
    let out = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c >= 0x80) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
      out += String.fromCharCode(c);
    }
    return out;
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

// Node names arrive over and over (every alive, suspect, ping names one), so short ASCII
// strings are interned in a small direct-mapped cache: a hit costs a hash and a compare
// and allocates nothing. A hit is verified byte for byte, so a collision only costs a miss.
const STRING_CACHE_SIZE = 4096;
const STRING_CACHE_MAX_LEN = 64;
const stringCache: Array<string | undefined> = new Array<string | undefined>(STRING_CACHE_SIZE).fill(undefined);

/** utf8Decode(buf.subarray(at, at + n)) without the view, and cached for short ASCII. */
function decodeStringAt(buf: Uint8Array, at: number, n: number): string {
  if (n <= STRING_CACHE_MAX_LEN) {
    let h = 0x811c9dc5 ^ n;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = buf[at + i] as number;
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (ascii) {
      const slot = (h ^ (h >>> 15)) & (STRING_CACHE_SIZE - 1);
      const hit = stringCache[slot];
      if (hit !== undefined && hit.length === n) {
        let same = true;
        for (let i = 0; i < n; i++) {
          if (hit.charCodeAt(i) !== buf[at + i]) {
            same = false;
            break;
          }
        }
        if (same) return hit;
      }
      let out = '';
      for (let i = 0; i < n; i++) out += String.fromCharCode(buf[at + i] as number);
      stringCache[slot] = out;
      return out;
    }
  }
  return Buffer.from(buf.buffer, buf.byteOffset + at, n).toString('utf8');
}

/** Bytes of an old-spec raw header (fixstr / 0xda / 0xdb) for a value of `n` bytes. */
export function rawHeaderLength(n: number): number {
  return n <= 31 ? 1 : n <= 0xffff ? 3 : 5;
}

/**
 * Writes the old-spec raw header for `n` bytes into `out` at `at`; returns where the
 * value goes. MsgpackWriter writes its headers with it, and so does code that writes a
 * packet in place without a writer.
 */
export function writeRawHeader(out: Uint8Array, at: number, n: number): number {
  let p = at;
  if (n <= 31) out[p++] = 0xa0 | n;
  else if (n <= 0xffff) {
    out[p++] = 0xda;
    out[p++] = n >>> 8;
    out[p++] = n & 0xff;
  } else {
    out[p++] = 0xdb;
    p = writeU32BE(out, p, n);
  }
  return p;
}

/** Bytes of a non-negative integer up to 2^32 - 1 as msgpack writes it (fixint / 0xcc / 0xcd / 0xce). */
export function uintLength(v: number): number {
  return v <= 0x7f ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : 5;
}

/** Writes such an integer into `out` at `at`, in uintLength(v) bytes; returns the end (MsgpackWriter's too). */
export function writeUint(out: Uint8Array, at: number, v: number): number {
  let p = at;
  if (v <= 0x7f) out[p++] = v;
  else if (v <= 0xff) {
    out[p++] = 0xcc;
    out[p++] = v;
  } else if (v <= 0xffff) {
    out[p++] = 0xcd;
    out[p++] = v >>> 8;
    out[p++] = v & 0xff;
  } else {
    out[p++] = 0xce;
    p = writeU32BE(out, p, v);
  }
  return p;
}

/** Writes `v` as a big-endian unsigned 32-bit integer at `at`; returns the end. */
export function writeU32BE(out: Uint8Array, at: number, v: number): number {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
  return at + 4;
}

/** The big-endian unsigned 32-bit integer at `at` (the caller checked the bounds). */
export function readU32BE(b: Uint8Array, at: number): number {
  return (b[at] as number) * 0x1000000 + (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-wise comparison of UTF-8 keys: Go sorts field names as byte strings, not UTF-16. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------
// Encoder

export class MsgpackWriter {
  private buf: Uint8Array;
  // Only floats and 64-bit integers need a DataView; most writers never make one.
  private dv: DataView | undefined;
  private len = 0;

  constructor(initialSize = 128) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Forgets what was written, keeping the buffer, so one writer can serve many messages. */
  reset(): void {
    this.len = 0;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.dv = undefined;
  }

  private view(): DataView {
    return (this.dv ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  private u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  private u16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.len] = v >>> 8;
    b[this.len + 1] = v;
    this.len += 2;
  }

  private u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.len] = v >>> 24;
    b[this.len + 1] = v >>> 16;
    b[this.len + 2] = v >>> 8;
    b[this.len + 3] = v;
    this.len += 4;
  }

  /** Bytes outside msgpack, as they are (stream user state after the msgpack values). */
  writeBytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** One byte outside msgpack: a message type byte or a marker in front of a value. */
  writeByte(v: number): void {
    this.u8(v & 0xff);
  }

  writeNil(): void {
    this.u8(0xc0);
  }

  writeBool(v: boolean): void {
    this.u8(v ? 0xc3 : 0xc2);
  }

  /** Smallest encoding for the value, as go-msgpack does whatever the Go field type. */
  writeInt(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) {
        if (Number.isInteger(v)) v = BigInt(v);
        else throw new RangeError(`msgpack: not an integer: ${v}`);
      }
    }
    if (typeof v === 'bigint') {
      if (v >= -(2n ** 63n) && v < 0n) {
        this.u8(0xd3);
        this.ensure(8);
        this.view().setBigInt64(this.len, v);
        this.len += 8;
        return;
      }
      if (v < 0n || v >= 2n ** 64n) throw new RangeError(`msgpack: integer out of range: ${v}`);
      if (v <= 0xffffffffn) return this.writeInt(Number(v));
      this.u8(0xcf);
      this.ensure(8);
      this.view().setBigUint64(this.len, v);
      this.len += 8;
      return;
    }
    if (v >= 0) {
      if (v <= 0xffffffff) {
        this.ensure(5);
        this.len = writeUint(this.buf, this.len, v);
      } else {
        this.writeInt(BigInt(v));
      }
      return;
    }
    if (v >= -32) this.u8(v & 0xff);
    else if (v >= -0x80) {
      this.u8(0xd0);
      this.u8(v & 0xff);
    } else if (v >= -0x8000) {
      this.u8(0xd1);
      this.u16(v & 0xffff);
    } else if (v >= -0x80000000) {
      this.u8(0xd2);
      this.u32(v >>> 0);
    } else {
      this.writeInt(BigInt(v));
    }
  }

  writeFloat64(v: number): void {
    this.u8(0xcb);
    this.ensure(8);
    this.view().setFloat64(this.len, v);
    this.len += 8;
  }

  /** Old-spec raw: fixstr, then 0xda, then 0xdb. Never 0xd9 or bin, which old Go decoders reject for strings. */
  writeRaw(b: Uint8Array): void {
    const n = b.length;
    if (n > 0xffffffff) throw new RangeError('msgpack: raw value too long');
    this.rawHeader(n);
    this.ensure(n);
    if (n <= 16) {
      // set() on a short array costs more than the copy.
      const buf = this.buf;
      for (let i = 0, at = this.len; i < n; i++) buf[at + i] = b[i] as number;
    } else {
      this.buf.set(b, this.len);
    }
    this.len += n;
  }

  private rawHeader(n: number): void {
    this.ensure(5);
    this.len = writeRawHeader(this.buf, this.len, n);
  }

  writeString(s: string): void {
    // Names and keys are ASCII: one byte per char, written in place instead of through
    // a TextEncoder result (the old path allocated for every name over 16 chars).
    if (s.length <= 0xffff && isAscii(s)) this.writeAscii(s);
    else this.writeRaw(utf8Encode(s));
  }

  /** a string already known to be ASCII: its chars are its bytes */
  private writeAscii(s: string): void {
    const n = s.length;
    this.rawHeader(n);
    this.ensure(n);
    const buf = this.buf;
    for (let i = 0, at = this.len; i < n; i++) buf[at + i] = s.charCodeAt(i);
    this.len += n;
  }

  writeArrayHeader(n: number): void {
    if (n <= 15) this.u8(0x90 | n);
    else if (n <= 0xffff) {
      this.u8(0xdc);
      this.u16(n);
    } else {
      this.u8(0xdd);
      this.u32(n);
    }
  }

  writeMapHeader(n: number): void {
    if (n <= 15) this.u8(0x80 | n);
    else if (n <= 0xffff) {
      this.u8(0xde);
      this.u16(n);
    } else {
      this.u8(0xdf);
      this.u32(n);
    }
  }

  write(value: EncodableValue): void {
    if (value === null) return this.writeNil();
    switch (typeof value) {
      case 'boolean':
        return this.writeBool(value);
      case 'bigint':
        return this.writeInt(value);
      case 'number':
        return Number.isInteger(value) ? this.writeInt(value) : this.writeFloat64(value);
      case 'string':
        return this.writeString(value);
      default:
        break;
    }
    if (value instanceof Uint8Array) return this.writeRaw(value);
    if (Array.isArray(value)) {
      const arr = value as readonly EncodableValue[];
      this.writeArrayHeader(arr.length);
      for (const item of arr) this.write(item);
      return;
    }
    if (value instanceof Map) return this.writeMap(value.entries());
    return this.writeMap(Object.entries(value as { readonly [key: string]: EncodableValue | undefined }));
  }

  /**
   * A map, keys in byte order (so that one state always encodes to the same bytes), an
   * undefined value left out. Keys are nearly always ASCII, where JavaScript's string
   * order is byte order: they are sorted and written as strings, without first encoding
   * each to bytes (Serf's push-pull state has a key per member, and encoding and
   * comparing them as bytes was most of what encoding it cost).
   */
  private writeMap(entries: Iterable<[string, EncodableValue | undefined]>): void {
    const kept: Array<[string, EncodableValue]> = [];
    let ascii = true;
    for (const [k, v] of entries) {
      if (v === undefined) continue;
      kept.push([k, v]);
      if (ascii && !isAscii(k)) ascii = false;
    }
    if (!ascii) {
      const encoded = kept.map(([k, v]) => [utf8Encode(k), v] as const).sort((a, b) => compareBytes(a[0], b[0]));
      this.writeMapHeader(encoded.length);
      for (const [k, v] of encoded) {
        this.writeRaw(k);
        this.write(v);
      }
      return;
    }
    kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.writeMapHeader(kept.length);
    for (const [k, v] of kept) {
      // checked above: no second pass over each key
      this.writeAscii(k);
      this.write(v);
    }
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function encodeMsgpack(value: EncodableValue): Uint8Array {
  const w = new MsgpackWriter();
  w.write(value);
  return w.finish();
}

// ---------------------------------------------------------------------------
// Decoder

/**
 * Position-tracking reader over one buffer. Running off the end raises
 * DecodeError('truncated') so a stream reader can tell "wait for more bytes"
 * from "this is garbage" (DecodeError('malformed')).
 */
export class MsgpackReader {
  pos: number;
  // Made on first use (floats, 64-bit integers): building one per reader was a measurable
  // share of decoding, and on a small on-heap array `.buffer` forces a copy out of the heap.
  private dv: DataView | undefined;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    readonly maxDepth = DEFAULT_MAX_DEPTH,
  ) {
    this.pos = pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private get view(): DataView {
    const b = this.buf;
    return (this.dv ??= new DataView(b.buffer, b.byteOffset, b.byteLength));
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) {
      throw new DecodeError('truncated', `msgpack: need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos}`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  private u16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  private u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
  }

  /** Reads `n` bytes as a fresh copy, so results never alias a reused network buffer. */
  private bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(n);
    const b = this.buf;
    const p = this.pos;
    if (n <= 64) {
      // Addr, Meta, Vsn: a loop beats set(), which first needs a subarray view of the source.
      for (let i = 0; i < n; i++) out[i] = b[p + i] as number;
    } else {
      out.set(b.subarray(p, p + n));
    }
    this.pos = p + n;
    return out;
  }

  /**
   * Reads the header of a raw (str or bin) value and returns its length, leaving `pos`
   * at the first data byte (which is checked to be there); -1 for nil. Lets struct
   * decoders match field names in place instead of copying and decoding each key.
   * Throws like readBytes for anything else.
   */
  readRawHeader(): number {
    const start = this.pos;
    const b = this.u8();
    if (b === 0xc0) return -1;
    const n = b >= 0xa0 && b <= 0xbf ? b & 0x1f : this.rawLength(b);
    if (n === undefined) {
      this.pos = start;
      throw new DecodeError('malformed', `msgpack: expected raw bytes, got 0x${b.toString(16)} at offset ${start}`);
    }
    this.need(n);
    return n;
  }

  /**
   * Any str or bin form as a view into the buffer, nil as null: for bytes used at once
   * and not kept (the compressed payload), where a copy would be wasted.
   */
  readBytesView(): Uint8Array | null {
    const n = this.readRawHeader();
    if (n < 0) return null;
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** `n` raw bytes that are not msgpack (stream user state follows the msgpack values). */
  readRaw(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw new DecodeError('malformed', `invalid raw length ${n}`);
    return this.bytes(n);
  }

  /** Peeks the next format byte without consuming it. */
  peek(): number {
    this.need(1);
    return this.buf[this.pos] as number;
  }

  /** Consumes a nil if one is next; fields that are nil keep their zero value, as in Go. */
  tryReadNil(): boolean {
    if (this.peek() === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Length of a raw (str or bin) value if that is what comes next, else undefined. */
  private rawLength(b: number): number | undefined {
    if (b >= 0xa0 && b <= 0xbf) return b & 0x1f;
    switch (b) {
      case 0xd9:
      case 0xc4:
        return this.u8();
      case 0xda:
      case 0xc5:
        return this.u16();
      case 0xdb:
      case 0xc6:
        return this.u32();
      default:
        return undefined;
    }
  }

  /** Any str or bin form as bytes; nil as null. */
  readBytes(): Uint8Array | null {
    const start = this.pos;
    const b = this.u8();
    if (b === 0xc0) return null;
    const n = this.rawLength(b);
    if (n === undefined) {
      this.pos = start;
      throw new DecodeError('malformed', `msgpack: expected raw bytes, got 0x${b.toString(16)} at offset ${start}`);
    }
    return this.bytes(n);
  }

  readString(): string {
    const n = this.readRawHeader();
    if (n <= 0) return '';
    const p = this.pos;
    this.pos = p + n;
    return decodeStringAt(this.buf, p, n);
  }

  readBool(): boolean {
    const b = this.u8();
    if (b === 0xc3) return true;
    if (b === 0xc2 || b === 0xc0) return false;
    throw new DecodeError('malformed', `msgpack: expected bool, got 0x${b.toString(16)} at offset ${this.pos - 1}`);
  }

  /** Any integer encoding; numbers beyond 2^53 come back as bigint. */
  readInt(): number | bigint {
    const start = this.pos;
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf: {
        this.need(8);
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0xd0: {
        const v = this.u8();
        return v >= 0x80 ? v - 0x100 : v;
      }
      case 0xd1: {
        const v = this.u16();
        return v >= 0x8000 ? v - 0x10000 : v;
      }
      case 0xd2: {
        const v = this.u32();
        return v >= 0x80000000 ? v - 0x100000000 : v;
      }
      case 0xd3: {
        this.need(8);
        const v = this.view.getBigInt64(this.pos);
        this.pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      default:
        this.pos = start;
        throw new DecodeError('malformed', `msgpack: expected integer, got 0x${b.toString(16)} at offset ${start}`);
    }
  }

  /**
   * An unsigned integer no larger than `max`; nil reads as 0. Negative or too
   * large values are errors, as go-msgpack's overflow check makes them.
   */
  readUint(max: number): number {
    this.need(1);
    const start = this.pos;
    const b = this.buf[start] as number;
    // Positive fixint (seqNo is often larger, but ports and small counts are not) and nil.
    if (b <= 0x7f && b <= max) {
      this.pos = start + 1;
      return b;
    }
    if (b === 0xc0) {
      this.pos = start + 1;
      return 0;
    }
    const v = this.readInt();
    if (typeof v === 'bigint' || v < 0 || v > max) {
      throw new DecodeError('malformed', `msgpack: integer ${v} at offset ${start} out of range 0..${max}`);
    }
    return v;
  }

  /** Reads a map header (nil counts as an empty map, as Go treats it). */
  readMapHeader(): number {
    const start = this.pos;
    const b = this.u8();
    let n: number;
    if (b >= 0x80 && b <= 0x8f) n = b & 0x0f;
    else if (b === 0xde) n = this.u16();
    else if (b === 0xdf) n = this.u32();
    else if (b === 0xc0) return 0;
    else {
      this.pos = start;
      throw new DecodeError('malformed', `msgpack: expected map, got 0x${b.toString(16)} at offset ${start}`);
    }
    // Each entry needs at least 2 bytes; anything more is either a prefix or a lie.
    if (n * 2 > this.remaining) this.need(n * 2);
    return n;
  }

  /** Generic decode of the next value. */
  readValue(depth = 0): DecodedValue {
    if (depth > this.maxDepth) throw new DecodeError('too_deep', `msgpack: nesting deeper than ${this.maxDepth}`);
    const start = this.pos;
    const b = this.u8();
    if (b <= 0x7f || b >= 0xe0) {
      this.pos = start;
      return this.readInt();
    }
    if (b >= 0x80 && b <= 0x8f) return this.readMapBody(b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f) return this.readArrayBody(b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return this.bytes(b & 0x1f);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
      case 0xc5:
      case 0xc6:
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.bytes(this.rawLength(b) as number);
      case 0xca: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3:
        this.pos = start;
        return this.readInt();
      case 0xdc:
        return this.readArrayBody(this.u16(), depth);
      case 0xdd:
        return this.readArrayBody(this.u32(), depth);
      case 0xde:
        return this.readMapBody(this.u16(), depth);
      case 0xdf:
        return this.readMapBody(this.u32(), depth);
      default: {
        const ext = this.extLength(b);
        if (ext === undefined) {
          throw new DecodeError('malformed', `msgpack: invalid format byte 0x${b.toString(16)} at offset ${start}`);
        }
        const type = this.u8();
        return new MsgpackExt(type >= 0x80 ? type - 0x100 : type, this.bytes(ext));
      }
    }
  }

  private extLength(b: number): number | undefined {
    switch (b) {
      case 0xd4:
        return 1;
      case 0xd5:
        return 2;
      case 0xd6:
        return 4;
      case 0xd7:
        return 8;
      case 0xd8:
        return 16;
      case 0xc7:
        return this.u8();
      case 0xc8:
        return this.u16();
      case 0xc9:
        return this.u32();
      default:
        return undefined;
    }
  }

  private readArrayBody(n: number, depth: number): DecodedValue[] {
    // No preallocation from the declared count: each element needs >= 1 byte.
    if (n > this.remaining) this.need(n);
    const out: DecodedValue[] = [];
    for (let i = 0; i < n; i++) out.push(this.readValue(depth + 1));
    return out;
  }

  private readMapBody(n: number, depth: number): MsgpackMap {
    if (n * 2 > this.remaining) this.need(n * 2);
    const entries: Array<[DecodedValue, DecodedValue]> = [];
    for (let i = 0; i < n; i++) {
      const k = this.readValue(depth + 1);
      const v = this.readValue(depth + 1);
      entries.push([k, v]);
    }
    return new MsgpackMap(entries);
  }

  /** Skips one value of any type without keeping it (unknown keys, Serf floats). */
  skip(depth = 0): void {
    if (depth > this.maxDepth) throw new DecodeError('too_deep', `msgpack: nesting deeper than ${this.maxDepth}`);
    const start = this.pos;
    const b = this.u8();
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return;
    let items = 0;
    if (b >= 0x80 && b <= 0x8f) items = (b & 0x0f) * 2;
    else if (b >= 0x90 && b <= 0x9f) items = b & 0x0f;
    else if (b >= 0xa0 && b <= 0xbf) return this.advance(b & 0x1f);
    else {
      switch (b) {
        case 0xc4:
        case 0xc5:
        case 0xc6:
        case 0xd9:
        case 0xda:
        case 0xdb:
          return this.advance(this.rawLength(b) as number);
        case 0xcc:
        case 0xd0:
          return this.advance(1);
        case 0xcd:
        case 0xd1:
          return this.advance(2);
        case 0xca:
        case 0xce:
        case 0xd2:
          return this.advance(4);
        case 0xcb:
        case 0xcf:
        case 0xd3:
          return this.advance(8);
        case 0xdc:
          items = this.u16();
          break;
        case 0xdd:
          items = this.u32();
          break;
        case 0xde:
          items = this.u16() * 2;
          break;
        case 0xdf:
          items = this.u32() * 2;
          break;
        default: {
          const ext = this.extLength(b);
          if (ext === undefined) {
            throw new DecodeError('malformed', `msgpack: invalid format byte 0x${b.toString(16)} at offset ${start}`);
          }
          return this.advance(ext + 1);
        }
      }
    }
    if (items > this.remaining) this.need(items);
    for (let i = 0; i < items; i++) this.skip(depth + 1);
  }

  private advance(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** Decodes exactly one value from the start of `buf` (trailing bytes are left alone). */
export function decodeMsgpack(buf: Uint8Array): { value: DecodedValue; end: number } {
  const r = new MsgpackReader(buf);
  const value = r.readValue();
  return { value, end: r.pos };
}
