// UDP packet layers (spec §5.1), built inside out:
//   message | compound -> [compress if smaller] -> [hasCrc] -> [encrypt] -> [label]
// and taken apart in reverse. The decoder is the trust boundary for anything
// arriving from the network, so it never throws: every problem becomes a typed
// DecodeError in the result and the rest of the packet still gets a chance.

import { crc32 } from 'node:zlib';
import { DecodeError } from '../errors.js';
import type { PacketMessage } from './types.js';
import { MessageType } from './types.js';
import { compoundLength, splitCompound, writeCompound } from './compound.js';
import { decryptPayload, encryptPayload } from './crypto.js';
import type { EncryptionVersion } from './crypto.js';
import { addLabelHeader, stripPacketLabel, type LabelPolicy } from './label.js';
import { lzwCompressToScratch, lzwDecompress } from './lzw.js';
import { decodeMessage, readCompressBodyView } from './messages.js';
import { MsgpackReader, rawHeaderLength, readU32BE, writeRawHeader, writeU32BE } from './msgpack.js';

/** LZW is the only algorithm memberlist defines. */
export const LZW_ALGO = 0;
/** 0x0c + CRC-32. */
export const CRC_OVERHEAD = 5;
/** compound/compress nesting allowed on receive; memberlist itself uses at most compress > compound. */
export const MAX_PACKET_DEPTH = 4;
/** below this many bytes compression is not attempted (see encodePacket) */
export const MIN_COMPRESSIBLE = 96;
/**
 * A datagram's decompressed content is a packet a peer built for UDP; 1 MiB is far
 * above anything memberlist sends and keeps a 19 KiB "LZW bomb" from costing 20 MiB of
 * work (streams keep the 20 MiB push-pull limit).
 */
export const MAX_PACKET_DECOMPRESSED = 1024 * 1024;

export interface EncodePacketOptions {
  compress: boolean;
  crc: boolean;
  /** index 0 is the primary key, the only one used to encrypt */
  keyring?: Uint8Array[];
  encryptionVersion?: EncryptionVersion;
  /** cluster label: the header in front of everything, and the AES-GCM additional data */
  label?: Uint8Array;
}

export interface DecodePacketOptions {
  keyring?: Uint8Array[];
  /** default true: drop packets that do not decrypt; false: fall back to plaintext (rolling upgrade) */
  verifyIncoming?: boolean;
  /** which label headers to accept; default: none (a labelled packet is label_unexpected) */
  label?: LabelPolicy;
}

const NO_LABEL_POLICY: LabelPolicy = { label: new Uint8Array(0), acceptUnlabelled: false };

export interface DecodedPacket {
  messages: PacketMessage[];
  errors: DecodeError[];
}

// The compress message around LZW output, as go-msgpack writes msgpack{Algo: 0, Buf}:
// 09, fixmap of 2, "Algo", 0, "Buf", then Buf as an old-spec raw. Written by hand so
// the compressed bytes are copied once, into the packet, instead of through a writer.
const COMPRESS_PREFIX = Uint8Array.of(MessageType.compress, 0x82, 0xa4, 0x41, 0x6c, 0x67, 0x6f, 0x00, 0xa3, 0x42, 0x75, 0x66);

/** Bytes of a compress message carrying `n` bytes of LZW output. */
function compressedLength(n: number): number {
  return COMPRESS_PREFIX.length + rawHeaderLength(n) + n;
}

/** Writes the compress message for `lzw[0..n)` into `out` at `at`. */
function writeCompressed(out: Uint8Array, at: number, lzw: Uint8Array, n: number): void {
  out.set(COMPRESS_PREFIX, at);
  const p = writeRawHeader(out, at + COMPRESS_PREFIX.length, n);
  out.set(lzw.subarray(0, n), p);
}

/** 0x09 + msgpack{Algo: 0, Buf: LZW(message)}; `message` includes its own type byte. */
export function compressMessage(message: Uint8Array): Uint8Array {
  const z = lzwCompressToScratch(message);
  const out = new Uint8Array(compressedLength(z.length));
  writeCompressed(out, 0, z.buf, z.length);
  return out;
}

