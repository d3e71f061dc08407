// Serf's key queries (serf/internal_query.go, keymanager.go): `serf keys -install /
// -use / -remove / -list` is an internal query to every member, and each answers with
// its own result, so the asker can count nodes, failures and, for a list, how many
// members hold each key. Sans-IO: a request's payload in, a response's payload out,
// applied to a keyring through a narrow interface.
//
// The answers follow Serf's semantics, which are memberlist's keyring rules, not
// rxswim's Keyring's: removing a key that is not installed (or is not even a valid
// key) succeeds as a no-op, and the only size check is on install. So the rules are
// checked here, before the keyring is touched, and its own errors are a fallback.
//
// Where rxswim differs on purpose (checked against the Go vectors in the tests):
// - a request that does not decode gets Result false with a Message saying why; Serf
//   sends an empty Message, and `serf keys` then shows the node with nothing to read;
// - the leading type byte must be Serf's key-request type; Serf skips it unread.
import type { DecodeErrorReason } from '../errors.js';
import { DecodeError } from '../errors.js';
import { encodeMsgpack, MsgpackMap, MsgpackReader, utf8Decode, utf8Encode } from '../wire/msgpack.js';
import type { InternalQueryHandler, InternalQueryHandlers } from './internal-queries.js';
import { SerfMessageType } from './messages.js';
import { QUERY_RESPONSE_SIZE_LIMIT } from './queries.js';

/** Serf's internal query names for each key operation */
export const KEY_QUERIES = {
  install: '_serf_install-key',
  use: '_serf_use-key',
  remove: '_serf_remove-key',
  list: '_serf_list-keys',
} as const;
export type KeyOp = keyof typeof KEY_QUERIES;
export const KEY_OPS = Object.keys(KEY_QUERIES) as KeyOp[];

/** What a key query needs of a keyring; rxswim's Keyring has this shape. */
export interface KeyQueryRing {
  /** false: no key at all, so encryption is off and there is nothing to change */
  readonly enabled: boolean;
  /** primary first */
  readonly keys: Uint8Array[];
  install(key: Uint8Array): void;
  use(key: Uint8Array): void;
  remove(key: Uint8Array): void;
}

/** Serf's nodeKeyResponse */
export interface NodeKeyResponse {
  result: boolean;
  message: string;
  /** standard base64, primary first; null when Serf's slice would be nil (no list made) */
  keys: string[] | null;
  /** standard base64 of the primary key; '' unless listing */
  primaryKey: string;
}

/** How a key query was answered, for the metric. */
export type KeyQueryResult = 'ok' | 'error' | 'malformed';

// Serf's words (memberlist's keyring and serf's internal_query.go), which `serf keys` prints.
export const KEY_MESSAGES = {
  noKeyring: 'No keyring to modify (encryption not enabled)',
  emptyKeyring: 'Keyring is empty (encryption not enabled)',
  badSize: 'key size must be 16, 24 or 32 bytes',
  notInRing: 'Requested key is not in the keyring',
  removePrimary: 'Removing the primary key is not allowed',
} as const;

/** Serf's estimate of the smallest key entry in a list answer (a 16-byte key in base64 plus its header) */
const MIN_ENCODED_KEY_LENGTH = 25;
const KEY_SIZES = new Set([16, 24, 32]);
/** a key request is one small map; nothing in it nests */
const MAX_DEPTH = 4;

export type KeyRequestDecoded = { ok: true; key: Uint8Array } | { ok: false; reason: DecodeErrorReason; detail: string };

/**
 * keyRequest {Key []byte} after its type byte. As Go's codec decodes it: a missing or
 * nil Key is an empty key (which then fails as a key, not as a request), a struct may
 * come as an array of its fields, unknown fields and trailing bytes are ignored.
 * Never throws.
 */
export function decodeKeyRequest(payload: Uint8Array): KeyRequestDecoded {
  if (payload.length === 0) return { ok: false, reason: 'truncated', detail: 'empty key request' };
  if (payload[0] !== SerfMessageType.keyRequest) return { ok: false, reason: 'unknown_type', detail: `type byte ${payload[0]} is not a key request (${SerfMessageType.keyRequest})` };
  try {
    const v = new MsgpackReader(payload, 1, MAX_DEPTH).readValue();
    if (!(v instanceof MsgpackMap || Array.isArray(v))) return { ok: false, reason: 'malformed', detail: 'key request body is not a map' };
    const key = v instanceof MsgpackMap ? v.get('Key') : v[0];
    if (key === undefined || key === null) return { ok: true, key: new Uint8Array(0) };
    if (!(key instanceof Uint8Array)) return { ok: false, reason: 'malformed', detail: 'key request Key is not bytes' };
    return { ok: true, key: key.slice() };
  } catch (e) {
    return decodeFailure(e);
  }
}

