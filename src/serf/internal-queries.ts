// Serf's internal queries (serf/internal_query.go): queries whose name starts with
// `_serf_` are answered by Serf itself and never reach the application. Each one is
// answered by a handler looked up by its full name; node.ts builds the table (ping
// and conflict here; the keyring queries are added beside them).
import { utf8Decode } from '../wire/msgpack.js';
import { encodeConflictResponse, type ConflictMember } from './query-messages.js';

/** Serf's InternalQueryPrefix */
export const INTERNAL_QUERY_PREFIX = '_serf_';

/** an internal query's answer: the response payload, or undefined to send none */
export type InternalQueryHandler = (q: { name: string; payload: Uint8Array; from: string }) => Uint8Array | undefined;

/** the table SerfQueries answers internal queries from, keyed by full name (`_serf_ping`) */
export type InternalQueryHandlers = Map<string, InternalQueryHandler>;

/** Serf's internal query names */
export const PING_QUERY = `${INTERNAL_QUERY_PREFIX}ping`;
export const CONFLICT_QUERY = `${INTERNAL_QUERY_PREFIX}conflict`;

/** serf.MemberStatus of a member state (Serf counts a suspect member alive) */
export function serfStatusOf(state: 'alive' | 'suspect' | 'dead' | 'left'): number {
  return state === 'dead' ? 4 : state === 'left' ? 3 : 1;
}

/**
 * Serf's handleConflict: the payload names a member; the answer is the member we
 * know by that name (nil when none), and none at all when the name is ours: the
 * querier is asking the others who holds it.
 */
export function conflictHandler(ourName: string, lookup: (name: string) => ConflictMember | undefined): InternalQueryHandler {
  return (q) => {
    const node = utf8Decode(q.payload);
    if (node === ourName) return undefined;
    return encodeConflictResponse(lookup(node));
  };
}
