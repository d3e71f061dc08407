// Where each decoded UDP message goes: probe traffic to the relay and the prober,
// membership gossip to the core, user messages to messaging.
import type { Subject, Subscription } from 'rxjs';
import type { UserMessaging } from '../messaging/user-messages.js';
import type { Address } from '../transport/transport.js';
import type { PacketMessage } from '../wire/types.js';
import type { ShellContext } from './context.js';
import type { MessageHandler } from './inbound.js';
import type { Outbound } from './outbound.js';
import type { AckSignal } from './prober.js';
import { answerPing, relayIndirectPing } from './relay.js';

export interface DispatchTargets {
  acks: Subject<AckSignal>;
  nacks: Subject<{ seqNo: number }>;
  user: UserMessaging;
  /** holds relays in flight, so that stopping the node ends them */
  subs: Subscription;
}

export function dispatcher(ctx: ShellContext, out: Outbound, t: DispatchTargets): MessageHandler {
  return (from: Address, m: PacketMessage): void => {
    switch (m.type) {
      case 'ping':
        return answerPing(ctx, out, from, m);
      case 'indirectPing': {
        const relay = relayIndirectPing(ctx, out, from, m);
        if (relay && !relay.closed) t.subs.add(relay);
        return;
      }
      case 'ack':
        return t.acks.next({ seqNo: m.seqNo, at: ctx.rttClock(), payload: m.payload });
      case 'nack':
        ctx.metrics.nacksReceived.inc();
        return t.nacks.next({ seqNo: m.seqNo });
      case 'suspect':
        if (m.from !== ctx.name) ctx.metrics.suspicionsReceived.inc();
        return ctx.core.receive(m);
      case 'alive':
      case 'dead':
        return ctx.core.receive(m);
      case 'user':
        return t.user.receive(m.payload, 'udp');
    }
  };
}
