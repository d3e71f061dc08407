// Serf's KeyManager for an rxswim node: one key query to every member through the
// node's query layer, each member's answer counted (src/serf/key-summary.ts) until all
// of them have answered or the query times out. What `rxswim keys --cluster` and
// `POST /v1/keys/cluster` run; the same queries `serf keys` sends.
import { filter, lastValueFrom, takeWhile, tap, type Observable } from 'rxjs';
import type { MemberState, SerfQueryOptions, SerfQueryReply } from '../api.js';
import { ConfigError } from '../errors.js';
import { Keyring } from '../security/keyring.js';
import { encodeKeyRequest, KEY_OPS, KEY_QUERIES, type KeyOp } from '../serf/key-queries.js';
import { KeyReplies, type ClusterKeyResult } from '../serf/key-summary.js';

/** what a key operation needs of a node */
export interface KeyQuerier {
  serfQuery(name: string, payload?: Uint8Array, opts?: SerfQueryOptions): Observable<SerfQueryReply>;
  countByState(): Record<MemberState, number>;
}

export interface ClusterKeyOutcome extends ClusterKeyResult {
  op: KeyOp;
  /** Serf's error for the whole operation ("1/3 nodes reported failure"); absent when every member succeeded */
  error?: string;
}

/**
 * Serf's InstallKey / UseKey / RemoveKey / ListKeys across the cluster. `key` (base64,
 * 16, 24 or 32 bytes) for every op but list; ConfigError naming `key` otherwise.
 * Resolves once every member listed when it was sent has answered, or at the timeout
 * (Serf's default query timeout unless given).
 */
export async function clusterKeys(node: KeyQuerier, op: KeyOp, key?: string, opts: { timeoutMs?: number; relayFactor?: number } = {}): Promise<ClusterKeyOutcome> {
  if (!KEY_OPS.includes(op)) throw new ConfigError('op', `must be one of ${KEY_OPS.join(', ')}, got ${JSON.stringify(op)}`);
  if (op === 'list' && key !== undefined) throw new ConfigError('key', 'is not taken by list');
  if (op !== 'list' && key === undefined) throw new ConfigError('key', `is needed to ${op} (base64 of 16, 24 or 32 bytes)`);
  const raw = key === undefined ? undefined : Keyring.parseKey(key, 'key');
  const replies$ = node.serfQuery(KEY_QUERIES[op], encodeKeyRequest(raw), {
    // As Serf's DefaultQueryParams: no acks, only answers.
    ack: false,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.relayFactor !== undefined ? { relayFactor: opts.relayFactor } : {}),
  });
  // Serf counts memberlist's NumMembers right after sending: the members not dead or left, us included.
  const states = node.countByState();
  const replies = new KeyReplies(states.alive + states.suspect);
  await lastValueFrom(
    replies$.pipe(
      filter((r): r is Extract<SerfQueryReply, { type: 'response' }> => r.type === 'response'),
      tap((r) => replies.add(r.from, r.payload)),
      takeWhile(() => !replies.done),
    ),
    { defaultValue: undefined },
  );
  const error = replies.error();
  return { op, ...replies.result(), ...(error ? { error } : {}) };
}
