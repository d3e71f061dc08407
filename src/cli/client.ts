// The operator commands (members, info, join, leave, event, force-leave, tags, keys, monitor) are thin clients
// of a running agent's HTTP API, as `serf members` is of Serf's RPC. Exit codes say
// whose fault a failure is: 1 the agent (unreachable, or it refused), 2 the command
// line. Scripts can retry on 1 and should not on 2.
import { isIP } from 'node:net';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { AgentError } from './errors.js';
import { errorLine, EXIT, exitCodeOf } from './exit.js';
import type { CoordinateJson, EventJson, MemberJson, SelfJson, UserEventJson } from '../http/server.js';
import { estimateRtt } from '../serf/network-coordinates.js';
import { ConfigError } from '../errors.js';
import { formatHostPort } from '../membership/address.js';
import { parseTagArg } from '../membership/tags.js';
import { parseAddress } from './address.js';
import { parseSeed } from './seeds.js';

export { EXIT } from './exit.js';

export const DEFAULT_HTTP = '127.0.0.1:8946';
/** environment defaults for the client commands' --http and --token */
export const CLIENT_ENV = { http: 'RXSWIM_HTTP_ADDR', token: 'RXSWIM_HTTP_TOKEN' } as const;

export interface ClientOptions {
  http?: string;
  token?: string;
}

export { AgentError };

/** Output sinks, injectable for tests. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
}
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export class Client {
  readonly base: string;
  readonly token: string | undefined;

  constructor(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env) {
    const http = opts.http ?? (env[CLIENT_ENV.http] || DEFAULT_HTTP);
    const { host, port } = parseAddress(http, opts.http !== undefined ? '--http' : CLIENT_ENV.http, { defaultPort: 8946 });
    this.base = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    this.token = opts.token ?? (env[CLIENT_ENV.token] || undefined);
  }

  private headers(body: boolean): Record<string, string> {
    return {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      accept: 'application/json',
    };
  }

  /** One request; resolves with the parsed JSON of a 2xx answer, else throws AgentError. */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: this.headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new AgentError(`cannot reach the agent at ${this.base}: ${describe(e)}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const msg = (json as { error?: string } | undefined)?.error ?? (text || res.statusText);
      const hint = res.status === 401 ? ' (pass --token or set RXSWIM_HTTP_TOKEN)' : '';
      throw new AgentError(`${method} ${path}: ${res.status} ${msg}${hint}`);
    }
    return json as T;
  }

  /** The SSE stream of membership events; ends when the agent closes it. */
  async *events(signal?: AbortSignal): AsyncGenerator<{ event: string; data: string }> {
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(new Error('timed out')), 5000);
    signal?.addEventListener('abort', () => connect.abort(signal.reason), { once: true });
    let res: Response;
    try {
      res = await fetch(`${this.base}/v1/events`, { headers: { accept: 'text/event-stream', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) }, signal: connect.signal });
    } catch (e) {
      throw new AgentError(`cannot reach the agent at ${this.base}: ${describe(e)}`);
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) throw new AgentError(`GET /v1/events: ${res.status} ${await res.text()}`);
    const stream = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    try {
      for await (const ev of stream) yield { event: ev.event ?? 'message', data: ev.data };
    } catch (e) {
      if (signal?.aborted) return;
      throw new AgentError(`event stream from ${this.base} broke: ${describe(e)}`);
    }
  }
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}

/** Run a command body, mapping errors to exit codes and messages on stderr. */
export async function runClient(name: string, body: (io: Io) => Promise<number | void>, io: Io = stdio): Promise<number> {
  try {
    const r = await body(io);
    return typeof r === 'number' ? r : EXIT.ok;
  } catch (e) {
    io.err(errorLine(e, name));
    return exitCodeOf(e);
  }
}

/** Left-aligned columns, two spaces apart. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`).join('');
}

const tagText = (tags: Record<string, string> | undefined) =>
  Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

// ---- commands ----

export async function membersCommand(opts: ClientOptions & { json?: boolean; status?: string }, io: Io = stdio): Promise<number> {
  return runClient(
    'members',
    async () => {
      const c = new Client(opts);
      const members = await c.call<MemberJson[]>('GET', `/v1/members${opts.status ? `?status=${encodeURIComponent(opts.status)}` : ''}`);
      if (opts.json) return io.out(`${JSON.stringify(members, null, 2)}\n`);
      io.out(
        table([
          ['NAME', 'ADDRESS', 'STATE', 'INCARNATION', 'TAGS'],
          ...members.map((m) => [m.name, formatHostPort(m.address, m.port), m.state, String(m.incarnation), tagText(m.tags)]),
        ]),
      );
    },
    io,
  );
}

