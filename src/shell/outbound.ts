// Sending: messages to a member or an address as UDP packets (with gossip piggybacked
// or without), and one message on a TCP stream. The only place that counts what goes
// out and hands bytes to the transport.
import { firstValueFrom, type Observable, of, takeUntil, tap, throwError, timeout } from 'rxjs';
import type { Member } from '../api.js';
import { StateError } from '../errors.js';
import { formatHostPort } from '../membership/address.js';
import { messageTypeOf } from '../metrics/metrics.js';
import type { Address, StreamConn } from '../transport/transport.js';
import type { Ping, StreamMessage } from '../wire/types.js';
import type { ShellContext } from './context.js';

export type Target = Member | Address;

function addressOf(t: Target): Address {
  return 'address' in t ? { host: t.address, port: t.port } : t;
}

export class Outbound {
  constructor(private readonly ctx: ShellContext) {}

  /** our address as the source fields of a ping or an indirect ping */
  source(): Pick<Ping, 'sourceAddr' | 'sourcePort' | 'sourceNode'> {
    const l = this.ctx.core.local;
    return { sourceAddr: l.addr, sourcePort: l.port, sourceNode: l.name };
  }

  /** messages to a target with gossip piggybacked up to the UDP buffer size */
  sendTo(target: Target, msgs: Uint8Array[]): void {
    const pmax = this.protocolMaxOf(target);
    this.sendRaw(target, this.ctx.packets.withGossip(msgs, pmax));
  }

  /**
   * A probe's answer (ack or nack), with gossip piggybacked as sendTo. Alone it goes
   * uncompressed, where memberlist tries LZW on every packet: the answer's latency is
   * the prober's RTT (its failure detector and its network coordinate), and LZW on a
   * cold path cost ~25 µs of it to save ~12 of an ack's ~125 bytes (bench/results/
   * profile-issue11-session.md, section 5). Both forms are valid on the wire.
   */
  reply(target: Target, msg: Uint8Array): void {
    const msgs = this.ctx.packets.withGossip([msg], this.protocolMaxOf(target));
    this.sendRaw(target, msgs, msgs.length > 1);
  }

  /** messages to a target as they are; `mayCompress` false: never compressed */
  sendRaw(target: Target, msgs: Uint8Array[], mayCompress = true): void {
    const t = this.ctx.transport();
    if (!t || msgs.length === 0) return;
    const { metrics } = this.ctx;
    const to = addressOf(target);
    const packets = this.ctx.packets.encode(msgs, this.protocolMaxOf(target), mayCompress);
    // sent first, counted after (see receivePacket: an ack's latency is the probe's RTT)
    for (const p of packets) t.sendPacket(to, p);
    const { udp } = metrics;
    for (const p of packets) {
      udp.packetsSent.n++;
      udp.bytesSent.n += p.length;
    }
    for (const m of msgs) udp.sent(messageTypeOf(m)).n++;
  }

  /** one packet already encoded, holding one message of `type` */
  sendPacket(to: Address, packet: Uint8Array, type: string): void {
    const t = this.ctx.transport();
    if (!t) return;
    t.sendPacket(to, packet);
    const { udp } = this.ctx.metrics;
    udp.packetsSent.n++;
    udp.bytesSent.n += packet.length;
    udp.sent(type).n++;
  }

  /** one message on a stream, sealed with the stream's label: by default ours (a stream we opened) */
  writeStream(conn: StreamConn, msg: StreamMessage, streamLabel?: Uint8Array): void {
    const bytes = this.ctx.packets.encodeStream(msg, streamLabel);
    const { metrics } = this.ctx;
    metrics.packetsSent.inc({ transport: 'tcp' });
    metrics.messagesSent.inc({ type: msg.type, transport: 'tcp' });
    metrics.bytesSent.inc({ transport: 'tcp' }, bytes.length);
    conn.write(bytes);
  }

  /** one message on a stream of its own, half-closed once written; resolves when written (or stopped) */
  sendStream(target: Target, msg: StreamMessage): Promise<void> {
    const write$ = this.dial(addressOf(target)).pipe(
      this.ctx.connections.using((conn) => of(this.writeStream(conn, msg)), { onComplete: 'end' }),
      takeUntil(this.ctx.stopped$),
    );
    return firstValueFrom(write$, { defaultValue: undefined });
  }

  /**
   * open a stream, giving up after TCPTimeout (memberlist's DialTimeout): a dial into a
   * partition may never be answered. With a cluster label, the stream starts with its
   * header (memberlist's labelWrappedTransport).
   */
  dial(to: Address): Observable<StreamConn> {
    const t = this.ctx.transport();
    if (!t) return throwError(() => new StateError('not started'));
    const { tcpTimeout } = this.ctx.config;
    const header = this.ctx.packets.streamHeader();
    const connected$ = t.dial(to).pipe(
      timeout({
        first: tcpTimeout,
        scheduler: this.ctx.scheduler,
        with: () => throwError(() => new Error(`connect to ${formatHostPort(to.host, to.port)} timed out after ${tcpTimeout} ms`)),
      }),
    );
    if (header.length === 0) return connected$;
    return connected$.pipe(
      tap((conn) => {
        this.ctx.metrics.bytesSent.inc({ transport: 'tcp' }, header.length);
        conn.write(header);
      }),
    );
  }

  /** CRC only when the peer's PMax says it understands it (protocol 5); unknown addresses get none */
  private protocolMaxOf(target: Target): number {
    return 'name' in target ? this.ctx.core.protocolMax(target.name) : 0;
  }
}
