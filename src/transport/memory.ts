// An in-memory network for deterministic simulation. Every delivery (datagram,
// stream connect, stream chunk, stream end, connection refusal) is scheduled on the
// injected RxJS scheduler after the link latency, so under a VirtualTimeScheduler the
// whole network runs inside `scheduler.flush()`, synchronously and in the same order
// for the same seed. Nothing here uses Promises (except close()'s already-resolved
// result), setImmediate or real timers.
//
// Model, in short:
// - Endpoints are keyed by `host:port` (`[v6]:port`); several transports may share a host.
// - Hosts given to partition/pause/setLinkLoss/getHostStats may be a bare IP (all ports
//   of that IP) or a `host:port` key (that transport only).
// - Datagrams: lost with the global loss and the one-way link loss (one PRNG draw per
//   datagram, only when some loss applies), dropped across a partition, reordered
//   if a latency function varies.
// - Streams are reliable and ordered (a chunk never overtakes an earlier one on the
//   same direction, whatever the latency function says). Across a partition a dial
//   is never answered (the SYN is lost: the caller's timeout decides) and a stream
//   direction that tries to send stalls for good (nothing later on it is delivered,
//   so the reader never sees a gap), like a TCP connection that will time out.
// - destroy() behaves like closing a socket: our data$ completes now, the peer's
//   data$ completes after the latency (FIN, ordered after what we wrote before);
//   chunks that reach a destroyed end are discarded. Memory streams never error
//   except for a failed dial.
// - A paused host is a stopped process: datagrams it sends are dropped, its stream
//   writes and dials wait until resume; everything addressed to it is queued in
//   arrival order (datagrams up to PAUSED_DATAGRAM_LIMIT, the rest dropped, like a
//   full kernel buffer) and delivered, in order, on resume.
import { Observable, Subject } from 'rxjs';
import type { SchedulerLike, Subscriber } from 'rxjs';
import type { Address, Datagram, StreamConn, Transport } from './transport.js';
import { formatHostPort } from '../membership/address.js';

/** Datagrams a paused endpoint keeps (its "kernel buffer"); later ones are dropped. */
export const PAUSED_DATAGRAM_LIMIT = 1024;
/** First port handed out when a transport asks for port 0. */
export const EPHEMERAL_PORT_START = 49152;

export interface MemoryNetworkOptions {
  scheduler: SchedulerLike;
  /** PRNG in [0, 1) used for loss decisions; default Math.random (not reproducible) */
  random?: () => number;
  /** one-way latency in scheduler ms; default 1 */
  latencyMs?: number | ((from: Address, to: Address) => number);
  /** probability that any datagram is lost, 0..1; default 0 */
  loss?: number;
}

/** Network-wide counters. sent/delivered/dropped/bytes count datagrams. */
export interface NetworkStats {
  /** datagrams handed to sendPacket by open transports */
  sent: number;
  /** datagrams delivered to a receiver's packets$ */
  delivered: number;
  /** datagrams lost: loss, partition, paused sender, full paused queue, no receiver */
  dropped: number;
  /** payload bytes of datagrams sent */
  bytes: number;
  /** stream connections established (listener side accepted) */
  streams: number;
  /** payload bytes written to streams and put on the wire */
  streamBytes: number;
}

/** Counters of one host (a bare IP: all its ports; or one `host:port`). */
export interface HostStats {
  /** datagrams it sent */
  sent: number;
  /** datagrams delivered to it */
  delivered: number;
  /** datagrams addressed to it that were never delivered */
  dropped: number;
  bytesSent: number;
  bytesDelivered: number;
}

/** The in-memory Transport, plus a failure counter like the UDP transport's. */
export interface MemoryTransport extends Transport {
  /** sendPacket calls made after close() */
  readonly sendErrors: number;
}

/** `host:port`, with brackets around IPv6 hosts */
export function addressKey(a: Address): string {
  return formatHostPort(a.host, a.port);
}

