// LZW exactly as Go's compress/lzw with LSB bit order and 8-bit literals
// (spec §7). memberlist compresses with it, so the code-width schedule and the
// table reset must happen at the same code counts as in Go, or a Go reader
// decodes garbage. The writer also reproduces Go's output byte for byte, which
// the vectors check.

import { DecodeError } from '../errors.js';

const CLEAR = 256;
const EOF = 257;
const FIRST_WIDTH = 9;
const MAX_WIDTH = 12;
/** Go's writer resets when `hi` reaches 2^12 - 1, one short of the full table. */
const MAX_CODE = (1 << MAX_WIDTH) - 1;
// Go sizes its hash table at 4x the code space; any exact map would do, this one is cheap to reset.
const TABLE_SIZE = 4 << MAX_WIDTH;
const TABLE_MASK = TABLE_SIZE - 1;

/** Decompressed output above this is refused: a 20 MiB push/pull is memberlist's own limit. */
export const DEFAULT_MAX_LZW_OUTPUT = 20 * 1024 * 1024;

// Buffers below are module-level and reused: the codec is synchronous and never
// re-entered, and per-call tables (a 64 KiB hash table for every compressed packet, 16 KiB
// of decoder tables for every decompressed one) were most of what LZW cost.

/** Scratch output kept between calls up to this size; larger outputs get their own buffer. */
const KEEP_SCRATCH = 256 * 1024;

// Compressor dictionary: open addressing, entry = key << 12 | code, 0 = empty (codes are
// >= 258). `used` lists the filled slots so a reset clears those instead of 64 KiB.
const table = new Uint32Array(TABLE_SIZE);
const used = new Uint16Array(1 << MAX_WIDTH);
let usedCount = 0;
let compressOut = new Uint8Array(4096);

function clearTable(): void {
  for (let i = 0; i < usedCount; i++) table[used[i] as number] = 0;
  usedCount = 0;
}

/**
 * Compresses into the module's scratch buffer and returns the length; the bytes stay
 * valid until the next call. For callers that copy them straight into a larger frame.
 */
export function lzwCompressToScratch(data: Uint8Array): { buf: Uint8Array; length: number } {
  // Worst case is one 12-bit code per input byte plus periodic clears.
  const bound = Math.ceil(data.length * 1.6) + 8;
  let out = compressOut;
  if (out.length < bound) {
    out = new Uint8Array(Math.max(bound, out.length * 2));
    if (out.length <= KEEP_SCRATCH) compressOut = out;
  }
  let o = 0;
  let bits = 0;
  let nBits = 0;
  let width = FIRST_WIDTH;
  let hi = EOF;
  let overflow = 1 << FIRST_WIDTH;

  // The code emitter is written out inline at each use: as a closure it was allocated
  // per call and kept the locals from living in registers.
  // Go always starts with a clear code (GIF's recommendation), even for empty input.
  bits = CLEAR;
  nBits = FIRST_WIDTH;
  out[o++] = bits & 0xff;
  bits >>>= 8;
  nBits -= 8;
  const n = data.length;
  if (n > 0) {
    let code = data[0] as number;
    outer: for (let i = 1; i < n; i++) {
      const literal = data[i] as number;
      const key = (code << 8) | literal;
      let hash = ((key >>> 12) ^ key) & TABLE_MASK;
      for (let h = hash, t = table[h] as number; t !== 0; ) {
        if (t >>> 12 === key) {
          code = t & MAX_CODE;
          continue outer;
        }
        h = (h + 1) & TABLE_MASK;
        t = table[h] as number;
      }
      // emit(code)
      bits |= code << nBits;
      nBits += width;
      while (nBits >= 8) {
        out[o++] = bits & 0xff;
        bits >>>= 8;
        nBits -= 8;
      }
      code = literal;
      // incHi(): on running out of code space, clear and reset without inserting.
      hi++;
      if (hi === overflow) {
        width++;
        overflow <<= 1;
      }
      if (hi === MAX_CODE) {
        bits |= CLEAR << nBits;
        nBits += width;
        while (nBits >= 8) {
          out[o++] = bits & 0xff;
          bits >>>= 8;
          nBits -= 8;
        }
        width = FIRST_WIDTH;
        hi = EOF;
        overflow = 1 << FIRST_WIDTH;
        clearTable();
        continue;
      }
      while (table[hash] !== 0) hash = (hash + 1) & TABLE_MASK;
      table[hash] = key * 4096 + hi;
      used[usedCount++] = hash;
    }
    bits |= code << nBits;
    nBits += width;
    while (nBits >= 8) {
      out[o++] = bits & 0xff;
      bits >>>= 8;
      nBits -= 8;
    }
    // The final incHi: only its width change matters for the EOF code after it.
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi === MAX_CODE) {
      bits |= CLEAR << nBits;
      nBits += width;
      while (nBits >= 8) {
        out[o++] = bits & 0xff;
        bits >>>= 8;
        nBits -= 8;
      }
      width = FIRST_WIDTH;
    }
    clearTable();
  }
  bits |= EOF << nBits;
  nBits += width;
  while (nBits >= 8) {
    out[o++] = bits & 0xff;
    bits >>>= 8;
    nBits -= 8;
  }
  if (nBits > 0) out[o++] = bits & 0xff;
  return { buf: out, length: o };
}

