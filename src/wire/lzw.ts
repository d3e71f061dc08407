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

/** Growable byte buffer; avoids an intermediate number[] for large inputs. */
class ByteSink {
  buf: Uint8Array;
  len = 0;

  constructor(
    initial: number,
    private readonly limit = Infinity,
  ) {
    this.buf = new Uint8Array(Math.min(Math.max(16, initial), limit));
  }

  reserve(extra: number): void {
    const need = this.len + extra;
    if (need > this.limit) {
      throw new DecodeError('oversize', `lzw: output exceeds ${this.limit} bytes`);
    }
    if (need <= this.buf.length) return;
    let size = Math.max(16, this.buf.length * 2);
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.limit));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  push(b: number): void {
    if (this.len === this.buf.length) this.reserve(1);
    this.buf[this.len++] = b;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function lzwCompress(data: Uint8Array): Uint8Array {
  // Worst case is one 12-bit code per input byte plus periodic clears.
  const out = new ByteSink(Math.ceil(data.length * 1.6) + 8);
  const table = new Uint32Array(TABLE_SIZE); // entry = key << 12 | code; 0 = empty (codes are >= 258)
  let bits = 0;
  let nBits = 0;
  let width = FIRST_WIDTH;
  let hi = EOF;
  let overflow = 1 << FIRST_WIDTH;

  const emit = (code: number): void => {
    bits |= code << nBits;
    nBits += width;
    while (nBits >= 8) {
      out.push(bits & 0xff);
      bits >>>= 8;
      nBits -= 8;
    }
  };

  // Returns false when the code space ran out and the state was reset (no insert then).
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi === MAX_CODE) {
      emit(CLEAR);
      width = FIRST_WIDTH;
      hi = EOF;
      overflow = 1 << FIRST_WIDTH;
      table.fill(0);
      return false;
    }
    return true;
  };

  // Go always starts with a clear code (GIF's recommendation), even for empty input.
  emit(CLEAR);
  if (data.length > 0) {
    let code = data[0] as number;
    outer: for (let i = 1; i < data.length; i++) {
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
      emit(code);
      code = literal;
      if (!incHi()) continue;
      while (table[hash] !== 0) hash = (hash + 1) & TABLE_MASK;
      table[hash] = key * 4096 + hi;
    }
    emit(code);
    incHi();
  }
  emit(EOF);
  if (nBits > 0) out.push(bits & 0xff);
  return out.result();
}

function fail(msg: string): never {
  throw new DecodeError('decompress_failed', `lzw: ${msg}`);
}

/**
 * Decompresses a Go LZW (LSB, litWidth 8) stream. Data after the EOF code is
 * ignored; running out of input before EOF is an error, as in Go.
 */
export function lzwDecompress(data: Uint8Array, maxOutput = DEFAULT_MAX_LZW_OUTPUT): Uint8Array {
  const out = new ByteSink(data.length * 3, maxOutput);
  const prefix = new Uint16Array(1 << MAX_WIDTH);
  const suffix = new Uint8Array(1 << MAX_WIDTH);
  const stack = new Uint8Array((1 << MAX_WIDTH) + 1);
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  let width = FIRST_WIDTH;
  let hi = EOF;
  let overflow = 1 << FIRST_WIDTH;
  let last = -1;

  for (;;) {
    while (nBits < width) {
      if (pos >= data.length) fail('unexpected end of data before EOF code');
      bits |= (data[pos++] as number) << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;

    if (code < CLEAR) {
      out.push(code);
      if (last !== -1) {
        suffix[hi] = code;
        prefix[hi] = last;
      }
    } else if (code === CLEAR) {
      width = FIRST_WIDTH;
      hi = EOF;
      overflow = 1 << FIRST_WIDTH;
      last = -1;
      continue;
    } else if (code === EOF) {
      return out.result();
    } else if (code <= hi) {
      // Expand backwards into `stack`, then copy out in order.
      let i = stack.length - 1;
      let c = code;
      if (code === hi) {
        // KwKwK: the code being defined right now = last expansion + its own first byte.
        if (last === -1) fail(`code ${code} used before it was defined`);
        c = last;
        while (c >= CLEAR) c = prefix[c] as number;
        stack[i--] = c;
        c = last;
      }
      while (c >= CLEAR) {
        stack[i--] = suffix[c] as number;
        c = prefix[c] as number;
      }
      stack[i] = c;
      const run = stack.subarray(i);
      out.reserve(run.length);
      out.buf.set(run, out.len);
      out.len += run.length;
      if (last !== -1) {
        suffix[hi] = c;
        prefix[hi] = last;
      }
    } else {
      fail(`invalid code ${code} (next free code is ${hi})`);
    }

    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        // Table full: stop defining entries until the writer sends a clear.
        last = -1;
        hi--;
      } else {
        width++;
        overflow <<= 1;
      }
    }
  }
}