function checkProbability(p: number, what: string): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${what} must be within 0..1, got ${p}`);
  return p;
}

function emptyHostStats(): HostStats {
  return { sent: 0, delivered: 0, dropped: 0, bytesSent: 0, bytesDelivered: 0 };
}

function dialError(to: Address, code: string, message: string): Error {
  const target = addressKey(to);
  return Object.assign(new Error(`dial ${target} failed: ${code} (${message})`), { code });
}

interface InboundItem {
  datagram: boolean;
  run: () => void;
}

type StreamEvent = { kind: 'chunk'; data: Uint8Array } | { kind: 'end' };

type InboxEvent = { kind: 'chunk'; data: Uint8Array } | { kind: 'end' } | { kind: 'error'; error: Error };

class MemoryConn implements StreamConn {
  readonly data$: Observable<Uint8Array>;
  /** the other end; set right after both ends are made */
  peer!: MemoryConn;
  destroyed = false;
  /** end() or destroy() was called */
  writeEnded = false;
  /** our end-of-stream has gone onto the wire (it is sent at most once) */
  finSent = false;
  /** this direction lost a packet to a partition: nothing more is delivered */
  stalled = false;
  /** due time of the last event sent on this direction (keeps the stream ordered) */
  lastDue = -Infinity;
  private readonly inbox = new Subject<Uint8Array>();
  /** events that arrived before the first subscription; null once subscribed */
  private pending: InboxEvent[] | null = [];

  constructor(
    private readonly net: MemoryNetwork,
    readonly owner: MemoryTransportImpl,
    readonly remote: Address,
  ) {
    this.data$ = new Observable<Uint8Array>((subscriber) => {
      const sub = this.inbox.subscribe(subscriber);
      const early = this.pending;
      if (early !== null) {
        this.pending = null;
        for (const ev of early) this.apply(ev);
      }
      return sub;
    });
  }

  write(data: Uint8Array): void {
    if (this.destroyed || this.writeEnded) return;
    this.net.streamSend(this, { kind: 'chunk', data: data.slice() });
  }

  end(): void {
    if (this.destroyed || this.writeEnded) return;
    this.writeEnded = true;
    this.net.streamSend(this, { kind: 'end' });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.owner.conns.delete(this);
    this.writeEnded = true;
    // like close(2): the FIN goes out even from a stopped process (the kernel sends it)
    if (!this.finSent) this.net.streamSend(this, { kind: 'end' }, true);
    this.push({ kind: 'end' });
  }

  /** an event reached this end (called at delivery time) */
  push(ev: InboxEvent): void {
    if (this.pending !== null) this.pending.push(ev);
    else this.apply(ev);
  }

  private apply(ev: InboxEvent): void {
    switch (ev.kind) {
      case 'chunk':
        this.inbox.next(ev.data);
        break;
      case 'end':
        this.inbox.complete();
        break;
      case 'error':
        this.inbox.error(ev.error);
        break;
    }
  }
}

interface PendingDial {
  subscriber: Subscriber<StreamConn>;
  /** answered, failed or unsubscribed: nothing more may reach the subscriber */
  done: boolean;
  /** the dialer's end, once the listener has accepted */
  clientConn?: MemoryConn;
}

class MemoryTransportImpl implements MemoryTransport {
  readonly address: Address;
  readonly key: string;
  /** this endpoint's counters, by `host:port` and by host, once it has had traffic */
  stats: readonly [HostStats, HostStats] | undefined = undefined;
  readonly packets$: Observable<Datagram>;
  readonly connections$: Observable<StreamConn>;
  readonly packets = new Subject<Datagram>();
  readonly connections = new Subject<StreamConn>();
  readonly conns = new Set<MemoryConn>();
  readonly dials = new Set<PendingDial>();
  /** inbound deliveries queued while paused */
  readonly inbound: InboundItem[] = [];
  queuedDatagrams = 0;
  /** stream operations issued while paused */
  readonly held: Array<() => void> = [];
  drainScheduled = false;
  closed = false;
  private errors = 0;

  constructor(
    private readonly net: MemoryNetwork,
    address: Address,
  ) {
    this.address = Object.freeze({ host: address.host, port: address.port });
    this.key = addressKey(this.address);
    this.packets$ = this.packets.asObservable();
    this.connections$ = this.connections.asObservable();
  }

  get sendErrors(): number {
    return this.errors;
  }

  /** the in-memory network has no receive failures */
  get receiveErrors(): number {
    return 0;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed) {
      this.errors++;
      return;
    }
    this.net.sendDatagram(this, to, data);
  }

  dial(to: Address): Observable<StreamConn> {
    return new Observable<StreamConn>((subscriber) => {
      if (this.closed) {
        subscriber.error(new Error(`dial ${addressKey(to)}: transport closed`));
        return undefined;
      }
      const dial: PendingDial = { subscriber, done: false };
      this.dials.add(dial);
      this.net.startDial(this, { host: to.host, port: to.port }, dial);
      return () => {
        this.dials.delete(dial);
        if (!dial.done) {
          dial.done = true;
          // accepted by the listener but not yet handed to us: close it
          dial.clientConn?.destroy();
        }
      };
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.net.unregister(this);
      for (const dial of [...this.dials]) {
        dial.subscriber.error(new Error(`dial: transport ${this.key} closed`));
      }
      for (const conn of [...this.conns]) conn.destroy();
      for (const item of this.inbound) if (item.datagram) this.net.countDrop(this.address);
      this.inbound.length = 0;
      this.queuedDatagrams = 0;
      this.held.length = 0;
      this.packets.complete();
      this.connections.complete();
    }
    return Promise.resolve();
  }
}

export class MemoryNetwork {
  private readonly scheduler: SchedulerLike;
  private readonly random: () => number;
  private readonly latency: (from: Address, to: Address) => number;
  private loss: number;
  private dropFilter: ((from: Address, to: Address, data: Uint8Array) => boolean) | undefined;
  private readonly linkLoss = new Map<string, number>();
  private partitions: Array<{ a: Set<string>; b: Set<string> }> = [];
  private readonly paused = new Set<string>();
  private readonly endpoints = new Map<string, MemoryTransportImpl>();
  // The same endpoints by host, then port: a datagram's target is found without
  // building its `host:port` string (the simulator sends millions).
  private readonly endpointsByHost = new Map<string, Map<number, MemoryTransportImpl>>();
  private readonly nextPort = new Map<string, number>();
  /** due time → deliveries, so that many events due together cost one scheduled action */
  private readonly timeline = new Map<number, Array<() => void>>();
  private readonly hostStatsByKey = new Map<string, HostStats>();
  private readonly hostStatsByHost = new Map<string, HostStats>();
  private readonly counters: NetworkStats = { sent: 0, delivered: 0, dropped: 0, bytes: 0, streams: 0, streamBytes: 0 };

  constructor(opts: MemoryNetworkOptions) {
    this.scheduler = opts.scheduler;
    this.random = opts.random ?? Math.random;
    const lat = opts.latencyMs ?? 1;
    this.latency =
      typeof lat === 'function'
        ? (from, to) => {
            const ms = lat(from, to);
            return Number.isFinite(ms) && ms > 0 ? ms : 0;
          }
        : () => (Number.isFinite(lat) && lat > 0 ? lat : 0);
    this.loss = checkProbability(opts.loss ?? 0, 'loss');
  }

  /** live network-wide counters (datagrams, plus stream totals) */
  get stats(): Readonly<NetworkStats> {
    return this.counters;
  }

  /** counters of a bare IP (all its ports) or of one `host:port`; zeros if never seen */
  getHostStats(host: string): HostStats {
    const s = this.hostStatsByKey.get(host) ?? this.hostStatsByHost.get(host);
    return s ? { ...s } : emptyHostStats();
  }

  /** A transport bound at `addr`; port 0 picks a free port on that host. Throws EADDRINUSE if taken. */
  createTransport(addr: Address): MemoryTransport {
    let port = addr.port;
    if (port === 0) {
      let next = this.nextPort.get(addr.host) ?? EPHEMERAL_PORT_START;
      while (this.endpoints.has(addressKey({ host: addr.host, port: next }))) next++;
      port = next;
      this.nextPort.set(addr.host, next + 1);
    }
    const t = new MemoryTransportImpl(this, { host: addr.host, port });
    if (this.endpoints.has(t.key)) throw new Error(`EADDRINUSE: ${t.key} is already bound`);
    this.endpoints.set(t.key, t);
    let ports = this.endpointsByHost.get(t.address.host);
    if (ports === undefined) this.endpointsByHost.set(t.address.host, (ports = new Map()));
    ports.set(t.address.port, t);
    return t;
  }

  /** probability that any datagram is lost */
  setLoss(p: number): void {
    this.loss = checkProbability(p, 'loss');
  }

  /** extra one-way loss for datagrams from `fromHost` to `toHost` (IPs or host:port keys); 0 removes it */
  setLinkLoss(fromHost: string, toHost: string, p: number): void {
    checkProbability(p, 'link loss');
    const k = `${fromHost}\n${toHost}`;
    if (p === 0) this.linkLoss.delete(k);
    else this.linkLoss.set(k, p);
  }

  /**
   * Drop exactly the datagrams a test names (by sender, receiver and bytes), counted as
   * dropped: a scenario such as "this member misses every copy of that leave". Undefined
   * removes it.
   */
  setDropFilter(f: ((from: Address, to: Address, data: Uint8Array) => boolean) | undefined): void {
    this.dropFilter = f;
  }

  /** drop everything between the two groups, both directions, until heal() */
  partition(groupA: string[], groupB: string[]): void {
    this.partitions.push({ a: new Set(groupA), b: new Set(groupB) });
  }

  /** remove every partition (loss settings stay; streams that stalled stay stalled) */
  heal(): void {
    this.partitions = [];
  }

  /** stop a host (IP: every port on it; or one host:port) as with SIGSTOP */
  pause(host: string): void {
    this.paused.add(host);
  }

  /** continue a paused host: what was queued for it is delivered, in order, at the current time */
  resume(host: string): void {
    if (!this.paused.delete(host)) return;
    for (const ep of this.endpoints.values()) {
      if ((ep.inbound.length > 0 || ep.held.length > 0) && !this.isPaused(ep.address)) this.scheduleDrain(ep);
    }
  }

  // ---------------------------------------------------------------- internals

  /** @internal */
  unregister(t: MemoryTransportImpl): void {
    if (this.endpoints.get(t.key) === t) this.endpoints.delete(t.key);
    const ports = this.endpointsByHost.get(t.address.host);
    if (ports?.get(t.address.port) === t) ports.delete(t.address.port);
  }

  /** @internal */
  countDrop(to: Address): void {
    this.counters.dropped++;
    this.bump(to, (s) => s.dropped++);
  }

  /** @internal */
  sendDatagram(from: MemoryTransportImpl, to: Address, data: Uint8Array): void {
    const size = data.byteLength;
    this.counters.sent++;
    this.counters.bytes += size;
    for (const s of this.statsOf(from)) {
      s.sent++;
      s.bytesSent += size;
    }
    if (this.isPaused(from.address) || this.isBlocked(from.address, to) || this.dropFilter?.(from.address, to, data)) {
      this.countDrop(to);
      return;
    }
    const p = this.lossBetween(from.address, to);
    if (p > 0 && this.random() < p) {
      this.countDrop(to);
      return;
    }
    const copy = data.slice();
    const src = from.address;
    const dst: Address = { host: to.host, port: to.port };
    this.after(this.latency(src, dst), () => {
      const target = this.endpointsByHost.get(dst.host)?.get(dst.port);
      if (target === undefined || target.closed) {
        this.countDrop(dst);
        return;
      }
      this.deliverInbound(target, true, () => {
        this.counters.delivered++;
        for (const s of this.statsOf(target)) {
          s.delivered++;
          s.bytesDelivered += size;
        }
        target.packets.next({ from: src, data: copy });
      });
    });
  }

  /** @internal */
  startDial(dialer: MemoryTransportImpl, to: Address, dial: PendingDial): void {
    if (this.isPaused(dialer.address)) {
      dialer.held.push(() => {
        if (!dial.done) this.startDial(dialer, to, dial);
      });
      return;
    }
    // SYN lost to a partition: no answer, ever; the caller's timeout decides
    if (this.isBlocked(dialer.address, to)) return;
    const from = dialer.address;
    this.after(this.latency(from, to), () => {
      if (dial.done) return;
      const listener = this.endpoints.get(addressKey(to));
      if (listener === undefined || listener.closed) {
        this.after(this.latency(to, from), () => {
          if (dial.done) return;
          dial.subscriber.error(dialError(to, 'ECONNREFUSED', `connect ECONNREFUSED ${addressKey(to)}`));
        });
        return;
      }
      // the listener's kernel accepts even if the process is paused
      const serverConn = new MemoryConn(this, listener, from);
      const clientConn = new MemoryConn(this, dialer, to);
      serverConn.peer = clientConn;
      clientConn.peer = serverConn;
      dial.clientConn = clientConn;
      listener.conns.add(serverConn);
      this.counters.streams++;
      this.deliverInbound(listener, false, () => {
        if (serverConn.destroyed) return;
        if (listener.closed || !listener.connections.observed) {
          serverConn.destroy(); // nobody accepts it
          return;
        }
        listener.connections.next(serverConn);
      });
      this.after(this.latency(to, from), () => {
        if (dial.done || dialer.closed) return;
        this.deliverInbound(dialer, false, () => {
          if (dial.done || dialer.closed || clientConn.destroyed) return;
          dialer.conns.add(clientConn);
          dial.done = true; // from now on the connection is the caller's to close
          dialer.dials.delete(dial);
          dial.subscriber.next(clientConn);
          dial.subscriber.complete();
        });
      });
    });
  }

  /** @internal send one stream event from `conn` to its peer, ordered after earlier ones */
  streamSend(conn: MemoryConn, ev: StreamEvent, evenIfPaused = false): void {
    const owner = conn.owner;
    if (!evenIfPaused && this.isPaused(owner.address)) {
      owner.held.push(() => {
        // a chunk written before destroy() is discarded with the socket; an end goes once
        if (ev.kind === 'chunk' ? !conn.destroyed : !conn.finSent) this.streamSend(conn, ev, true);
      });
      return;
    }
    if (ev.kind === 'end') {
      if (conn.finSent) return;
      conn.finSent = true;
    }
    if (conn.stalled) return;
    const from = owner.address;
    const to = conn.remote;
    if (this.isBlocked(from, to)) {
      conn.stalled = true;
      return;
    }
    if (ev.kind === 'chunk') this.counters.streamBytes += ev.data.byteLength;
    const now = this.scheduler.now();
    const due = Math.max(now + this.latency(from, to), conn.lastDue);
    conn.lastDue = due;
    const peer = conn.peer;
    this.after(due - now, () => {
      this.deliverInbound(peer.owner, false, () => this.streamArrive(peer, ev));
    });
  }

  private streamArrive(conn: MemoryConn, ev: StreamEvent): void {
    // data reaching a destroyed end is discarded (its FIN has already gone the other way)
    if (conn.destroyed) return;
    conn.push(ev.kind === 'chunk' ? { kind: 'chunk', data: ev.data } : { kind: 'end' });
  }

  /** run `run` at `target` now, or queue it if the target is paused (or still draining a queue) */
  private deliverInbound(target: MemoryTransportImpl, datagram: boolean, run: () => void): void {
    if (target.closed) {
      if (datagram) this.countDrop(target.address);
      return;
    }
    if (this.isPaused(target.address) || target.inbound.length > 0) {
      if (datagram) {
        if (target.queuedDatagrams >= PAUSED_DATAGRAM_LIMIT) {
          this.countDrop(target.address);
          return;
        }
        target.queuedDatagrams++;
      }
      target.inbound.push({ datagram, run });
      if (!this.isPaused(target.address)) this.scheduleDrain(target);
      return;
    }
    run();
  }

  private scheduleDrain(ep: MemoryTransportImpl): void {
    if (ep.drainScheduled) return;
    ep.drainScheduled = true;
    this.after(0, () => {
      ep.drainScheduled = false;
      while (ep.inbound.length > 0 && !ep.closed && !this.isPaused(ep.address)) {
        const item = ep.inbound.shift()!;
        if (item.datagram) ep.queuedDatagrams--;
        item.run();
      }
      while (ep.held.length > 0 && !ep.closed && !this.isPaused(ep.address)) {
        ep.held.shift()!();
      }
    });
  }

  private after(delay: number, fn: () => void): void {
    const due = this.scheduler.now() + delay;
    const bucket = this.timeline.get(due);
    if (bucket !== undefined) {
      bucket.push(fn);
      return;
    }
    const fresh = [fn];
    this.timeline.set(due, fresh);
    this.scheduler.schedule(() => {
      // detach first: anything scheduled for this same instant while running goes to a new action
      if (this.timeline.get(due) === fresh) this.timeline.delete(due);
      for (const f of fresh) f();
    }, delay);
  }

  private isPaused(a: Address): boolean {
    return this.paused.size > 0 && (this.paused.has(a.host) || this.paused.has(addressKey(a)));
  }

  private isBlocked(from: Address, to: Address): boolean {
    if (this.partitions.length === 0) return false;
    const fk = addressKey(from);
    const tk = addressKey(to);
    const inSet = (s: Set<string>, host: string, key: string): boolean => s.has(host) || s.has(key);
    return this.partitions.some(
      ({ a, b }) =>
        (inSet(a, from.host, fk) && inSet(b, to.host, tk)) || (inSet(b, from.host, fk) && inSet(a, to.host, tk)),
    );
  }

  private lossBetween(from: Address, to: Address): number {
    let link = 0;
    if (this.linkLoss.size > 0) {
      const fk = addressKey(from);
      const tk = addressKey(to);
      link =
        this.linkLoss.get(`${fk}\n${tk}`) ??
        this.linkLoss.get(`${fk}\n${to.host}`) ??
        this.linkLoss.get(`${from.host}\n${tk}`) ??
        this.linkLoss.get(`${from.host}\n${to.host}`) ??
        0;
    }
    if (link === 0) return this.loss;
    return 1 - (1 - this.loss) * (1 - link);
  }

  /** an endpoint's counters (bump's two), looked up once and then kept on it */
  private statsOf(t: MemoryTransportImpl): readonly [HostStats, HostStats] {
    if (t.stats !== undefined) return t.stats;
    let byKey = this.hostStatsByKey.get(t.key);
    if (byKey === undefined) this.hostStatsByKey.set(t.key, (byKey = emptyHostStats()));
    let byHost = this.hostStatsByHost.get(t.address.host);
    if (byHost === undefined) this.hostStatsByHost.set(t.address.host, (byHost = emptyHostStats()));
    return (t.stats = [byKey, byHost]);
  }

  private bump(a: Address, f: (s: HostStats) => void): void {
    const key = addressKey(a);
    let byKey = this.hostStatsByKey.get(key);
    if (byKey === undefined) this.hostStatsByKey.set(key, (byKey = emptyHostStats()));
    let byHost = this.hostStatsByHost.get(a.host);
    if (byHost === undefined) this.hostStatsByHost.set(a.host, (byHost = emptyHostStats()));
    f(byKey);
    f(byHost);
  }
}