/**
 * Unwraps a compress message (type byte included) and returns the inner
 * message together with the number of bytes the compress value occupied.
 */
export function decompressMessage(buf: Uint8Array, maxOutput?: number): { inner: Uint8Array; end: number } {
  if (buf.length === 0 || buf[0] !== MessageType.compress) {
    throw new DecodeError('malformed', 'compress: missing type byte 9');
  }
  const r = new MsgpackReader(buf, 1);
  // Buf is only read by the decompressor, which copies out of it: no need to copy it first.
  const c = readCompressBodyView(r);
  if (c.algo !== LZW_ALGO) throw new DecodeError('decompress_failed', `compress: unknown algorithm ${c.algo}`);
  return { inner: lzwDecompress(c.buf, maxOutput), end: r.pos };
}

/** Writes 0x0c and the CRC-32 of everything after the 5-byte header into its first bytes. */
function sealCrc(out: Uint8Array): void {
  const sum = crc32(out.subarray(CRC_OVERHEAD));
  out[0] = MessageType.hasCrc;
  writeU32BE(out, 1, sum);
}

export function addCrc(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + CRC_OVERHEAD);
  out.set(payload, CRC_OVERHEAD);
  sealCrc(out);
  return out;
}

// A compound that is about to be compressed is built here, not in a buffer of its own:
// only the compressed bytes (or, when compression does not pay, a copy) leave.
const KEEP_SCRATCH = 64 * 1024;
let compoundScratch = new Uint8Array(4096);

/**
 * Builds one datagram from complete messages (each with its type byte).
 * Compression is used only when strictly smaller, as Go does, because it
 * usually isn't for a lone ping or ack.
 */
export function encodePacket(messages: Uint8Array[], opts: EncodePacketOptions): Uint8Array {
  if (messages.length === 0) throw new RangeError('packet: no messages');
  // `plain` is the lone message, or the compound in compoundScratch.
  let plain: Uint8Array;
  if (messages.length === 1) {
    plain = messages[0] as Uint8Array;
    if (plain.length === 0) throw new RangeError('packet: empty message');
  } else {
    const len = compoundLength(messages);
    let scratch = compoundScratch;
    if (scratch.length < len) {
      scratch = new Uint8Array(Math.max(len, scratch.length * 2));
      if (scratch.length <= KEEP_SCRATCH) compoundScratch = scratch;
    }
    writeCompound(messages, scratch, 0);
    plain = scratch.subarray(0, len);
  }
  const crc = opts.crc ? CRC_OVERHEAD : 0;
  // Everything up to the CRC goes into one buffer of the final size, with room left
  // in front for the CRC header.
  let payload: Uint8Array | undefined;
  // LZW starts with 9-bit codes for literals plus clear and EOF codes, so a short
  // packet (every ping and ack) rarely comes out smaller, and then by a few bytes;
  // trying costs a pass over the packet. memberlist always tries; sending these
  // uncompressed is equally valid on the wire.
  if (opts.compress && plain.length >= MIN_COMPRESSIBLE) {
    const z = lzwCompressToScratch(plain);
    const zLen = compressedLength(z.length);
    if (zLen < plain.length) {
      payload = new Uint8Array(crc + zLen);
      writeCompressed(payload, crc, z.buf, z.length);
    }
  }
  if (payload === undefined) {
    if (crc === 0 && messages.length === 1) {
      payload = plain;
    } else {
      payload = new Uint8Array(crc + plain.length);
      payload.set(plain, crc);
    }
  }
  if (crc !== 0) sealCrc(payload);
  const label = opts.label ?? new Uint8Array(0);
  if (opts.keyring && opts.keyring.length > 0) {
    payload = encryptPayload(opts.keyring[0] as Uint8Array, opts.encryptionVersion ?? 1, payload, label);
  }
  return addLabelHeader(payload, label);
}

function asDecodeError(e: unknown, fallback: DecodeError['reason']): DecodeError {
  if (e instanceof DecodeError) return e;
  return new DecodeError(fallback, e instanceof Error ? e.message : String(e));
}

