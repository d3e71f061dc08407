// Serf's ping-delegate payload (serf/ping_delegate.go), the bytes memberlist puts in
// the Payload of an ack: one version byte (PingVersion 1), then the msgpack-encoded
// coordinate.Coordinate, a map whose keys go-msgpack writes sorted (Adjustment, Error,
// Height, Vec) with every number as a float64. Decoding never throws: a payload we
// cannot use comes back as a drop reason the caller counts.
import { DecodeError } from '../errors.js';
import { decodeMsgpack, MsgpackMap, MsgpackWriter, type DecodedValue } from '../wire/msgpack.js';
import type { Coordinate } from './coordinate.js';

/** Serf's PingVersion: the payload's first byte */
export const PING_VERSION = 1;

/** Why an ack payload was not used; also the `reason` label of the rejected-updates metric. */
export const PING_PAYLOAD_DROP_REASONS = ['unsupported_version', 'malformed', 'not_a_coordinate'] as const;
export type PingPayloadDropReason = (typeof PING_PAYLOAD_DROP_REASONS)[number];

export type PingPayloadResult = { ok: true; coordinate: Coordinate } | { ok: false; reason: PingPayloadDropReason };

export function encodePingPayload(c: Coordinate): Uint8Array {
  const w = new MsgpackWriter(32 + 9 * c.vec.length);
  w.writeByte(PING_VERSION);
  w.writeMapHeader(4);
  w.writeString('Adjustment');
  w.writeFloat64(c.adjustment);
  w.writeString('Error');
  w.writeFloat64(c.error);
  w.writeString('Height');
  w.writeFloat64(c.height);
  w.writeString('Vec');
  w.writeArrayHeader(c.vec.length);
  for (const x of c.vec) w.writeFloat64(x);
  return w.finish();
}

/** Go's codec reads an integer into a float64 field too */
function asNumber(v: DecodedValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/**
 * The coordinate in a non-empty ack payload. As Go's decoder: unknown keys are
 * skipped, a missing field is zero (a missing Vec has no dimensions, which the
 * client then refuses as incompatible), bytes after the map are ignored.
 */
export function decodePingPayload(payload: Uint8Array): PingPayloadResult {
  if (payload.length === 0 || payload[0] !== PING_VERSION) return { ok: false, reason: 'unsupported_version' };
  let value: DecodedValue;
  try {
    value = decodeMsgpack(payload.subarray(1)).value;
  } catch (e) {
    if (e instanceof DecodeError || e instanceof RangeError) return { ok: false, reason: 'malformed' };
    throw e;
  }
  if (!(value instanceof MsgpackMap)) return { ok: false, reason: 'not_a_coordinate' };
  const fields: Record<'Adjustment' | 'Error' | 'Height', number> = { Adjustment: 0, Error: 0, Height: 0 };
  for (const key of ['Adjustment', 'Error', 'Height'] as const) {
    const v = value.get(key);
    if (v === undefined || v === null) continue;
    const n = asNumber(v);
    if (n === undefined) return { ok: false, reason: 'not_a_coordinate' };
    fields[key] = n;
  }
  const rawVec = value.get('Vec');
  const vec: number[] = [];
  if (rawVec !== undefined && rawVec !== null) {
    if (!Array.isArray(rawVec)) return { ok: false, reason: 'not_a_coordinate' };
    for (const x of rawVec) {
      const n = asNumber(x);
      if (n === undefined) return { ok: false, reason: 'not_a_coordinate' };
      vec.push(n);
    }
  }
  return { ok: true, coordinate: { vec, error: fields.Error, adjustment: fields.Adjustment, height: fields.Height } };
}
