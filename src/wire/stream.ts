// TCP stream framing (spec §6.3, §8): one message per connection direction,
// wrapped as [encrypt [compress [message]]]; the side that opened the connection puts
// a label header in front when the cluster is labelled (label.ts).
//
// A plain stream has no overall length; the reader only knows where it ends by
// parsing msgpack values and the raw lengths they announce. So the reader is
// incremental: the TCP layer hands it everything received so far and gets back
// "ok", "need-more" (a valid prefix) or "error" (garbage, or over a limit).

import { DecodeError } from '../errors.js';
import type { StreamMessage } from './types.js';
import { MessageType } from './types.js';
import { decryptPayload, encryptPayload, encryptedLength } from './crypto.js';
import type { EncryptionVersion } from './crypto.js';
import {
  encodeMessage,
  encodePushPullMessage,
  encodeUserStreamMessage,
  readMessageBody,
  readPushNodeState,
  readPushPullHeader,
  readUserMsgHeader,
} from './messages.js';
import type { PushNodeState } from './types.js';
import { MsgpackReader } from './msgpack.js';
import { compressMessage, decompressMessage } from './packet.js';
import { checkLabel, readLabelHeader, type LabelPolicy } from './label.js';

/** memberlist refuses an encrypted stream announcing more than this (maxPushStateBytes). */
export const MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024;
/** 0x0a + u32 length; these bytes (then the stream's label) are the GCM additional data. */
export const STREAM_ENCRYPT_HEADER_SIZE = 5;
/** Default cap on bytes buffered for one stream message (and on its decompressed size). */
export const DEFAULT_MAX_STREAM_BYTES = MAX_PUSH_STATE_BYTES + STREAM_ENCRYPT_HEADER_SIZE;

export interface EncodeStreamOptions {
  compress: boolean;
  keyring?: Uint8Array[];
  encryptionVersion?: EncryptionVersion;
  /** the stream's label: sealed into the additional data (the header is written once, by the opener) */
  label?: Uint8Array;
}

export interface DecodeStreamOptions {
  keyring?: Uint8Array[];
  /** default true: with a keyring, refuse streams that are not encrypted */
  verifyIncoming?: boolean;
  /** give up (oversize) rather than wait for more than this many bytes */
  maxBytes?: number;
  /** a stream we opened: the label we sent, expected in the additional data of the answer */
  label?: Uint8Array;
  /**
   * a stream opened to us: it may start with a label header, which this judges; the
   * label it carried is the additional data and comes back in the result
   */
  labelPolicy?: LabelPolicy;
}

export type StreamDecodeResult =
  /** `label`: the stream's label (empty: none); `consumed` includes its header */
  | { status: 'ok'; message: StreamMessage; consumed: number; label: Uint8Array }
  | { status: 'need-more' }
  | { status: 'error'; error: DecodeError };

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The bare message as it goes on a stream before any compress/encrypt layer. */
export function encodeStreamMessage(msg: StreamMessage): Uint8Array {
  switch (msg.type) {
    case 'pushPull':
      // Header, every node state and the user state go into one buffer, not one each.
      return encodePushPullMessage(msg);
    case 'userStream':
      return encodeUserStreamMessage(msg.payload);
    case 'ping':
    case 'ack':
    case 'err':
      return encodeMessage(msg);
    default: {
      const never: never = msg;
      throw new TypeError(`cannot encode stream message ${(never as { type: string }).type}`);
    }
  }
}

/** the additional data of an encrypted stream: its 5-byte header, then the stream's label (memberlist's encryptLocalState) */
function streamAad(header: Uint8Array, label: Uint8Array | undefined): Uint8Array {
  return label && label.length > 0 ? concat([header, label]) : header;
}

/** 0x0a | u32 BE length | encrypted payload, with the 5 header bytes and the label as AAD. */
export function encryptStream(key: Uint8Array, version: EncryptionVersion, plaintext: Uint8Array, label?: Uint8Array): Uint8Array {
  const length = encryptedLength(version, plaintext.length);
  const header = new Uint8Array(STREAM_ENCRYPT_HEADER_SIZE);
  header[0] = MessageType.encrypt;
  new DataView(header.buffer).setUint32(1, length);
  const payload = encryptPayload(key, version, plaintext, streamAad(header, label));
  return concat([header, payload]);
}

