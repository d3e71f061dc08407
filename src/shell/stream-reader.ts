// Read one memberlist message from a TCP stream. Unencrypted streams carry no
// overall length, so we re-try the incremental decoder as chunks arrive and stop at
// the first complete message, a decode error, the byte cap, or the TCP timeout.
import { map, Observable, type SchedulerLike } from 'rxjs';
import { DecodeError } from '../errors.js';
import type { StreamConn } from '../transport/transport.js';
import { readLabelHeader, type LabelPolicy } from '../wire/label.js';
import { tryDecodeStream } from '../wire/stream.js';
import type { StreamMessage } from '../wire/types.js';

export interface StreamReadOptions {
  keyring?: Uint8Array[];
  verifyIncoming?: boolean;
  /** memberlist caps a push-pull at 20 MiB */
  maxBytes: number;
  timeoutMs: number;
  scheduler: SchedulerLike;
  /** a stream we opened: the label we sent, which seals the answer */
  label?: Uint8Array;
  /** a stream opened to us: judges the label header it may start with */
  labelPolicy?: LabelPolicy;
}

/** one message and the label its stream carried (empty: none) */
export interface StreamFrame {
  message: StreamMessage;
  label: Uint8Array;
}

export class StreamTimeoutError extends Error {
  override readonly name = 'StreamTimeoutError';
}

export function readStreamMessage(conn: StreamConn, opts: StreamReadOptions): Observable<StreamMessage> {
  return readStreamFrame(conn, opts).pipe(map((f) => f.message));
}

/** readStreamMessage, also telling the stream's label */
export function readStreamFrame(conn: StreamConn, opts: StreamReadOptions): Observable<StreamFrame> {
  return new Observable<StreamFrame>((sub) => {
    // Bytes so far: a view of `store`, which grows by doubling so that a large stream
    // arriving in many chunks costs linear, not quadratic, copying.
    let store = new Uint8Array(0);
    let buf = store;
    let done = false;
    const timer = opts.scheduler.schedule(() => {
      if (done) return;
      done = true;
      sub.error(new StreamTimeoutError(`no complete message within ${opts.timeoutMs} ms (got ${buf.length} bytes)`));
    }, opts.timeoutMs);
    const attempt = (): void => {
      if (buf.length === 0) return;
      const r = tryDecodeStream(buf, {
        keyring: opts.keyring,
        verifyIncoming: opts.verifyIncoming,
        maxBytes: opts.maxBytes,
        ...(opts.label ? { label: opts.label } : {}),
        ...(opts.labelPolicy ? { labelPolicy: opts.labelPolicy } : {}),
      });
      if (r.status === 'need-more') {
        if (buf.length > opts.maxBytes) fail(new DecodeError('oversize', `stream exceeds ${opts.maxBytes} bytes`));
        return;
      }
      done = true;
      if (r.status === 'ok') {
        sub.next({ message: r.message, label: r.label });
        sub.complete();
      } else sub.error(r.error);
    };
    const fail = (e: Error): void => {
      if (done) return;
      done = true;
      sub.error(e);
    };
    const dataSub = conn.data$.subscribe({
      next: (chunk) => {
        if (done) return;
        const len = buf.length + chunk.length;
        if (len > store.length) {
          const next = new Uint8Array(Math.max(len, 2 * store.length, 4096));
          next.set(buf);
          store = next;
        }
        store.set(chunk, buf.length);
        buf = store.subarray(0, len);
        attempt();
      },
      error: (e: unknown) => fail(e instanceof Error ? e : new Error(String(e))),
      complete: () => {
        if (done) return;
        // Closed inside a label header: the header's own error, as memberlist reports it.
        const head = opts.labelPolicy ? readLabelHeader(buf, true, 'stream') : undefined;
        if (head?.status === 'error') return fail(head.error);
        fail(new DecodeError('truncated', `stream closed after ${buf.length} bytes without a complete message`));
      },
    });
    return () => {
      done = true;
      timer.unsubscribe();
      dataSub.unsubscribe();
    };
  });
}
