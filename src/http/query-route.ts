// POST /v1/query: Serf's query through the agent, as Serf's RPC `query` command is.
// The replies are streamed as they arrive, one JSON object a line (NDJSON), or as
// server-sent events when the client asks for text/event-stream, then a summary
// when the query's timeout ends it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import * as z from 'zod/mini';
import type { SerfQueryOptions, SerfQueryReply } from '../api.js';

export type RunQuery = (name: string, payload: Uint8Array, opts: SerfQueryOptions) => Observable<SerfQueryReply>;

export const queryBody = z.strictObject({
  name: z.string({ error: 'name must be a string' }).check(z.minLength(1, { error: 'name must not be empty' })),
  payload: z.optional(z.string({ error: 'payload must be a string (UTF-8 text; payloadBase64 for bytes)' })),
  payloadBase64: z.optional(z.string({ error: 'payloadBase64 must be a base64 string' }).check(z.regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'payloadBase64 is not base64' }))),
  timeout: z.optional(z.union([z.number(), z.string()], { error: 'timeout must be a duration like 5s or a number of ms' })),
  nodes: z.optional(z.array(z.string(), { error: 'nodes must be a list of node names' })),
  tags: z.optional(z.record(z.string(), z.string(), { error: 'tags must map tag names to regular expressions' })),
  ack: z.optional(z.boolean({ error: 'ack must be true or false' })),
  relayFactor: z.optional(z.number({ error: 'relayFactor must be an integer 0-255' })),
});
export type QueryBody = z.infer<typeof queryBody>;

/** one line of the stream: a reply, then the summary */
export type QueryLineJson =
  | { type: 'ack'; from: string }
  | { type: 'response'; from: string; payload: string; payloadBase64: string }
  | { type: 'summary'; name: string; acks: string[]; responses: Record<string, string> };

/** the options a body asks for; a message naming the field when one is wrong */
export function queryOptions(b: QueryBody): { payload: Uint8Array; opts: SerfQueryOptions } | { error: string } {
  if (b.payload !== undefined && b.payloadBase64 !== undefined) return { error: 'give payload or payloadBase64, not both' };
  const payload = b.payloadBase64 !== undefined ? Buffer.from(b.payloadBase64, 'base64') : Buffer.from(b.payload ?? '');
  const opts: SerfQueryOptions = {};
  if (b.timeout !== undefined) {
    const ms = durationMs(b.timeout);
    if (ms === undefined || !(ms > 0)) return { error: `timeout must be a positive duration like 5s or a number of ms (got ${JSON.stringify(b.timeout)})` };
    opts.timeoutMs = ms;
  }
  if (b.nodes) opts.nodes = b.nodes;
  if (b.tags) opts.tags = b.tags;
  if (b.ack !== undefined) opts.ack = b.ack;
  if (b.relayFactor !== undefined) opts.relayFactor = b.relayFactor;
  return { payload, opts };
}

/** stream the replies of a query already started; the client going away stops the stream, not the query */
export function streamQuery(req: IncomingMessage, res: ServerResponse, name: string, replies$: Observable<SerfQueryReply>): void {
  const sse = /text\/event-stream/.test(req.headers.accept ?? '');
  res.writeHead(200, sse ? { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } : { 'content-type': 'application/x-ndjson' });
  const write = (line: QueryLineJson) => res.write(sse ? `event: ${line.type}\ndata: ${JSON.stringify(line)}\n\n` : `${JSON.stringify(line)}\n`);
  const acks: string[] = [];
  const responses: Record<string, string> = {};
  const sub = replies$.subscribe({
    next: (r) => {
      if (r.type === 'ack') {
        acks.push(r.from);
        write({ type: 'ack', from: r.from });
      } else {
        const p = Buffer.from(r.payload);
        responses[r.from] = p.toString('utf8');
        write({ type: 'response', from: r.from, payload: p.toString('utf8'), payloadBase64: p.toString('base64') });
      }
    },
    complete: () => {
      write({ type: 'summary', name, acks, responses });
      res.end();
    },
  });
  res.once('close', () => sub.unsubscribe());
}

/** ms from a number of ms, or `500ms`, `5s`, `1m`, `1.5s` */
function durationMs(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)(ms|s|m)?\s*$/.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm']);
}