/**
 * One complete stream write. Unlike packets, compression is applied whenever
 * it is enabled, even if it makes the stream longer: that is what Go does.
 */
export function encodeStream(msg: StreamMessage, opts: EncodeStreamOptions): Uint8Array {
  let out = encodeStreamMessage(msg);
  if (opts.compress) out = compressMessage(out);
  if (opts.keyring && opts.keyring.length > 0) {
    out = encryptStream(opts.keyring[0] as Uint8Array, opts.encryptionVersion ?? 1, out, opts.label);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Decoding

/**
 * Parses a bare stream message starting at `buf[0]`. Throws DecodeError;
 * 'truncated' means the bytes end early, which the caller turns into
 * need-more for a live stream or an error for an already complete buffer.
 */
function parseMessage(buf: Uint8Array, complete: boolean, maxBytes: number): { message: StreamMessage; end: number } {
  if (buf.length === 0) throw new DecodeError(complete ? 'malformed' : 'truncated', 'stream: empty message');
  const type = buf[0] as number;
  const r = new MsgpackReader(buf, 1);
  // Reject counts that cannot fit: in a complete buffer that is garbage, on a
  // live stream it would only make us buffer up to the limit before failing.
  const checkRoom = (what: string, minBytes: number): void => {
    if (complete) {
      if (minBytes > r.remaining) {
        throw new DecodeError('malformed', `stream: ${what} needs at least ${minBytes} bytes, only ${r.remaining} follow`);
      }
    } else if (r.pos + minBytes > maxBytes) {
      throw new DecodeError('oversize', `stream: ${what} would exceed the ${maxBytes}-byte limit`);
    }
  };
  switch (type) {
    case MessageType.pushPull: {
      const header = readPushPullHeader(r);
      // Every node record is a msgpack map, so at least one byte each.
      checkRoom(`push/pull of ${header.nodes} nodes + ${header.userStateLen} bytes of user state`, header.nodes + header.userStateLen);
      const nodes: PushNodeState[] = [];
      for (let i = 0; i < header.nodes; i++) nodes.push(readPushNodeState(r));
      const userState = r.readRaw(header.userStateLen);
      return { message: { type: 'pushPull', join: header.join, nodes, userState }, end: r.pos };
    }
    case MessageType.user: {
      const len = readUserMsgHeader(r);
      checkRoom(`user message of ${len} bytes`, len);
      return { message: { type: 'userStream', payload: r.readRaw(len) }, end: r.pos };
    }
    case MessageType.ping:
    case MessageType.ack:
    case MessageType.err: {
      const message = readMessageBody(type, r) as StreamMessage;
      return { message, end: r.pos };
    }
    default:
      throw new DecodeError('unknown_type', `stream: message type ${type} is not valid here`);
  }
}

/** compress layer (optional) + bare message, over a buffer known to be complete. */
function parseCompleteBody(buf: Uint8Array, maxBytes: number): StreamMessage {
  if (buf.length > 0 && buf[0] === MessageType.compress) {
    const { inner } = decompressMessage(buf, maxBytes);
    return parseMessage(inner, true, maxBytes).message;
  }
  return parseMessage(buf, true, maxBytes).message;
}

/**
 * Errors from inside an already complete layer pass through as they are: there,
 * 'truncated' means damage, not a prefix. Anything untyped becomes malformed.
 */
function toDecodeError(e: unknown): DecodeError {
  if (e instanceof DecodeError) return e;
  return new DecodeError('malformed', e instanceof Error ? e.message : String(e));
}

type BodyResult = { status: 'ok'; message: StreamMessage; consumed: number } | { status: 'need-more' } | { status: 'error'; error: DecodeError };

/** the label header (on a stream opened to us), then the body sealed with that label */
function attempt(buf: Uint8Array, opts: DecodeStreamOptions): StreamDecodeResult {
  let label = opts.label ?? new Uint8Array(0);
  let at = 0;
  // Nothing yet says whether a header comes.
  if (buf.length === 0) return { status: 'need-more' };
  if (opts.labelPolicy) {
    const r = readLabelHeader(buf, false);
    if (r.status !== 'ok') return r;
    const error = checkLabel(r.label, opts.labelPolicy);
    if (error) return { status: 'error', error };
    // Copied: the caller's buffer is reused as more of the stream arrives.
    label = r.label.slice();
    at = r.consumed;
  }
  const body = attemptBody(at === 0 ? buf : buf.subarray(at), label, opts);
  return body.status === 'ok' ? { ...body, consumed: at + body.consumed, label } : body;
}

function attemptBody(buf: Uint8Array, label: Uint8Array, opts: DecodeStreamOptions): BodyResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_STREAM_BYTES;
  const hasKeys = opts.keyring !== undefined && opts.keyring.length > 0;
  if (buf.length === 0) return { status: 'need-more' };
  const first = buf[0] as number;

  if (first === MessageType.encrypt) {
    if (!hasKeys) {
      return { status: 'error', error: new DecodeError('decrypt_failed', 'Remote state is encrypted and encryption is not configured') };
    }
    if (buf.length < STREAM_ENCRYPT_HEADER_SIZE) return { status: 'need-more' };
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const length = view.getUint32(1);
    if (length > MAX_PUSH_STATE_BYTES || STREAM_ENCRYPT_HEADER_SIZE + length > maxBytes) {
      return { status: 'error', error: new DecodeError('oversize', `Remote node state is larger than limit (${length} bytes)`) };
    }
    const end = STREAM_ENCRYPT_HEADER_SIZE + length;
    if (buf.length < end) return { status: 'need-more' };
    let plain: Uint8Array;
    try {
      plain = decryptPayload(
        opts.keyring as Uint8Array[],
        buf.subarray(STREAM_ENCRYPT_HEADER_SIZE, end),
        streamAad(buf.subarray(0, STREAM_ENCRYPT_HEADER_SIZE), label),
      );
    } catch (e) {
      // Includes a keyring with a key of the wrong size (RangeError).
      const error = e instanceof DecodeError ? e : new DecodeError('decrypt_failed', e instanceof Error ? e.message : String(e));
      return { status: 'error', error };
    }
    try {
      return { status: 'ok', message: parseCompleteBody(plain, maxBytes), consumed: end };
    } catch (e) {
      return { status: 'error', error: toDecodeError(e) };
    }
  }

  if (hasKeys && (opts.verifyIncoming ?? true)) {
    return { status: 'error', error: new DecodeError('decrypt_failed', 'Encryption is configured but remote state is not encrypted') };
  }

  if (first === MessageType.compress) {
    // Only the compress value itself is read from the wire; Go reads nothing after it.
    // Find its end first, so "wait for more" and "damaged inside" stay distinct.
    const r = new MsgpackReader(buf, 1);
    try {
      r.skip();
    } catch (e) {
      if (e instanceof DecodeError && e.reason === 'truncated') return needMore(buf, maxBytes);
      return { status: 'error', error: toDecodeError(e) };
    }
    try {
      const { inner } = decompressMessage(buf.subarray(0, r.pos), maxBytes);
      return { status: 'ok', message: parseMessage(inner, true, maxBytes).message, consumed: r.pos };
    } catch (e) {
      return { status: 'error', error: toDecodeError(e) };
    }
  }

  try {
    const { message, end } = parseMessage(buf, false, maxBytes);
    return { status: 'ok', message, consumed: end };
  } catch (e) {
    // A bare message is read straight off the wire, so running out means "wait".
    if (e instanceof DecodeError && e.reason === 'truncated') return needMore(buf, maxBytes);
    return { status: 'error', error: toDecodeError(e) };
  }
}

function needMore(buf: Uint8Array, maxBytes: number): BodyResult {
  if (buf.length >= maxBytes) {
    return { status: 'error', error: new DecodeError('oversize', `stream: no complete message within ${maxBytes} bytes`) };
  }
  return { status: 'need-more' };
}

/**
 * Tries to decode one stream message from the bytes received so far. Never
 * throws. `consumed` tells how many bytes the message used (anything after it
 * is not part of this message).
 */
export function tryDecodeStream(buf: Uint8Array, opts: DecodeStreamOptions = {}): StreamDecodeResult {
  try {
    return attempt(buf, opts);
  } catch (e) {
    return { status: 'error', error: toDecodeError(e) };
  }
}