/** A key request as Serf's KeyManager sends it (for list, no key). */
export function encodeKeyRequest(key?: Uint8Array): Uint8Array {
  return withType(SerfMessageType.keyRequest, encodeMsgpack({ Key: key ?? null }));
}

/** nodeKeyResponse as Go's codec writes it: type byte, then the fields in sorted order, a nil Keys as nil */
export function encodeNodeKeyResponse(r: NodeKeyResponse): Uint8Array {
  return withType(SerfMessageType.keyResponse, encodeMsgpack({ Keys: r.keys, Message: r.message, PrimaryKey: r.primaryKey, Result: r.result }));
}

export type NodeKeyResponseDecoded = { ok: true; response: NodeKeyResponse } | { ok: false; reason: DecodeErrorReason; detail: string };

/** A member's answer, as Serf's keymanager reads it (for an asker). Never throws. */
export function decodeNodeKeyResponse(payload: Uint8Array): NodeKeyResponseDecoded {
  if (payload.length === 0 || payload[0] !== SerfMessageType.keyResponse) return { ok: false, reason: 'unknown_type', detail: 'not a key response' };
  try {
    const v = new MsgpackReader(payload, 1, MAX_DEPTH).readValue();
    if (!(v instanceof MsgpackMap)) return { ok: false, reason: 'malformed', detail: 'key response body is not a map' };
    const result = v.get('Result');
    const message = optionalText(v.get('Message'));
    const primaryKey = optionalText(v.get('PrimaryKey'));
    const rawKeys = v.get('Keys');
    if (!(typeof result === 'boolean' || result === undefined || result === null) || message === undefined || primaryKey === undefined) {
      return { ok: false, reason: 'malformed', detail: 'key response has a mistyped Result/Message/PrimaryKey' };
    }
    let keys: string[] | null = null;
    if (Array.isArray(rawKeys)) {
      keys = [];
      for (const k of rawKeys) {
        if (!(k instanceof Uint8Array)) return { ok: false, reason: 'malformed', detail: 'key response Keys has a non-string entry' };
        keys.push(utf8Decode(k));
      }
    } else if (rawKeys !== undefined && rawKeys !== null) return { ok: false, reason: 'malformed', detail: 'key response Keys is not an array' };
    return { ok: true, response: { result: result === true, message, keys, primaryKey } };
  } catch (e) {
    return decodeFailure(e);
  }
}

/**
 * The payload bytes a member named `nodeName` can answer with so that Serf's query
 * response around them (type byte, {LTime, ID, From, Flags, Payload}) stays within
 * `limit`, taking every integer at its widest: Serf refuses a larger answer.
 */
export function keyResponseBudget(nodeName: string, limit = QUERY_RESPONSE_SIZE_LIMIT): number {
  const n = utf8Encode(nodeName).length;
  const nameHeader = n <= 31 ? 1 : n <= 0xffff ? 3 : 5;
  // type + fixmap + keys ("LTime" "ID" "From" "Flags" "Payload": 6+3+5+6+8) + uint64 + 2×uint32 + payload raw16 header
  const overhead = 1 + 1 + 28 + 9 + 5 + 5 + 3 + nameHeader + n;
  return limit - overhead;
}

export interface KeyQueryOptions {
  /** payload bytes an answer may take (keyResponseBudget); a longer key list is cut as Serf cuts it */
  maxPayload?: number;
}

export interface KeyQueryAnswer {
  response: NodeKeyResponse;
  result: KeyQueryResult;
  /** the drop reason when the request did not decode */
  reason?: DecodeErrorReason;
}

