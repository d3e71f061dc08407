// Real network transport: UDP datagrams (node:dgram through dgram-as-promised) and
// TCP streams (node:net), both bound to the same port number, as memberlist does.
//
// Receive path: `packets$` hears the dgram-as-promised socket's own 'message' event
// and hands each datagram, one object shared by every subscriber, over synchronously.
// Not the socket's async iterator: each recv() behind it is a promise, three closures
// and three listener changes per datagram, and a datagram can only be lost between two
// recv() calls (DESIGN.md, "Pitfalls already measured"); at one ping a second that path
// was ~60 µs of a cold ack's latency (bench/results/profile-issue11-rtt.md). Handlers
// must stay synchronous all the same: the kernel's buffer is what holds a burst.
import * as net from 'node:net';
import { DgramAsPromised } from 'dgram-as-promised';
import type { SocketAsPromised } from 'dgram-as-promised';
import { Observable, Subject, type Subscriber } from 'rxjs';
import type { Address, Datagram, StreamConn, Transport } from './transport.js';
import { formatHostPort } from '../membership/address.js';

/** memberlist asks the kernel for a 2 MiB UDP receive buffer */
export const DEFAULT_RECV_BUFFER_SIZE = 2 * 1024 * 1024;
/** upper bound on the bytes one stream may receive, and on its unflushed writes */
export const DEFAULT_MAX_STREAM_BYTES = 32 * 1024 * 1024;

const MIN_RECV_BUFFER_SIZE = 64 * 1024;
const PORT_ZERO_ATTEMPTS = 10;

export interface UdpTcpTransportOptions {
  /** textual IP to bind (IPv4 or IPv6; `0.0.0.0` / `::` for all interfaces) */
  host: string;
  /** port for both UDP and TCP; 0 picks a port free for both */
  port: number;
  /** UDP receive buffer to ask for (default 2 MiB); halved on refusal down to 64 KiB */
  recvBufferSize?: number;
  /**
   * Per stream: the most bytes it may receive in total, and the most written bytes
   * that may wait unflushed; past either the connection is destroyed and its `data$`
   * errors. Unread inbound bytes are never buffered by the transport: a socket is
   * paused until its `data$` is subscribed, so TCP flow control holds the peer back.
   * Default 32 MiB.
   */
  maxStreamBytes?: number;
}

export interface UdpTcpTransport extends Transport {
  /** datagrams that could not be handed to the kernel (sendPacket never throws) */
  readonly sendErrors: number;
  /** UDP receive buffer size as the kernel reports it (Linux reports twice the granted request); 0 if unknown */
  readonly recvBufferSize: number;
}

function formatAddress(a: Address): string {
  return formatHostPort(a.host, a.port);
}

/** `::ffff:1.2.3.4` (an IPv4 peer seen by a dual-stack socket) → `1.2.3.4` */
function unmapIPv4(host: string): string {
  if (host.startsWith('::ffff:')) {
    const rest = host.slice(7);
    if (net.isIPv4(rest)) return rest;
  }
  return host;
}

/** A plain Uint8Array view over a Buffer's bytes (no copy; Uint8Array slice semantics). */
function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function listenTcp(host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port });
  });
}

/**
 * 'close' events come on nextTick, before libuv has run the handles' close callbacks
 * (the last phase of a loop turn); two check phases later they have run and the
 * handles are gone from process.getActiveResourcesInfo().
 */
function handlesReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
  });
}

async function bindUdp(host: string, port: number): Promise<SocketAsPromised> {
  const socket = DgramAsPromised.createSocket({
    type: net.isIPv6(host) ? 'udp6' : 'udp4',
    reuseAddr: false,
  });
  try {
    await socket.bind({ address: host, port });
    return socket;
  } catch (err) {
    try {
      socket.socket.close();
    } catch {
      // never bound, nothing to release
    }
    throw err;
  }
}

