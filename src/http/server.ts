// The agent's HTTP API. Plain node:http: a dozen fixed routes, one of them a
// server-sent event stream, need neither a router nor middleware, and a framework
// would add more code to audit than this file has. Bodies are JSON and validated
// with zod; every error is JSON `{error}`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import * as z from 'zod/mini';
import type { Member, MemberEvent, MemberState } from '../api.js';
import { ConfigError, ForceLeaveError, JoinError, KeyringError, StateError } from '../errors.js';
import { decodeTags } from '../membership/tags.js';
import type { Coordinate } from '../serf/coordinate.js';
import type { SerfUserEvent } from '../serf/user-events.js';
import { queryBody, queryOptions, streamQuery, type RunQuery } from './query-route.js';

export interface MemberJson {
  name: string;
  address: string;
  port: number;
  state: Member['state'];
  incarnation: number;
  /** metadata, base64 */
  meta: string;
  /** the metadata decoded, when it is in Serf's tag encoding */
  tags?: Record<string, string>;
}

export function memberToJson(m: Member): MemberJson {
  const tags = decodeTags(m.meta);
  return {
    name: m.name,
    address: m.address,
    port: m.port,
    state: m.state,
    incarnation: m.incarnation,
    meta: Buffer.from(m.meta).toString('base64'),
    ...(tags ? { tags } : {}),
  };
}

/** One Serf user event as `GET /v1/events` sends it (SSE `event: user_event`) and the agent logs it. */
export interface UserEventJson {
  type: 'user_event';
  name: string;
  /** the payload as UTF-8 text (lossy when it is not text) */
  payload: string;
  payloadBase64: string;
  /** Serf's event Lamport time, as a decimal string (uint64) */
  ltime: string;
  coalesce: boolean;
  /** wall-clock ms when this agent observed it */
  time: number;
}

export function userEventToJson(e: SerfUserEvent): UserEventJson {
  const p = Buffer.from(e.payload);
  return { type: 'user_event', name: e.name, payload: p.toString('utf8'), payloadBase64: p.toString('base64'), ltime: String(e.ltime), coalesce: e.coalesce, time: Date.now() };
}

/** One membership event as `GET /v1/events` sends it (the SSE `data:` line). */
export interface EventJson {
  type: MemberEvent['type'];
  member: MemberJson;
  /** wall-clock ms when this agent observed it */
  time: number;
}

/** One row of `GET /v1/coordinates`: Serf's coordinate.Coordinate, seconds. */
export interface CoordinateJson {
  name: string;
  coordinate: { vec: number[]; error: number; adjustment: number; height: number };
}

/** `GET /v1/self`. */
export interface SelfJson extends MemberJson {
  /** member counts by state, this node included */
  members: Record<MemberState, number>;
  /** Lifeguard local health score, 0 = healthy */
  healthScore?: number;
  /** probe round-trip time: mean over about the last 10 s (null without probes in it) and since start */
  probeRtt: { recentMs: number | null; meanMs: number | null; count: number };
  health: { ok: boolean; reason?: string };
  [extra: string]: unknown;
}

