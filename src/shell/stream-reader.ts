// Read one memberlist message from a TCP stream. Unencrypted streams carry no
// overall length, so we re-try the incremental decoder as chunks arrive and stop at
// the first complete message, a decode error, the byte cap, or the TCP timeout.
import { Observable, type SchedulerLike } from 'rxjs';
import { DecodeError } from '../errors.js';
import type { StreamConn } from '../transport/transport.js';
import { tryDecodeStream } from '../wire/stream.js';
import type { StreamMessage } from '../wire/types.js';

export interface StreamReadOptions {
  keyring?: Uint8Array[];
  verifyIncoming?: boolean;
  /** memberlist caps a push-pull at 20 MiB */
  maxBytes: number;
  timeoutMs: number;
  scheduler: SchedulerLike;
}

export class StreamTimeoutError extends Error {
  override readonly name = 'StreamTimeoutError';
}

export function readStreamMessage(conn: StreamConn, opts: StreamReadOptions): Observable<StreamMessage> {
  return new Observable<StreamMessage>((sub) => {
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
      const r = tryDecodeStream(buf, { keyring: opts.keyring, verifyIncoming: opts.verifyIncoming, maxBytes: opts.maxBytes });
      if (r.status === 'need-more') {
        if (buf.length > opts.maxBytes) fail(new DecodeError('oversize', `stream exceeds ${opts.maxBytes} bytes`));
        return;
      }
      done = true;
      if (r.status === 'ok') {
        sub.next(r.message);
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
        if (!done) fail(new DecodeError('truncated', `stream closed after ${buf.length} bytes without a complete message`));
      },
    });
    return () => {
      done = true;
      timer.unsubscribe();
      dataSub.unsubscribe();
    };
  });
}