/** Ask for `wanted` bytes, halving on refusal; returns the size the kernel reports, 0 if none was accepted. */
function setRecvBuffer(socket: SocketAsPromised, wanted: number): number {
  let size = wanted;
  while (size > 0) {
    try {
      socket.setRecvBufferSize(size);
      return socket.getRecvBufferSize();
    } catch {
      if (size <= MIN_RECV_BUFFER_SIZE) break;
      size = Math.max(MIN_RECV_BUFFER_SIZE, Math.floor(size / 2));
    }
  }
  try {
    return socket.getRecvBufferSize();
  } catch {
    return 0;
  }
}

/** One TCP connection as a StreamConn. */
class TcpStreamConn implements StreamConn {
  readonly data$: Observable<Uint8Array>;
  private readonly inbox = new Subject<Uint8Array>();
  private reading = false;
  private received = 0;

  constructor(
    readonly remote: Address,
    private readonly socket: net.Socket,
    private readonly maxBytes: number,
  ) {
    // The socket is paused (pauseOnConnect, or pause() after dialing) until the first
    // subscription, so nothing read is lost and nothing unread piles up in memory.
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.byteLength;
      if (this.received > this.maxBytes) {
        this.fail(new Error(`stream from ${formatAddress(remote)} exceeded ${this.maxBytes} bytes`));
        return;
      }
      this.inbox.next(view(chunk));
    });
    socket.on('end', () => this.inbox.complete());
    socket.on('error', (err: Error) => this.inbox.error(err));
    // destroyed without an 'end' (by us, or after an error already delivered)
    socket.on('close', () => this.inbox.complete());
    this.data$ = new Observable<Uint8Array>((subscriber) => {
      const sub = this.inbox.subscribe(subscriber);
      if (!this.reading) {
        this.reading = true;
        if (!socket.destroyed) socket.resume();
      }
      return sub;
    });
  }

  write(data: Uint8Array): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    s.write(Buffer.from(data)); // copy: the caller may reuse its buffer
    if (s.writableLength > this.maxBytes) {
      this.fail(
        new Error(`stream to ${formatAddress(this.remote)}: more than ${this.maxBytes} bytes waiting to be sent`),
      );
    }
  }

  end(): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    s.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.inbox.complete();
  }

  private fail(err: Error): void {
    this.inbox.error(err);
    this.socket.destroy();
  }
}

class UdpTcpTransportImpl implements UdpTcpTransport {
  readonly address: Address;
  readonly packets$: Observable<Datagram>;
  readonly connections$: Observable<StreamConn>;
  readonly recvBufferSize: number;
  private errors = 0;
  private recvErrors = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private receivers: Array<Subscriber<Datagram>> = [];
  private readonly connections = new Subject<StreamConn>();
  private readonly sockets = new Set<net.Socket>();
  private readonly dualStack: boolean;