export interface HttpApi {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export interface HttpApiOptions {
  host: string;
  port: number;
  registry: Registry;
  members: () => Member[];
  /** every member's network coordinate, ours first (`GET /v1/coordinates`) */
  coordinates?: () => Array<{ name: string; coordinate: Coordinate }>;
  /** the local member; /v1/self answers 501 without it */
  self?: () => Member;
  /** extra fields for /v1/self (profile, health score, ...) */
  info?: () => Record<string, unknown>;
  events$?: Observable<MemberEvent>;
  /** Serf user events, streamed by /v1/events beside membership changes */
  serfEvents$?: Observable<SerfUserEvent>;
  /** send a Serf user event (POST /v1/event); RangeError when too big */
  serfEvent?: (name: string, payload: Uint8Array, coalesce: boolean) => bigint;
  /** Serf's force-leave of a member (POST /v1/force-leave); ForceLeaveError when refused */
  forceLeave?: (node: string, prune: boolean) => bigint;
  /** the agent's own tags (GET/POST /v1/tags): undefined when its meta is not Serf tags; set throws ConfigError when too big */
  tags?: { get(): Readonly<Record<string, string>> | undefined; set(tags: Record<string, string>): void };
  /** send a Serf query (POST /v1/query); throws RangeError when too big or an option is out of range */
  serfQuery?: RunQuery;
  /** ready to serve traffic: started, and joined when seeds were given */
  health?: () => { ok: boolean; reason?: string };
  join?: (seeds: string[]) => Promise<number>;
  /** begin a graceful leave; called after the response is sent */
  leave?: () => void;
  keyring?: { list(): string[]; install(k: string): void; use(k: string): void; remove(k: string): void };
  /** Serf's key queries to every member (POST /v1/keys/cluster): ConfigError for a bad key, StateError with Serf's layer off */
  clusterKeys?: (op: 'list' | 'install' | 'use' | 'remove', key?: string) => Promise<object>;
  /** bearer token required by mutating routes and the key list; none = open */
  token?: string;
  /** SSE keep-alive comment period, ms */
  heartbeatMs?: number;
}

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];
/** Serf's refusal ("No keyring to modify (encryption not enabled)"), with what to do instead. */
export const NO_KEYRING = 'no keyring to modify (encryption not enabled): this agent was started without --encrypt, and keys can only be rotated on an encrypted cluster';
const MAX_BODY = 64 * 1024;
const RTT_WINDOW_MS = 10_000;
const RTT_METRIC = 'rxswim_probe_rtt_seconds';