/**
 * `serf rtt`: the round trip between two members estimated from their network
 * coordinates, as the agent knows them (B defaults to the agent itself). Prints
 * Serf's line, "Estimated A <-> B rtt: 0.123 ms".
 */
export async function rttCommand(nodes: string[], opts: ClientOptions & { json?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'rtt',
    async () => {
      if (nodes.length < 1 || nodes.length > 2) throw new ConfigError('<node>', 'one or two node names must be given');
      const c = new Client(opts);
      const [a, b] = nodes.length === 2 ? [nodes[0]!, nodes[1]!] : [nodes[0]!, (await c.call<SelfJson>('GET', '/v1/self')).name];
      const coords = await c.call<CoordinateJson[]>('GET', '/v1/coordinates');
      const find = (name: string) => {
        const row = coords.find((r) => r.name === name);
        if (!row) throw new AgentError(`could not find a coordinate for node ${JSON.stringify(name)}`);
        return row.coordinate;
      };
      const ca = find(a);
      const cb = find(b);
      if (ca.vec.length !== cb.vec.length) throw new AgentError(`the coordinates of ${a} and ${b} have different dimensions (${ca.vec.length}, ${cb.vec.length})`);
      const ms = estimateRtt(ca, cb);
      if (opts.json) return io.out(`${JSON.stringify({ a, b, rttMs: ms, coordinates: { [a]: ca, [b]: cb } }, null, 2)}\n`);
      io.out(`Estimated ${a} <-> ${b} rtt: ${ms.toFixed(3)} ms\n`);
    },
    io,
  );
}

export async function infoCommand(opts: ClientOptions & { json?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'info',
    async () => {
      const self = await new Client(opts).call<SelfJson>('GET', '/v1/self');
      if (opts.json) return io.out(`${JSON.stringify(self, null, 2)}\n`);
      const c = self.members;
      const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);
      const rows: string[][] = [
        ['node', self.name],
        ['address', formatHostPort(self.address, self.port)],
        ['state', `${self.state} (incarnation ${self.incarnation})`],
        ['health', self.health.ok ? 'ok' : `not ready: ${self.health.reason ?? ''}`],
        ['members', `${c.alive} alive, ${c.suspect} suspect, ${c.dead} failed, ${c.left} left`],
        ['probe rtt', `${ms(self.probeRtt.recentMs)} (last 10 s), ${ms(self.probeRtt.meanMs)} (mean of ${self.probeRtt.count})`],
      ];
      if (self.profile !== undefined) rows.push(['profile', String(self.profile)]);
      if (self.healthScore !== undefined) rows.push(['health score', String(self.healthScore)]);
      if (self.encrypted !== undefined) rows.push(['encrypted', String(self.encrypted)]);
      if (self.tags) rows.push(['tags', tagText(self.tags)]);
      io.out(rows.map(([k, v]) => `${k!.padEnd(13)}${v}\n`).join(''));
    },
    io,
  );
}

export async function joinCommand(addrs: string[], opts: ClientOptions, io: Io = stdio): Promise<number> {
  return runClient(
    'join',
    async () => {
      // A malformed seed is a usage error here (exit 2), before the agent is asked.
      addrs.forEach((a, i) => parseSeed(a, addrs.length === 1 ? 'ADDR' : `ADDR ${i + 1}`));
      const r = await new Client(opts).call<{ contacted: number }>('POST', '/v1/join', { seeds: addrs }, 60_000);
      // contacted counts addresses: one dns: seed may stand for several
      io.out(`joined: ${r.contacted} address(es) answered\n`);
    },
    io,
  );
}

