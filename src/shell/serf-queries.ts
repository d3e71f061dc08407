// Serf's queries on a running node: SerfQueries (the sans-IO rules) given the node's
// clock, timers, gossip queue and a send-to-address path, and the public faces of
// both directions (SerfQuery for the application, an Observable of replies for
// serfQuery()). node.ts builds one of these when Serf's layer is on.
import { Observable, ReplaySubject, timer } from 'rxjs';
import type { SerfQuery, SerfQueryOptions, SerfQueryReply } from '../api.js';
import { addrFromString, addrToString } from '../membership/address.js';
import type { QueryMetrics } from '../metrics/query-metrics.js';
import type { InternalQueryHandlers } from '../serf/internal-queries.js';
import { defaultQueryTimeout, goRegExp, SerfQueries, type QueryAddress } from '../serf/queries.js';
import { encodeMessage } from '../wire/messages.js';
import type { ShellContext } from './context.js';
import type { Outbound } from './outbound.js';

export interface SerfQueryWiring {
  random: () => number;
  tags: () => Readonly<Record<string, string>>;
  metrics: QueryMetrics;
  /** gossip a Serf message on (wrapped as a memberlist user message by the caller) */
  gossip: (key: string, message: Uint8Array) => void;
  internal: InternalQueryHandlers;
  deliver: (q: SerfQuery) => void;
}

export function createSerfQueries(ctx: ShellContext, out: Outbound, w: SerfQueryWiring): SerfQueries {
  const { core, scheduler } = ctx;
  return new SerfQueries({
    name: ctx.name,
    tags: w.tags,
    local: () => ({ addr: core.local.addr, port: core.local.port }),
    now: () => scheduler.now(),
    random: w.random,
    setTimer: (ms, fire) => {
      const s = timer(ms, scheduler).subscribe(fire);
      return () => s.unsubscribe();
    },
    broadcast: w.gossip,
    sendToAddress: (to, message) => sendToAddress(ctx, out, to, message),
    members: () => {
      const all = core.remoteMembers();
      return {
        others: all.map((m) => ({ name: m.name, addr: addrFromString(m.address), port: m.port, alive: m.state === 'alive', protocolMax: m.vsn[1] ?? 0 })),
        count: all.length + 1,
      };
    },
    // memberlist's NumMembers: those not dead or left, us included
    defaultTimeoutMs: () => {
      const c = core.countByState();
      return defaultQueryTimeout(ctx.config.gossipInterval, c.alive + c.suspect);
    },
    deliver: (q) =>
      w.deliver({
        name: q.name, payload: q.payload, ltime: q.ltime, id: q.id, from: q.from, deadline: q.deadline,
        // async: a refusal (StateError, RangeError) comes back as a rejected promise
        respond: async (payload) => q.respond(typeof payload === 'string' ? Buffer.from(payload) : payload),
      }),
    internal: w.internal,
    ignored: (reason) => w.metrics.ignored.inc({ reason }),
    sent: (type) => w.metrics.repliesSent.inc({ type }),
    received: (what) => (what === 'query' ? w.metrics.received.inc() : w.metrics.repliesReceived.inc({ type: what })),
  });
}

/**
 * memberlist's SendToAddress: one packet, sealed as every packet of ours (keyring,
 * label); to the member by that name when it is one at that address (its protocol
 * version decides the CRC), else to the bare address.
 */
function sendToAddress(ctx: ShellContext, out: Outbound, to: QueryAddress, message: Uint8Array): void {
  const host = addrToString(to.addr);
  if (!host || host.startsWith('invalid')) return;
  const m = to.name ? ctx.core.member(to.name) : undefined;
  const target = m && m.address === host && m.port === to.port ? m : { host, port: to.port };
  out.sendRaw(target, [encodeMessage({ type: 'user', payload: message })]);
}

/** serfQuery(): the options checked (naming the field), the query sent, its replies replayed */
export function runQuery(queries: SerfQueries, metrics: QueryMetrics, name: string, payload: Uint8Array, opts: SerfQueryOptions): Observable<SerfQueryReply> {
  checkQueryOptions(opts);
  const replies = new ReplaySubject<SerfQueryReply>();
  queries.query(name, payload, {
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.nodes ? { nodes: opts.nodes } : {}),
    ...(opts.tags ? { tags: opts.tags } : {}),
    ...(opts.ack !== undefined ? { ack: opts.ack } : {}),
    ...(opts.relayFactor !== undefined ? { relayFactor: opts.relayFactor } : {}),
  }, { reply: (r) => replies.next(r), done: () => replies.complete() });
  metrics.sent.inc();
  return replies.asObservable();
}

function checkQueryOptions(o: SerfQueryOptions): void {
  if (o.timeoutMs !== undefined && !(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) throw new RangeError(`serfQuery(): timeoutMs must be a positive number of ms, got ${o.timeoutMs}`);
  if (o.relayFactor !== undefined && !(Number.isInteger(o.relayFactor) && o.relayFactor >= 0 && o.relayFactor <= 255)) {
    throw new RangeError(`serfQuery(): relayFactor must be an integer 0-255, got ${o.relayFactor}`);
  }
  if (o.nodes !== undefined && !(Array.isArray(o.nodes) && o.nodes.every((n) => typeof n === 'string'))) throw new RangeError('serfQuery(): nodes must be a list of node names');
  for (const [tag, expr] of Object.entries(o.tags ?? {})) {
    if (typeof expr !== 'string' || !goRegExp(expr)) throw new RangeError(`serfQuery(): tags.${tag} must be a regular expression, got ${JSON.stringify(expr)}`);
  }
}