export function lzwCompress(data: Uint8Array): Uint8Array {
  const { buf, length } = lzwCompressToScratch(data);
  return buf.slice(0, length);
}

function fail(msg: string): never {
  throw new DecodeError('decompress_failed', `lzw: ${msg}`);
}

// Decoder tables. Instead of prefix/suffix chains walked backwards through a stack, each
// code remembers where its string already sits in the output (every dictionary entry is
// an earlier output plus the next output's first byte), so expanding a code is one
// forward copy, as in LZ77.
const entryStart = new Int32Array(1 << MAX_WIDTH);
const entryLen = new Int32Array(1 << MAX_WIDTH);
let decompressOut = new Uint8Array(16 * 1024);

/**
 * Decompresses a Go LZW (LSB, litWidth 8) stream. Data after the EOF code is
 * ignored; running out of input before EOF is an error, as in Go.
 */
export function lzwDecompress(data: Uint8Array, maxOutput = DEFAULT_MAX_LZW_OUTPUT): Uint8Array {
  let out = decompressOut;
  let o = 0;
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  const end = data.length;
  let width = FIRST_WIDTH;
  let mask = (1 << FIRST_WIDTH) - 1;
  let hi = EOF;
  let overflow = 1 << FIRST_WIDTH;
  let last = -1;
  // Where the previous code's output starts, and its length.
  let lastStart = 0;
  let lastLen = 0;

  for (;;) {
    while (nBits < width) {
      if (pos >= end) fail('unexpected end of data before EOF code');
      bits |= (data[pos++] as number) << nBits;
      nBits += 8;
    }
    const code = bits & mask;
    bits >>>= width;
    nBits -= width;

    let len: number;
    let from: number;
    if (code < CLEAR) {
      len = 1;
      from = -1;
    } else if (code === CLEAR) {
      width = FIRST_WIDTH;
      mask = (1 << FIRST_WIDTH) - 1;
      hi = EOF;
      overflow = 1 << FIRST_WIDTH;
      last = -1;
      continue;
    } else if (code === EOF) {
      const result = out.slice(0, o);
      if (out.length <= KEEP_SCRATCH) decompressOut = out;
      return result;
    } else if (code < hi) {
      len = entryLen[code] as number;
      from = entryStart[code] as number;
    } else if (code === hi) {
      // KwKwK: the code being defined right now = last expansion + its own first byte.
      if (last === -1) fail(`code ${code} used before it was defined`);
      len = lastLen + 1;
      from = lastStart;
    } else {
      fail(`invalid code ${code} (next free code is ${hi})`);
    }

    const need = o + len;
    if (need > out.length) {
      if (need > maxOutput) throw new DecodeError('oversize', `lzw: output exceeds ${maxOutput} bytes`);
      let size = out.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(Math.min(size, Math.max(maxOutput, need)));
      next.set(out.subarray(0, o));
      out = next;
    } else if (need > maxOutput) {
      throw new DecodeError('oversize', `lzw: output exceeds ${maxOutput} bytes`);
    }
    if (from < 0) {
      out[o] = code;
    } else {
      // Forward, byte by byte: in the KwKwK case the last byte copied is the first one written.
      for (let i = 0; i < len; i++) out[o + i] = out[from + i] as number;
    }
    if (last !== -1) {
      // The entry being defined: the previous output plus this output's first byte,
      // which sits right after it.
      entryStart[hi] = lastStart;
      entryLen[hi] = lastLen + 1;
    }
    lastStart = o;
    lastLen = len;
    o = need;

    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        // Table full: stop defining entries until the writer sends a clear.
        last = -1;
        hi--;
      } else {
        width++;
        mask = (1 << width) - 1;
        overflow <<= 1;
      }
    }
  }
}