export async function leaveCommand(opts: ClientOptions & { wait?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'leave',
    async () => {
      const c = new Client(opts);
      await c.call('POST', '/v1/leave');
      io.out('leaving\n');
      if (opts.wait === false) return;
      // The agent answers before it leaves; wait until it has stopped answering.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        try {
          await c.call('GET', '/v1/health', undefined, 1000);
        } catch (e) {
          if (e instanceof AgentError && /cannot reach/.test(e.message)) {
            io.out('left\n');
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new AgentError('the agent is still answering 20 s after it was asked to leave');
    },
    io,
  );
}

/** `rxswim event NAME [PAYLOAD]`: Serf's `serf event`, through the agent */
export async function eventCommand(name: string, payload: string | undefined, opts: ClientOptions & { coalesce?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'event',
    async () => {
      const r = await new Client(opts).call<{ ltime: string }>('POST', '/v1/event', { name, payload: payload ?? '', coalesce: opts.coalesce ?? true });
      io.out(`event ${name} sent (ltime ${r.ltime})\n`);
    },
    io,
  );
}

/** `rxswim force-leave NODE [--prune]`: Serf's `serf force-leave`, through the agent */
export async function forceLeaveCommand(node: string, opts: ClientOptions & { prune?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'force-leave',
    async () => {
      const r = await new Client(opts).call<{ ltime: string }>('POST', '/v1/force-leave', { node, prune: opts.prune ?? false });
      io.out(`force-leave ${node}${opts.prune ? ' (prune)' : ''} sent (ltime ${r.ltime})\n`);
    },
    io,
  );
}

/**
 * `rxswim tags --set k=v --delete k`: change the agent's tags live, as `serf tags`
 * (deletions first, then the new values); with neither, print them.
 */
export async function tagsCommand(opts: ClientOptions & { set?: string[]; delete?: string[]; json?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'tags',
    async () => {
      const set: Record<string, string> = {};
      for (const a of opts.set ?? []) {
        let kv: [string, string];
        try {
          kv = parseTagArg(a);
        } catch (e) {
          throw e instanceof ConfigError ? new ConfigError('--set', e.message.replace(/^tag: /, '')) : e;
        }
        const [k, v] = kv;
        set[k] = v;
      }
      for (const k of opts.delete ?? []) if (k.length === 0) throw new ConfigError('--delete', 'needs a tag name');
      const c = new Client(opts);
      const change = (opts.set?.length ?? 0) + (opts.delete?.length ?? 0) > 0;
      const r = change
        ? await c.call<{ tags: Record<string, string> }>('POST', '/v1/tags', { set, delete: opts.delete ?? [] })
        : await c.call<{ tags: Record<string, string> }>('GET', '/v1/tags');
      if (opts.json) return io.out(`${JSON.stringify(r.tags, null, 2)}\n`);
      if (change) io.out('tags: ok\n');
      for (const [k, v] of Object.entries(r.tags).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) io.out(`${k}=${v}\n`);
    },
    io,
  );
}

export const KEY_ACTIONS = ['list', 'install', 'use', 'remove'] as const;
export type KeyAction = (typeof KEY_ACTIONS)[number];

export async function keysCommand(action: KeyAction, key: string | undefined, opts: ClientOptions & { json?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'keys',
    async () => {
      if (action === 'list' && key !== undefined) throw new ConfigError('keys list', 'takes no KEY');
      if (action !== 'list' && key === undefined) throw new ConfigError(`keys ${action}`, 'needs a KEY (base64)');
      if (key !== undefined) {
        // A malformed key is a usage error here (exit 2), before the agent is asked.
        const { Keyring } = await import('../security/keyring.js');
        Keyring.parseKey(key, 'KEY');
      }
      const c = new Client(opts);
      const r =
        action === 'list'
          ? await c.call<{ keys: string[]; primary: string | null }>('GET', '/v1/keys')
          : await c.call<{ keys: string[]; primary: string | null }>('POST', '/v1/keys', { op: action, key });
      if (opts.json) return io.out(`${JSON.stringify(r, null, 2)}\n`);
      if (action !== 'list') io.out(`${action}: ok\n`);
      if (r.keys.length === 0) io.out('no keys: traffic is not encrypted\n');
      for (const k of r.keys) io.out(`${k}${k === r.primary ? '  (primary)' : ''}\n`);
    },
    io,
  );
}

/** Print events as they come, until the stream ends (exit 1) or we are interrupted (exit 0). */
export async function monitorCommand(opts: ClientOptions & { json?: boolean }, io: Io = stdio, signal?: AbortSignal): Promise<number> {
  return runClient(
    'monitor',
    async () => {
      const c = new Client(opts);
      for await (const ev of c.events(signal)) {
        if (ev.event === 'hello') {
          if (!opts.json) io.err(`monitoring ${c.base} (Ctrl-C to stop)\n`);
          continue;
        }
        if (opts.json) {
          io.out(`${ev.data}\n`);
          continue;
        }
        if (ev.event === 'user_event') {
          const u = JSON.parse(ev.data) as UserEventJson;
          io.out(`${new Date(u.time).toISOString()}  user_event ${u.name}  ${JSON.stringify(u.payload)}  (ltime ${u.ltime}${u.coalesce ? ', coalesce' : ''})\n`);
          continue;
        }
        const e = JSON.parse(ev.data) as EventJson;
        const t = new Date(e.time).toISOString();
        io.out(`${t}  ${e.type.padEnd(9)} ${e.member.name}  ${e.member.address}:${e.member.port}  (${e.member.state}, incarnation ${e.member.incarnation})\n`);
      }
      if (signal?.aborted) return EXIT.ok;
      throw new AgentError(`the agent at ${c.base} closed the event stream`);
    },
    io,
  );
}
