// Receiving a datagram: decode it (never throws), count it once by outcome, and hand
// each message to whoever handles its type. A handler that throws costs that message
// only, never the node.
import { formatHostPort } from '../membership/address.js';
import type { Address } from '../transport/transport.js';
import type { PacketMessage } from '../wire/types.js';
import type { ShellContext } from './context.js';

export type MessageHandler = (from: Address, m: PacketMessage) => void;

/** answers a datagram that is one plain ping on a fast path; false: not such a datagram */
export type LonePingAnswer = (from: Address, data: Uint8Array) => boolean;

export function receivePacket(ctx: ShellContext, from: Address, data: Uint8Array, handle: MessageHandler, answerLonePing?: LonePingAnswer): void {
  if (answerLonePing?.(from, data)) {
    // answered; counted as the general path counts a datagram holding one ping
    countReceived(ctx, data, 'decoded');
    ctx.metrics.udp.received('ping').n++;
    return;
  }
  const decoded = ctx.packets.decode(data);
  // Handled first, counted after: a ping's ack leaves before the bookkeeping. At SWIM's
  // rate of about one ping a second this path runs cold (caches evicted between
  // pings), where every counter costs microseconds of the measured round trip.
  let failed = 0;
  for (const m of decoded.messages) {
    try {
      handle(from, m);
    } catch (e) {
      failed++;
      ctx.log.error({ node: ctx.name, err: String(e), type: m.type }, 'message handler failed');
    }
  }
  const { metrics } = ctx;
  const { udp } = metrics;
  countReceived(ctx, data, decoded.messages.length === 0 ? 'dropped' : decoded.errors.length > 0 ? 'partial' : 'decoded');
  for (const err of decoded.errors) {
    metrics.packetsDropped.inc({ reason: err.reason });
    ctx.log.debug({ node: ctx.name, from: formatHostPort(from.host, from.port), reason: err.reason, err: err.message }, 'dropped packet');
  }
  for (const m of decoded.messages) udp.received(m.type).n++;
  if (failed > 0) metrics.packetsDropped.inc({ reason: 'handler_error' }, failed);
}

/** one datagram received, by outcome: both paths count through here */
function countReceived(ctx: ShellContext, data: Uint8Array, outcome: 'decoded' | 'partial' | 'dropped'): void {
  const { udp } = ctx.metrics;
  udp.packetsReceived.n++;
  udp.bytesReceived.n += data.length;
  udp.outcome[outcome].n++;
}
