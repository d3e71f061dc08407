// Serf's tag encoding of memberlist node metadata (spec §12).
//
// memberlist treats Meta as opaque bytes; Serf puts its tags there as a magic
// byte 0xff followed by a msgpack map of string → string, written with
// go-msgpack's old-spec handle (strings are "raw": fixstr / 0xda / 0xdb). Using
// the same convention lets a Serf agent show our tags and us show theirs.

import { ConfigError } from '../errors.js';
import { MsgpackReader, MsgpackWriter, utf8Decode } from '../wire/msgpack.js';

/** Serf's marker that Meta holds encoded tags rather than application bytes. */
export const TAG_MAGIC_BYTE = 0xff;

/** memberlist's MetaMaxSize: a Go sender panics on larger meta, so we refuse to produce it. */
export const META_MAX_SIZE = 512;

/**
 * Encodes tags as Serf does: 0xff + msgpack map. Keys are written in byte-wise
 * sorted order. Go's old msgpack encoder writes a map in Go's (randomised) map
 * iteration order, so no receiver can depend on the order; sorting makes our
 * bytes deterministic, and identical to Serf's whenever there is at most one tag.
 *
 * Throws ConfigError('tags') if a value is not a string or the result would
 * exceed META_MAX_SIZE.
 */
export function encodeTags(tags: Record<string, string>): Uint8Array {
  for (const [k, v] of Object.entries(tags)) {
    // Guards untyped (JS / parsed JSON) callers: Serf would fail to decode a non-string value.
    if (typeof v !== 'string') throw new ConfigError('tags', `value of tag "${k}" must be a string`);
  }
  const w = new MsgpackWriter();
  // MsgpackWriter only writes msgpack values, so the marker byte is prepended by hand.
  w.write(tags);
  const map = w.finish();
  const out = new Uint8Array(1 + map.length);
  out[0] = TAG_MAGIC_BYTE;
  out.set(map, 1);
  if (out.length > META_MAX_SIZE) {
    throw new ConfigError('tags', `encoded tags are ${out.length} bytes, at most ${META_MAX_SIZE} allowed`);
  }
  return out;
}

/**
 * Decodes Serf tags from a node's Meta. Returns undefined when the meta is not
 * in Serf's encoding (empty, no 0xff marker, malformed or truncated msgpack, a
 * key or value that is not a string), because Meta from a plain memberlist
 * application is arbitrary bytes and must not be an error. Never throws.
 *
 * Like Serf's Go decoder: bytes after the map are ignored, a nil map is no
 * tags, a repeated key keeps its last value, and strings that are not valid
 * UTF-8 are decoded with replacement characters rather than rejected (Go
 * strings may hold any bytes; showing them lossily beats hiding all tags).
 */
export function decodeTags(meta: Uint8Array): Record<string, string> | undefined {
  if (meta.length === 0 || meta[0] !== TAG_MAGIC_BYTE) return undefined;
  try {
    const r = new MsgpackReader(meta, 1);
    const n = r.readMapHeader();
    const entries: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) {
      const k = readStringOnly(r);
      const v = readStringOnly(r);
      if (k === undefined || v === undefined) return undefined;
      entries.push([k, v]);
    }
    // fromEntries defines own properties, so a "__proto__" tag stays data, not a prototype.
    return Object.fromEntries(entries);
  } catch {
    return undefined;
  }
}

/** A str/bin value as text, or undefined for anything else (nil, numbers, maps...). */
function readStringOnly(r: MsgpackReader): string | undefined {
  // readBytes throws DecodeError for non-raw values (caught by the caller) and
  // returns null for nil, which we also refuse: it is not a string.
  const bytes = r.readBytes();
  return bytes === null ? undefined : utf8Decode(bytes);
}

/**
 * Parses a CLI `--tag KEY=VALUE`. Splits at the first '=', so values may
 * contain '='; an empty value is allowed (as in Serf), an empty key is not.
 */
export function parseTagArg(s: string): [string, string] {
  const eq = s.indexOf('=');
  if (eq < 0) throw new ConfigError('tag', `expected KEY=VALUE, got "${s}"`);
  const key = s.slice(0, eq);
  if (key.length === 0) throw new ConfigError('tag', `empty tag key in "${s}"`);
  return [key, s.slice(eq + 1)];
}