/** Dispatches one unwrapped message: containers recurse, everything else becomes a PacketMessage. */
function dispatch(buf: Uint8Array, depth: number, out: DecodedPacket): void {
  if (buf.length === 0) {
    out.errors.push(new DecodeError('malformed', 'empty message'));
    return;
  }
  const type = buf[0] as number;
  if (type === MessageType.compound || type === MessageType.compress) {
    if (depth >= MAX_PACKET_DEPTH) {
      out.errors.push(new DecodeError('too_deep', `packet: containers nested deeper than ${MAX_PACKET_DEPTH}`));
      return;
    }
    if (type === MessageType.compound) {
      let compound;
      try {
        // Views, not copies: each part is decoded right here, and decoding copies what it keeps.
        compound = splitCompound(buf, false);
      } catch (e) {
        out.errors.push(asDecodeError(e, 'malformed'));
        return;
      }
      for (const part of compound.parts) dispatch(part, depth + 1, out);
      if (compound.truncated > 0) {
        out.errors.push(new DecodeError('truncated', `compound: ${compound.truncated} part(s) ran past the end of the packet`));
      }
      return;
    }
    let inner: Uint8Array;
    try {
      inner = decompressMessage(buf, MAX_PACKET_DECOMPRESSED).inner;
    } catch (e) {
      out.errors.push(asDecodeError(e, 'decompress_failed'));
      return;
    }
    dispatch(inner, depth + 1, out);
    return;
  }
  switch (type) {
    case MessageType.pushPull:
    case MessageType.encrypt:
    case MessageType.hasCrc:
    case MessageType.err:
      out.errors.push(new DecodeError('unknown_type', `packet: message type ${type} is not valid inside a UDP packet`));
      return;
    default:
      break;
  }
  try {
    out.messages.push(decodeMessage(buf));
  } catch (e) {
    out.errors.push(asDecodeError(e, 'malformed'));
  }
}

/**
 * Takes one datagram apart: the label header (judged by the policy), decrypt (when a
 * keyring is set, with the label as additional data), then an optional outermost CRC,
 * then compound/compress recursively. Never throws.
 */
export function decodePacket(data: Uint8Array, opts: DecodePacketOptions = {}): DecodedPacket {
  const out: DecodedPacket = { messages: [], errors: [] };
  try {
    let buf = data;
    if (buf.length === 0) {
      out.errors.push(new DecodeError('malformed', 'empty packet'));
      return out;
    }
    const labelled = stripPacketLabel(buf, opts.label ?? NO_LABEL_POLICY);
    if (!labelled.ok) {
      out.errors.push(labelled.error);
      return out;
    }
    buf = labelled.rest;
    if (buf.length === 0) {
      out.errors.push(new DecodeError('malformed', 'empty packet after its label header'));
      return out;
    }
    // An encrypted datagram starts with its version byte (0/1), indistinguishable
    // from a ping or indirect ping, so with a keyring we must always try to decrypt.
    if (opts.keyring && opts.keyring.length > 0) {
      try {
        buf = decryptPayload(opts.keyring, buf, labelled.label);
      } catch (e) {
        if (opts.verifyIncoming ?? true) {
          out.errors.push(asDecodeError(e, 'decrypt_failed'));
          return out;
        }
      }
    }
    // hasCrc is only honoured here, as the outermost plaintext layer (Go does the same).
    if (buf.length > 0 && buf[0] === MessageType.hasCrc) {
      if (buf.length < CRC_OVERHEAD) {
        out.errors.push(new DecodeError('truncated', 'hasCrc: packet shorter than its 5-byte header'));
        return out;
      }
      const expected = readU32BE(buf, 1);
      const body = buf.subarray(CRC_OVERHEAD);
      const actual = crc32(body);
      if (actual !== expected) {
        out.errors.push(
          new DecodeError('bad_crc', `hasCrc: checksum ${actual.toString(16)} != expected ${expected.toString(16)}`),
        );
        return out;
      }
      buf = body;
    }
    dispatch(buf, 0, out);
  } catch (e) {
    // Last line of defence: the contract is "never throws".
    out.errors.push(asDecodeError(e, 'malformed'));
  }
  return out;
}