const SEED = 'must be a string: a seed address such as 10.0.0.2:7946, 10.0.0.2, [fd00::2]:7946 or dns:NAME[:PORT]';
const joinBody = z.strictObject({
  seeds: z.array(z.string({ error: SEED }), { error: 'seeds must be a list of seed addresses (strings)' }).check(z.minLength(1, { error: 'seeds must not be empty' })),
});
const eventBody = z.strictObject({
  name: z.string({ error: 'name must be a string' }).check(z.minLength(1, { error: 'name must not be empty' })),
  payload: z.optional(z.string({ error: 'payload must be a string (UTF-8 text; payloadBase64 for bytes)' })),
  payloadBase64: z.optional(z.string({ error: 'payloadBase64 must be a base64 string' }).check(z.regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'payloadBase64 is not base64' }))),
  coalesce: z.optional(z.boolean({ error: 'coalesce must be true or false' })),
});
const forceLeaveBody = z.strictObject({
  node: z.string({ error: 'node must be a string: a member name' }).check(z.minLength(1, { error: 'node must not be empty' })),
  prune: z.optional(z.boolean({ error: 'prune must be true or false' })),
});
const tagsBody = z.strictObject({
  set: z.optional(z.record(z.string(), z.string({ error: 'must be a string' }), { error: 'set must be an object of tag names to string values' })),
  delete: z.optional(z.array(z.string({ error: 'must be a tag name (string)' }), { error: 'delete must be a list of tag names' })),
});
const keyBody = z.strictObject({
  op: z.enum(['install', 'use', 'remove'], { error: 'op must be install, use or remove' }),
  key: z.string({ error: 'key must be a base64 string' }),
});
const clusterKeyBody = z.strictObject({
  op: z.enum(['list', 'install', 'use', 'remove'], { error: 'op must be list, install, use or remove' }),
  key: z.optional(z.string({ error: 'key must be a base64 string' })),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Compare tokens in constant time (hashing first makes the lengths equal). */
function tokenMatches(given: string, want: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(want));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function validate<T>(schema: z.ZodMiniType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new HttpError(400, `unknown field ${issue.keys[0]}`);
  // An element of a list (or a field of a nested object) is named by its path,
  // `seeds[0]: must be a string ...`; a top-level field's message names it already.
  if (issue.path.length > 1) {
    const [first, ...rest] = issue.path;
    const where = `${String(first)}${rest.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
    let got: unknown = body;
    for (const p of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
    throw new HttpError(400, `${where}: ${issue.message} (got ${JSON.stringify(got)})`);
  }
  throw new HttpError(400, issue.message);
}

/**
 * Probe RTT from the node's own histogram: the lifetime mean, and the mean over the
 * last 10 s or a little more, by differencing against a sample taken about then
 * (samples are taken when /v1/self is asked, so no timer runs for it).
 */
function rttTracker(registry: Registry) {
  const samples: Array<{ t: number; sum: number; count: number }> = [];
  return async () => {
    const metric = registry.getSingleMetric(RTT_METRIC);
    if (!metric) return { recentMs: null, meanMs: null, count: 0 };
    // histogram values carry metricName (`…_sum`, `…_count`, `…_bucket`), untyped in prom-client
    const values = (await metric.get()).values as Array<{ metricName?: string; value: number }>;
    const sum = values.find((v) => v.metricName === `${RTT_METRIC}_sum`)?.value ?? 0;
    const count = values.find((v) => v.metricName === `${RTT_METRIC}_count`)?.value ?? 0;
    const now = Date.now();
    // The baseline is the newest sample at least a window old (older ones are dropped);
    // before there is one, the window reaches back to the start.
    const cutoff = now - RTT_WINDOW_MS;
    while (samples.length > 1 && samples[1]!.t <= cutoff) samples.shift();
    const base = samples[0] !== undefined && samples[0].t <= cutoff ? samples[0] : { sum: 0, count: 0 };
    samples.push({ t: now, sum, count });
    const ms = (s: number, c: number) => (c > 0 ? Math.round((s / c) * 1e6) / 1e3 : null);
    return { recentMs: ms(sum - base.sum, count - base.count), meanMs: ms(sum, count), count };
  };
}

export async function startHttpApi(opts: HttpApiOptions): Promise<HttpApi> {
  const rtt = rttTracker(opts.registry);
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const health = () => opts.health?.() ?? { ok: true };

  type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<unknown> | unknown;
  interface Route {
    handler: Handler;
    /** needs the bearer token when one is configured */
    auth?: boolean;
    /** writes its own response (metrics, SSE) */
    raw?: boolean;
    /** an endless response (SSE): HEAD answers with its headers alone */
    stream?: boolean;
  }
  const allowed = (byMethod: Record<string, Route>) => [...Object.keys(byMethod), ...(byMethod.GET ? ['HEAD'] : [])].join(', ');
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new HttpError(501, `${what} is not available on this server`);
    return v;
  };

  const routes: Record<string, Record<string, Route>> = {
    '/v1/members': {
      GET: {
        handler: (_req, _res, url) => {
          const status = url.searchParams.get('status');
          let members = opts.members();
          if (status !== null) {
            const wanted = status.split(',').filter((s) => s.length > 0);
            const bad = wanted.find((s) => !STATES.includes(s as MemberState));
            if (bad !== undefined || wanted.length === 0) throw new HttpError(400, `status must be one or more of ${STATES.join(', ')} (got ${JSON.stringify(status)})`);
            members = members.filter((m) => wanted.includes(m.state));
          }
          return members.map(memberToJson);
        },
      },
    },
    '/v1/coordinates': {
      GET: { handler: (): CoordinateJson[] => need(opts.coordinates, '/v1/coordinates')().map(({ name, coordinate: c }) => ({ name, coordinate: { vec: [...c.vec], error: c.error, adjustment: c.adjustment, height: c.height } })) },
    },
    '/v1/self': {
      GET: {
        handler: async (): Promise<SelfJson> => {
          const self = need(opts.self, '/v1/self')();
          const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
          for (const m of opts.members()) counts[m.state]++;
          return { ...memberToJson(self), ...(opts.info?.() ?? {}), members: counts, probeRtt: await rtt(), health: health() };
        },
      },
    },
    '/v1/health': {
      GET: {
        raw: true,
        handler: (_req, res) => {
          const h = health();
          sendJson(res, h.ok ? 200 : 503, h.ok ? { status: 'ok' } : { error: h.reason ?? 'not ready', status: 'unavailable' });
        },
      },
    },
    '/metrics': {
      GET: {
        raw: true,
        handler: async (_req, res) => {
          const text = await opts.registry.metrics();
          res.writeHead(200, { 'content-type': opts.registry.contentType, 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
      },
    },
    '/v1/events': { GET: { raw: true, stream: true, handler: (req, res) => streamEvents(req, res, need(opts.events$, '/v1/events'), heartbeatMs, opts.serfEvents$) } },
    '/v1/query': {
      POST: {
        auth: true,
        raw: true,
        handler: async (req, res) => {
          const run = need(opts.serfQuery, 'query');
          const b = validate(queryBody, await readJson(req));
          const q = queryOptions(b);
          if ('error' in q) throw new HttpError(400, q.error);
          let replies$;
          try {
            replies$ = run(b.name, q.payload, q.opts);
          } catch (e) {
            if (e instanceof RangeError) throw new HttpError(/SizeLimit/.test(e.message) ? 413 : 400, e.message);
            if (e instanceof StateError) throw new HttpError(409, e.message);
            throw e;
          }
          streamQuery(req, res, b.name, replies$);
        },
      },
    },
    '/v1/event': {
      POST: {
        auth: true,
        handler: async (req) => {
          const send = need(opts.serfEvent, 'event');
          const b = validate(eventBody, await readJson(req));
          if (b.payload !== undefined && b.payloadBase64 !== undefined) throw new HttpError(400, 'give payload or payloadBase64, not both');
          const payload = b.payloadBase64 !== undefined ? Buffer.from(b.payloadBase64, 'base64') : Buffer.from(b.payload ?? '');
          try {
            // Serf's `serf event` coalesces unless told not to; so does this route.
            return { sent: true, name: b.name, ltime: String(send(b.name, payload, b.coalesce ?? true)) };
          } catch (e) {
            if (e instanceof RangeError) throw new HttpError(413, e.message);
            throw e;
          }
        },
      },
    },
    '/v1/join': {
      POST: {
        auth: true,
        handler: async (req) => {
          const join = need(opts.join, 'join');
          const { seeds } = validate(joinBody, await readJson(req));
          try {
            return { contacted: await join(seeds) };
          } catch (e) {
            if (e instanceof ConfigError) throw new HttpError(400, e.message);
            // The agent is fine; the seeds are not: the upstream-failure status.
            if (e instanceof JoinError) throw new HttpError(502, e.message, { failures: e.failures });
            throw e;
          }
        },
      },
    },
    '/v1/leave': {
      POST: {
        auth: true,
        raw: true,
        handler: (_req, res) => {
          const leave = need(opts.leave, 'leave');
          // Answer first: leaving ends with this server closed.
          res.once('finish', () => leave());
          sendJson(res, 202, { leaving: true });
        },
      },
    },
    '/v1/force-leave': {
      POST: {
        auth: true,
        handler: async (req) => {
          const forceLeave = need(opts.forceLeave, 'force-leave');
          const { node, prune = false } = validate(forceLeaveBody, await readJson(req));
          try {
            return { node, prune, ltime: String(forceLeave(node, prune)) };
          } catch (e) {
            if (e instanceof ForceLeaveError) throw new HttpError(e.reason === 'unknown' ? 404 : 409, e.message, { reason: e.reason });
            if (e instanceof StateError) throw new HttpError(409, e.message);
            throw e;
          }
        },
      },
    },
    '/v1/tags': {
      GET: { handler: () => ({ tags: need(opts.tags, 'tags').get() ?? {} }) },
      POST: {
        auth: true,
        handler: async (req) => {
          const t = need(opts.tags, 'tags');
          const b = validate(tagsBody, await readJson(req));
          const current = t.get();
          if (current === undefined) throw new HttpError(409, "this node's metadata is not in Serf's tag encoding; it has no tags to change");
          // As `serf tags`: deletions from the current tags, then the new values.
          const drop = new Set(b.delete ?? []);
          const next: Record<string, string> = {};
          for (const [k, v] of Object.entries(current)) if (!drop.has(k)) next[k] = v;
          for (const [k, v] of Object.entries(b.set ?? {})) next[k] = v;
          try {
            t.set(next);
          } catch (e) {
            if (e instanceof ConfigError) throw new HttpError(400, e.message);
            throw e;
          }
          return { tags: next };
        },
      },
    },
    '/v1/keys': {
      // Listing shows the secret keys themselves, so it is guarded like the changes.
      GET: { auth: true, handler: () => keysJson(need(opts.keyring, 'keyring').list()) },
      POST: {
        auth: true,
        handler: async (req) => {
          const ring = need(opts.keyring, 'keyring');
          const { op, key } = validate(keyBody, await readJson(req));
          // As Serf: an agent started without a key has no keyring to change. Installing
          // one would turn encryption on at once, and every peer would drop our packets.
          if (ring.list().length === 0) throw new HttpError(409, NO_KEYRING, { encrypted: false });
          try {
            ring[op](key);
          } catch (e) {
            if (e instanceof ConfigError || e instanceof KeyringError) throw new HttpError(400, e.message.replace(/^key: /, 'key '));
            throw e;
          }
          return keysJson(ring.list());
        },
      },
    },
    '/v1/keys/cluster': {
      // `serf keys` through this agent: every member's answer, counted as Serf counts them.
      POST: {
        auth: true,
        handler: async (req) => {
          const run = need(opts.clusterKeys, '/v1/keys/cluster');
          const { op, key } = validate(clusterKeyBody, await readJson(req));
          try {
            return await run(op, key);
          } catch (e) {
            if (e instanceof ConfigError) throw new HttpError(400, e.message);
            if (e instanceof StateError) throw new HttpError(409, e.message);
            throw e;
          }
        },
      },
    },
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const byMethod = routes[url.pathname];
    void (async () => {
      if (!byMethod) throw new HttpError(404, `no route ${url.pathname}`, { routes: Object.keys(routes) });
      const head = req.method === 'HEAD';
      // HEAD is GET without a body (node:http drops a HEAD response's body itself);
      // a stream has no end to wait for, so it gets its headers only.
      const route = head ? byMethod.GET : byMethod[req.method ?? 'GET'];
      if (!route) {
        res.setHeader('allow', allowed(byMethod));
        throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname}`);
      }
      if (route.auth && opts.token !== undefined) {
        const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
        if (!m || !tokenMatches(m[1]!.trim(), opts.token)) {
          res.setHeader('www-authenticate', 'Bearer realm="rxswim"');
          throw new HttpError(401, m ? 'invalid token' : 'this route needs Authorization: Bearer <token>');
        }
      }
      if (head && route.stream) {
        res.writeHead(200, SSE_HEADERS);
        return void res.end();
      }
      const out = await route.handler(req, res, url);
      if (!route.raw) sendJson(res, 200, out);
    })().catch((e: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) sendJson(res, e.status, { error: e.message, ...e.extra });
      else sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

function keysJson(keys: string[]) {
  return { keys, primary: keys[0] ?? null };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Server-sent events: one `event: <type>` per membership change (joined, suspected,
 * recovered, failed, left, updated) with an EventJson as data, and one
 * `event: user_event` per Serf user event with a UserEventJson, after a `hello`.
 * Comment lines keep idle proxies from closing the stream. The stream ends when the
 * node stops (events$ completes) or the client goes away.
 */
function streamEvents(req: IncomingMessage, res: ServerResponse, events$: Observable<MemberEvent>, heartbeatMs: number, serfEvents$?: Observable<SerfUserEvent>): void {
  res.writeHead(200, SSE_HEADERS);
  let id = 0;
  const send = (event: string, data: unknown) => res.write(`id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.write('retry: 1000\n\n');
  send('hello', { time: Date.now() });
  const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
  const members = events$.subscribe({
    next: (e) => send(e.type, { type: e.type, member: memberToJson(e.member), time: Date.now() } satisfies EventJson),
    complete: () => res.end(),
  });
  const sub = members;
  if (serfEvents$) sub.add(serfEvents$.subscribe((e) => send('user_event', userEventToJson(e))));
  const done = () => {
    clearInterval(heartbeat);
    sub.unsubscribe();
  };
  req.socket.once('close', done);
  res.once('close', done);
}