  constructor(
    private readonly udp: SocketAsPromised,
    private readonly server: net.Server,
    host: string,
    port: number,
    recvBufferSize: number,
    private readonly maxStreamBytes: number,
  ) {
    this.address = { host, port };
    this.recvBufferSize = recvBufferSize;
    this.dualStack = net.isIPv6(host);
    this.connections$ = this.connections.asObservable();

    // One listener on the socket itself hands each datagram, synchronously, to every
    // subscriber: no promise, listener churn or Subject in between (see the top).
    const sock = udp.socket;
    // A socket error does not end the stream (dgram-as-promised keeps the socket open
    // and holds the error for its next promise, which we never ask for): counted only.
    sock.on('error', () => {
      this.recvErrors++;
    });
    sock.on('message', (msg: Buffer, rinfo: { address: string; port: number }) => {
      const rs = this.receivers;
      if (rs.length === 0) return;
      const d: Datagram = { from: { host: unmapIPv4(rinfo.address), port: rinfo.port }, data: view(msg) };
      for (let i = 0; i < rs.length; i++) rs[i]!.next(d);
    });
    this.packets$ = new Observable<Datagram>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return undefined;
      }
      // copied on change, so a subscriber leaving during a delivery spoils nothing
      this.receivers = [...this.receivers, subscriber];
      return () => {
        this.receivers = this.receivers.filter((r) => r !== subscriber);
      };
    });

    server.on('connection', (socket: net.Socket) => {
      if (this.closed || !this.connections.observed) {
        socket.destroy(); // nobody would ever read it
        return;
      }
      this.track(socket);
      const remote: Address = {
        host: unmapIPv4(socket.remoteAddress ?? ''),
        port: socket.remotePort ?? 0,
      };
      this.connections.next(new TcpStreamConn(remote, socket, this.maxStreamBytes));
    });
    server.on('error', (err: Error) => this.connections.error(err));
  }

  get sendErrors(): number {
    return this.errors;
  }

  get receiveErrors(): number {
    return this.recvErrors;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed) {
      this.errors++;
      return;
    }
    let host = to.host;
    if (this.dualStack && net.isIPv4(host)) host = `::ffff:${host}`;
    try {
      // copy: the kernel gets the bytes later if the socket would block
      this.udp.socket.send(Buffer.from(data), to.port, host, (err) => {
        if (err) this.errors++;
      });
    } catch {
      this.errors++;
    }
  }

  dial(to: Address): Observable<StreamConn> {
    return new Observable<StreamConn>((subscriber) => {
      const target = formatAddress(to);
      if (this.closed) {
        subscriber.error(new Error(`dial ${target}: transport closed`));
        return undefined;
      }
      const socket = net.connect({ host: to.host, port: to.port, allowHalfOpen: true });
      socket.pause();
      this.track(socket);
      let connected = false;
      const onError = (err: Error): void => {
        const code = errorCode(err);
        subscriber.error(
          Object.assign(new Error(`dial ${target} failed: ${code ?? 'error'} (${errorMessage(err)})`, { cause: err }), {
            code,
          }),
        );
      };
      const onClose = (): void => {
        subscriber.error(new Error(`dial ${target}: closed before connecting`));
      };
      const onConnect = (): void => {
        connected = true;
        socket.off('error', onError);
        socket.off('close', onClose);
        subscriber.next(new TcpStreamConn(to, socket, this.maxStreamBytes));
        subscriber.complete();
      };
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.once('connect', onConnect);
      return () => {
        if (!connected) {
          socket.off('connect', onConnect);
          socket.off('close', onClose);
          // keep a listener so a late error on the dying socket is not unhandled
          socket.off('error', onError);
          socket.on('error', () => undefined);
          socket.destroy();
        }
      };
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const waits: Promise<unknown>[] = [closeServer(this.server)];
    for (const socket of this.sockets) {
      waits.push(new Promise<void>((resolve) => socket.once('close', () => resolve())));
      socket.destroy();
    }
    waits.push(this.udp.close().catch(() => undefined));
    this.connections.complete();
    await Promise.all(waits);
    await handlesReleased();
    for (const r of this.receivers) r.complete();
  }
}

/**
 * Bind UDP and TCP on `host:port` (the same port number for both). With port 0, TCP
 * is bound first to obtain a port and UDP is bound to the same number, retrying a few
 * times if that UDP port is taken.
 */
export async function createUdpTcpTransport(opts: UdpTcpTransportOptions): Promise<UdpTcpTransport> {
  const { host, port } = opts;
  const wantedBuffer = opts.recvBufferSize ?? DEFAULT_RECV_BUFFER_SIZE;
  const maxStreamBytes = opts.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
  const attempts = port === 0 ? PORT_ZERO_ATTEMPTS : 1;

  for (let attempt = 1; ; attempt++) {
    let server: net.Server;
    try {
      server = await listenTcp(host, port);
    } catch (err) {
      throw new Error(`cannot listen on TCP ${formatAddress({ host, port })}: ${errorMessage(err)}`, { cause: err });
    }
    const bound = server.address();
    const actualPort = typeof bound === 'object' && bound !== null ? bound.port : port;
    let udp: SocketAsPromised;
    try {
      udp = await bindUdp(host, actualPort);
    } catch (err) {
      await closeServer(server);
      await handlesReleased();
      if (errorCode(err) === 'EADDRINUSE' && attempt < attempts) continue;
      throw new Error(`cannot bind UDP ${formatAddress({ host, port: actualPort })}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const granted = wantedBuffer > 0 ? setRecvBuffer(udp, wantedBuffer) : 0;
    return new UdpTcpTransportImpl(udp, server, host, actualPort, granted, maxStreamBytes);
  }
}
