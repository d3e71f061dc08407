// Serf's internal queries (serf/internal_query.go): queries whose name starts with
// `_serf_` are answered by Serf itself and never reach the application. Each one is
// answered by a handler looked up by its full name; node.ts builds the table (ping
// and conflict here; the keyring queries are added beside them).

/** Serf's InternalQueryPrefix */
export const INTERNAL_QUERY_PREFIX = '_serf_';

/** an internal query's answer: the response payload, or undefined to send none */
export type InternalQueryHandler = (q: { name: string; payload: Uint8Array; from: string }) => Uint8Array | undefined;

/** the table SerfQueries answers internal queries from, keyed by full name (`_serf_ping`) */
export type InternalQueryHandlers = Map<string, InternalQueryHandler>;