/** One key query applied to a keyring: what to answer. Never throws. */
export function answerKeyQuery(op: KeyOp, payload: Uint8Array, ring: KeyQueryRing): KeyQueryAnswer {
  const fail = (message: string, result: KeyQueryResult = 'error', reason?: DecodeErrorReason): KeyQueryAnswer => ({
    response: { result: false, message, keys: null, primaryKey: '' },
    result,
    ...(reason ? { reason } : {}),
  });
  const done: KeyQueryAnswer = { response: { result: true, message: '', keys: null, primaryKey: '' }, result: 'ok' };
  // As Serf: a list reads no request; the others decode theirs before anything else.
  if (op === 'list') {
    if (!ring.enabled) return fail(KEY_MESSAGES.emptyKeyring);
    const keys = ring.keys.map(toBase64);
    return { response: { result: true, message: '', keys, primaryKey: keys[0] ?? '' }, result: 'ok' };
  }
  const req = decodeKeyRequest(payload);
  if (!req.ok) return fail(`Failed to decode key request: ${req.detail}`, 'malformed', req.reason);
  if (!ring.enabled) return fail(KEY_MESSAGES.noKeyring);
  const key = req.key;
  const keys = ring.keys;
  const at = keys.findIndex((k) => sameBytes(k, key));
  try {
    if (op === 'install') {
      if (!KEY_SIZES.has(key.length)) return fail(KEY_MESSAGES.badSize);
      if (at < 0) ring.install(key);
    } else if (op === 'use') {
      if (at < 0) return fail(KEY_MESSAGES.notInRing);
      if (at > 0) ring.use(key);
    } else {
      if (at === 0) return fail(KEY_MESSAGES.removePrimary);
      if (at > 0) ring.remove(key);
    }
  } catch (e) {
    // The keyring refused for a reason of its own: answer with it rather than throw.
    return fail(e instanceof Error ? e.message : String(e));
  }
  return done;
}

/**
 * The encoded answer. A list longer than `maxPayload` is cut as Serf's
 * keyListResponseWithCorrectSize cuts it: to at most limit/25 keys, then one fewer at a
 * time, saying so in Message; undefined (no answer, as Serf) if even none fit.
 */
export function encodeKeyAnswer(answer: NodeKeyResponse, maxPayload = keyResponseBudget('')): Uint8Array | undefined {
  let r = answer;
  const all = answer.keys;
  if (all === null) return encodeNodeKeyResponse(r);
  // Serf's bound on the number of keys is from its whole limit, not the payload's share.
  const maxKeys = Math.floor(QUERY_RESPONSE_SIZE_LIMIT / MIN_ENCODED_KEY_LENGTH);
  for (let i = maxKeys; i >= 0; i--) {
    const buf = encodeNodeKeyResponse(r);
    if (buf.length <= maxPayload) return buf;
    r = { ...r, keys: (r.keys ?? []).slice(0, i), message: `truncated key list response, showing first ${i} of ${all.length} keys` };
  }
  return undefined;
}

export interface KeyQueryDeps extends KeyQueryOptions {
  /** each query answered (or left unanswered because no answer fits), for the metric and the log */
  answered?(a: { op: KeyOp; result: KeyQueryResult; from: string; message: string; reason?: DecodeErrorReason }): void;
}

/** The handlers for Serf's four key queries, by query name, over one keyring. */
export function keyQueryHandlers(ring: KeyQueryRing, deps: KeyQueryDeps = {}): InternalQueryHandlers {
  const handlers: InternalQueryHandlers = new Map<string, InternalQueryHandler>();
  for (const op of KEY_OPS) {
    handlers.set(KEY_QUERIES[op], (q) => {
      const a = answerKeyQuery(op, q.payload, ring);
      const out = encodeKeyAnswer(a.response, deps.maxPayload);
      deps.answered?.({
        op, result: out ? a.result : 'error', from: q.from,
        message: out ? a.response.message : 'no answer fits the query response size limit',
        ...(a.reason ? { reason: a.reason } : {}),
      });
      return out;
    });
  }
  return handlers;
}

function decodeFailure(e: unknown): { ok: false; reason: DecodeErrorReason; detail: string } {
  if (e instanceof DecodeError) return { ok: false, reason: e.reason, detail: e.message };
  return { ok: false, reason: 'malformed', detail: e instanceof Error ? e.message : String(e) };
}

function withType(t: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = t;
  out.set(body, 1);
  return out;
}

function optionalText(v: unknown): string | undefined {
  if (v === undefined || v === null) return '';
  return v instanceof Uint8Array ? utf8Decode(v) : undefined;
}

function toBase64(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
