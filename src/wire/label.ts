// Cluster labels (memberlist ≥ 0.3, label.go): with a label configured, every UDP
// packet and every TCP stream a node opens starts with
//   0xf4 (hasLabelMsg) | length (1..255) | label bytes
// outside any encryption; with encryption the label is also the AES-GCM additional
// data (packets: the label; streams: the 5-byte 0x0a+length header, then the label),
// so a label cannot be stripped or swapped without the key noticing. An empty label
// means no header at all, which is also how every pre-0.3 node (Serf 0.8) talks.
//
// Only the stream's opener writes the header; the answer on that connection is bare
// and sealed with the same label. The header is honoured once, outermost: a second
// header, or one inside an encrypted payload, is just an unknown message type 244,
// as memberlist treats it.

import { DecodeError } from '../errors.js';

/** memberlist's hasLabelMsg: deliberately far above every message type */
export const HAS_LABEL_MSG = 244;
/** memberlist's LabelMaxSize: the length is one byte */
export const LABEL_MAX_SIZE = 255;

const NO_LABEL = new Uint8Array(0);

/** What a node sends and accepts. */
export interface LabelPolicy {
  /** the label inbound traffic must carry (its UTF-8 bytes); empty: none */
  label: Uint8Array;
  /** also accept traffic without a header (a cluster part way through being labelled) */
  acceptUnlabelled: boolean;
}

/** A label's bytes on the wire; throws RangeError when it cannot have a header. */
export function labelBytes(label: string | Uint8Array): Uint8Array {
  const bytes = typeof label === 'string' ? new TextEncoder().encode(label) : label;
  if (bytes.length > LABEL_MAX_SIZE) throw new RangeError(`label of ${bytes.length} bytes is longer than ${LABEL_MAX_SIZE}`);
  return bytes;
}

/** Bytes the header adds (memberlist's labelOverhead): 0 without a label. */
export function labelOverhead(label: Uint8Array): number {
  return label.length === 0 ? 0 : 2 + label.length;
}

/** The header alone, as the opener of a stream writes it first; empty without a label. */
export function labelHeader(label: Uint8Array): Uint8Array {
  return addLabelHeader(NO_LABEL, label);
}

/** `buf` behind a label header (memberlist's AddLabelHeaderToPacket); `buf` itself without a label. */
export function addLabelHeader(buf: Uint8Array, label: Uint8Array): Uint8Array {
  if (label.length === 0) return buf;
  labelBytes(label);
  const out = new Uint8Array(2 + label.length + buf.length);
  out[0] = HAS_LABEL_MSG;
  out[1] = label.length;
  out.set(label, 2);
  out.set(buf, 2 + label.length);
  return out;
}

export type LabelRead =
  /** `label` is empty when there was no header; `consumed` is the header's length */
  | { status: 'ok'; label: Uint8Array; consumed: number }
  /** a stream that has sent only part of its header so far */
  | { status: 'need-more' }
  | { status: 'error'; error: DecodeError };

/**
 * Reads the label header at the start of `buf`, if there is one. `complete`: `buf`
 * is all there is (a datagram, or a stream that has ended), so a short header is
 * damage; otherwise it is the start of a stream still arriving. Never throws.
 */
export function readLabelHeader(buf: Uint8Array, complete: boolean, what: 'packet' | 'stream' = complete ? 'packet' : 'stream'): LabelRead {
  if (buf.length === 0 || buf[0] !== HAS_LABEL_MSG) return { status: 'ok', label: NO_LABEL, consumed: 0 };
  if (buf.length < 2) {
    return complete ? malformed(`cannot decode label; ${what} has been truncated`) : { status: 'need-more' };
  }
  const size = buf[1] as number;
  if (size === 0) return malformed('label header cannot be empty when present');
  if (buf.length < 2 + size) {
    return complete ? malformed(`cannot decode label; ${what} has been truncated`) : { status: 'need-more' };
  }
  return { status: 'ok', label: buf.subarray(2, 2 + size), consumed: 2 + size };
}

function malformed(message: string): LabelRead {
  return { status: 'error', error: new DecodeError('label_malformed', message) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A label as text for logs and errors (labels are bytes on the wire, normally UTF-8). */
export function labelText(label: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(label));
}

/**
 * Whether traffic that carried `found` (empty: no header) may be read under `policy`
 * (memberlist's `m.config.Label != packetLabel`, plus the rollout's unlabelled case).
 */
export function checkLabel(found: Uint8Array, policy: LabelPolicy): DecodeError | undefined {
  if (sameBytes(found, policy.label)) return undefined;
  if (found.length === 0) {
    if (policy.acceptUnlabelled) return undefined;
    return new DecodeError('label_missing', `unlabelled, but this node requires label ${labelText(policy.label)}`);
  }
  if (policy.label.length === 0) {
    return new DecodeError('label_unexpected', `labelled ${labelText(found)}, but this node has no label`);
  }
  return new DecodeError('label_mismatch', `labelled ${labelText(found)}, but this node's label is ${labelText(policy.label)}`);
}

export type LabelStrip = { ok: true; label: Uint8Array; rest: Uint8Array } | { ok: false; error: DecodeError };

/**
 * A datagram without its header, and the label it carried, if `policy` accepts it
 * (memberlist's RemoveLabelHeaderFromPacket and the check in ingestPacket). Never throws.
 */
export function stripPacketLabel(buf: Uint8Array, policy: LabelPolicy): LabelStrip {
  const r = readLabelHeader(buf, true);
  if (r.status === 'error') return { ok: false, error: r.error };
  if (r.status === 'need-more') return { ok: false, error: new DecodeError('label_malformed', 'cannot decode label; packet has been truncated') };
  const error = checkLabel(r.label, policy);
  if (error) return { ok: false, error };
  return { ok: true, label: r.label, rest: buf.subarray(r.consumed) };
}
