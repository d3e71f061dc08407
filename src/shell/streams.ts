// TCP streams: reading one message with the node's keys and limits, and the stream
// server that answers what peers open to us (push-pull, TCP ping, reliable user
// messages). Every connection goes through the one tracker. A stream opened to us
// may start with a cluster label; the answer is sealed with that label, as
// memberlist's handleConn does.
import { type Observable, Subscription } from 'rxjs';
import { DecodeError } from '../errors.js';
import { formatHostPort } from '../membership/address.js';
import type { StreamConn } from '../transport/transport.js';
import type { PushPull, StreamMessage } from '../wire/types.js';
import type { ShellContext } from './context.js';
import type { Outbound } from './outbound.js';
import { readStreamFrame, readStreamMessage, type StreamFrame } from './stream-reader.js';

/** memberlist caps a stream (a push-pull) at 20 MiB */
export const STREAM_MAX_BYTES = 20 * 1024 * 1024;

function readOptions(ctx: ShellContext) {
  const opts = ctx.packets.decodeOptions();
  return {
    ...(opts.keyring ? { keyring: opts.keyring, verifyIncoming: opts.verifyIncoming ?? true } : {}),
    maxBytes: STREAM_MAX_BYTES,
    timeoutMs: ctx.config.tcpTimeout,
    scheduler: ctx.scheduler,
  };
}

/** the answer on a stream we opened: bare, sealed with the label we sent */
export function readOne(ctx: ShellContext, conn: StreamConn): Observable<StreamMessage> {
  return readStreamMessage(conn, { ...readOptions(ctx), label: ctx.packets.sendLabel });
}

/** the request on a stream opened to us, after its label header (judged by our policy) */
export function readRequest(ctx: ShellContext, conn: StreamConn): Observable<StreamFrame> {
  return readStreamFrame(conn, { ...readOptions(ctx), labelPolicy: ctx.packets.labelPolicy });
}

export interface StreamHandlers {
  /** a push-pull request: return our reply; merging happens after it was written */
  pushPull(msg: PushPull, peer: string): { reply: PushPull; merge: () => void };
  userStream(payload: Uint8Array): void;
}

/** answer one inbound connection; the returned subscription ends with it */
export function serveConnection(ctx: ShellContext, out: Outbound, conn: StreamConn, handlers: StreamHandlers): Subscription {
  ctx.metrics.packetsReceived.inc({ transport: 'tcp' });
  const peer = formatHostPort(conn.remote.host, conn.remote.port);
  // Half-close once answered, as memberlist does; an error destroys (see below).
  return ctx.connections.use(conn, (c) => readRequest(ctx, c), { onComplete: 'end' }).subscribe({
    next: ({ message: msg, label }) => {
      ctx.metrics.messagesReceived.inc({ type: msg.type, transport: 'tcp' });
      switch (msg.type) {
        case 'pushPull': {
          // Reply first, then merge: exactly memberlist's order.
          const { reply, merge } = handlers.pushPull(msg, peer);
          out.writeStream(conn, reply, label);
          try {
            merge();
          } catch (e) {
            ctx.log.warn({ node: ctx.name, peer, err: (e as Error).message }, 'push-pull merge refused');
          }
          return;
        }
        case 'userStream':
          return handlers.userStream(msg.payload);
        case 'ping':
          if (msg.node === '' || msg.node === ctx.name) out.writeStream(conn, { type: 'ack', seqNo: msg.seqNo, payload: null }, label);
          return;
        default:
          ctx.metrics.packetsDropped.inc({ reason: 'unknown_type' });
          ctx.log.debug({ node: ctx.name, peer, type: msg.type }, 'unexpected stream message');
      }
    },
    error: (e: unknown) => {
      // The tracker destroys the connection on error: closed for good, as memberlist
      // does, so a peer that sent garbage, or too slowly, cannot keep it open.
      ctx.metrics.packetsDropped.inc({ reason: e instanceof DecodeError ? e.reason : 'stream_error' });
      ctx.log.warn({ node: ctx.name, peer, err: e instanceof Error ? e.message : String(e) }, 'dropped stream');
    },
  });
}
