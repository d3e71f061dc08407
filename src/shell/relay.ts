// Answering probes: a ping gets an ack; an indirect ping (ping-req) makes us ping the
// target for the requester and relay its ack, or a nack when the requester asked for
// one (Lifeguard) and the target stayed silent.
import { filter, map, race, take, takeUntil, timer, type Subscription } from 'rxjs';
import { addrToString } from '../membership/address.js';
import { bytesEqual, utf8Encode } from '../wire/msgpack.js';
import type { Address } from '../transport/transport.js';
import { encodeMessage } from '../wire/messages.js';
import type { IndirectPing, Ping } from '../wire/types.js';
import type { ShellContext } from './context.js';
import type { Outbound } from './outbound.js';

/** where to answer: the source fields when given (a relayed ping), else the sender */
export function replyAddress(from: Address, m: { sourceAddr?: Uint8Array | null; sourcePort?: number }): Address {
  if (m.sourceAddr && m.sourceAddr.length > 0 && m.sourcePort) return { host: addrToString(m.sourceAddr), port: m.sourcePort };
  return from;
}

export function answerPing(ctx: ShellContext, out: Outbound, from: Address, p: Ping): void {
  // A ping for another name: a probe meant for a node that used to live here.
  if (p.node !== '' && p.node !== ctx.name) return;
  // As memberlist: every ping we answer carries the delegate's payload, relayed or not.
  out.reply(replyAddress(from, p), encodeMessage({ type: 'ack', seqNo: p.seqNo, payload: ctx.ping?.ackPayload() ?? null }));
}

/**
 * answerPing's fast path, for a datagram that is one plain ping and nothing else, with
 * no gossip to piggyback and no key to seal with (the idle cluster's every probe): the
 * ping is read in place and the ack written straight into its packet (wire/lone-ping.ts).
 * The answer is the one the general path gives, byte for byte, to the same address.
 * False: not such a datagram, and the general path takes it as before.
 */
export function lonePingAnswerer(ctx: ShellContext, out: Outbound): (from: Address, data: Uint8Array) => boolean {
  const name = utf8Encode(ctx.name);
  return (from, data) => {
    const p = ctx.packets.lonePing(data);
    if (p === null) return false;
    const node = p.node;
    if (node.length > 0) {
      // a ping for another name: the general path drops it, as answerPing does
      if (!bytesEqual(node, name)) return false;
    }
    const packet = ctx.packets.loneAck(p.seqNo, ctx.ping?.ackPayload() ?? null);
    if (packet === null) return false;
    out.sendPacket(p.sourceAddr !== null && p.sourcePort ? { host: addrToString(p.sourceAddr), port: p.sourcePort } : from, packet, 'ack');
    return true;
  };
}

/** ping the target for the requester; the subscription ends with the answer or the probe timeout */
export function relayIndirectPing(ctx: ShellContext, out: Outbound, from: Address, req: IndirectPing): Subscription | undefined {
  if (!req.target || (req.target.length !== 4 && req.target.length !== 16)) {
    ctx.metrics.packetsDropped.inc({ reason: 'malformed' });
    return undefined;
  }
  const requester = replyAddress(from, req);
  // The requester's probe of a member we know left failed: it missed the leave and is
  // about to suspect it. Hand it the leave now; the relay below runs as usual.
  const leave = req.node ? ctx.core.leaveOf(req.node) : undefined;
  if (leave) {
    ctx.metrics.directAnswers.inc({ kind: 'leave' });
    out.sendRaw(requester, [encodeMessage(leave)]);
  }
  const target: Address = { host: addrToString(req.target), port: req.port === 0 ? ctx.core.local.port : req.port };
  const seqNo = ctx.nextSeqNo();
  // Listen before sending: on the in-memory network the ack can arrive synchronously.
  const acked$ = ctx.acks$.pipe(
    filter((a) => a.seqNo === seqNo),
    take(1),
    map(() => true),
  );
  const sub = race(acked$, timer(ctx.core.probeTimeout(), ctx.scheduler).pipe(map(() => false)))
    .pipe(takeUntil(ctx.stopped$))
    .subscribe((ok) => {
      if (ok) {
        ctx.metrics.indirectPings.inc({ result: 'acked' });
        out.reply(requester, encodeMessage({ type: 'ack', seqNo: req.seqNo, payload: null }));
      } else if (req.nack) {
        ctx.metrics.indirectPings.inc({ result: 'nacked' });
        out.reply(requester, encodeMessage({ type: 'nack', seqNo: req.seqNo }));
      } else ctx.metrics.indirectPings.inc({ result: 'timeout' });
    });
  out.sendTo(target, [encodeMessage({ type: 'ping', seqNo, node: req.node, ...out.source() })]);
  return sub;
}
