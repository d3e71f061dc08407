import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catchError, type Observable, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { DecodeError } from '../../src/errors.js';
import { readStreamMessage, type StreamReadOptions, StreamTimeoutError } from '../../src/shell/stream-reader.js';
import type { StreamConn } from '../../src/transport/transport.js';
import { encodeStream } from '../../src/wire/stream.js';
import type { PushPull, StreamMessage } from '../../src/wire/types.js';

const newScheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

function fakeConn(data$: Observable<Uint8Array>): StreamConn {
  return { remote: { host: '10.0.0.2', port: 7946 }, data$, write: () => {}, end: () => {}, destroy: () => {} };
}

/** bytes cut into `n` chunks of (nearly) equal size */
function split(bytes: Uint8Array, n: number): Uint8Array[] {
  const size = Math.ceil(bytes.length / n);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

/** errors as comparable values: the class name and, for a DecodeError, its reason */
const settle = (o: Observable<StreamMessage>): Observable<StreamMessage | { error: string; reason?: string }> =>
  o.pipe(
    catchError((e: unknown) =>
      of(e instanceof DecodeError ? { error: e.name, reason: e.reason } : { error: (e as Error).name }),
    ),
  );

const pushPull: PushPull = {
  type: 'pushPull',
  join: false,
  nodes: Array.from({ length: 20 }, (_, i) => ({
    name: `node-${i}`,
    addr: Uint8Array.of(10, 0, 0, i),
    port: 7946,
    meta: new TextEncoder().encode(`role=web,${i}`),
    incarnation: i + 1,
    state: i % 3,
    vsn: Uint8Array.of(1, 5, 2, 2, 5, 4),
  })),
  userState: new Uint8Array(300).fill(7),
};

const key = new Uint8Array(32).fill(9);

function opts(ts: TestScheduler, over: Partial<StreamReadOptions> = {}): StreamReadOptions {
  return { maxBytes: 1 << 20, timeoutMs: 100, scheduler: ts, ...over };
}

test('a message split across chunks is read once the last chunk arrives', () => {
  const bytes = encodeStream(pushPull, { compress: false });
  const [a, b, c] = split(bytes, 3);
  assert.ok(c && bytes.length > 600);
  const ts = newScheduler();
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const data$ = cold('5ms a 4ms b 4ms c 20ms |', { a: a!, b: b!, c });
    expectObservable(readStreamMessage(fakeConn(data$), opts(ts))).toBe('15ms (m|)', { m: pushPull });
    expectSubscriptions(data$.subscriptions).toBe('^ 14ms !');
  });
});

test('a compressed, encrypted message split into many small chunks', () => {
  const bytes = encodeStream(pushPull, { compress: true, keyring: [key], encryptionVersion: 1 });
  const chunks = split(bytes, 25);
  const marble = chunks.map((_, i) => String.fromCharCode(97 + i)).join('');
  const values = Object.fromEntries(chunks.map((c, i) => [String.fromCharCode(97 + i), c]));
  const ts = newScheduler();
  ts.run(({ cold, expectObservable }) => {
    const data$ = cold(marble, values);
    expectObservable(readStreamMessage(fakeConn(data$), opts(ts, { keyring: [key] }))).toBe(`${chunks.length - 1}ms (m|)`, {
      m: pushPull,
    });
  });
});

test('timeout: no complete message within timeoutMs', () => {
  const bytes = encodeStream(pushPull, { compress: false });
  const ts = newScheduler();
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const data$ = cold('5ms a', { a: bytes.slice(0, 100) }); // never more, never closed
    expectObservable(settle(readStreamMessage(fakeConn(data$), opts(ts, { timeoutMs: 50 })))).toBe('50ms (e|)', {
      e: { error: 'StreamTimeoutError' },
    });
    expectSubscriptions(data$.subscriptions).toBe('^ 49ms !');
  });
  assert.equal(new StreamTimeoutError('x').name, 'StreamTimeoutError');
});

test('oversize: a message announcing more than maxBytes is refused without waiting for it', () => {
  const bytes = encodeStream({ type: 'userStream', payload: new Uint8Array(5000).fill(1) }, { compress: false });
  const [a, b] = split(bytes, 2);
  const ts = newScheduler();
  ts.run(({ cold, expectObservable }) => {
    const data$ = cold('a 9ms b', { a: a!, b: b! });
    expectObservable(settle(readStreamMessage(fakeConn(data$), opts(ts, { maxBytes: 1000 })))).toBe('(e|)', {
      e: { error: 'DecodeError', reason: 'oversize' },
    });
  });
});

test('oversize: an encrypted stream announcing more than maxBytes', () => {
  const bytes = encodeStream(pushPull, { compress: false, keyring: [key] });
  const ts = newScheduler();
  ts.run(({ cold, expectObservable }) => {
    const data$ = cold('a', { a: bytes.slice(0, 10) });
    expectObservable(settle(readStreamMessage(fakeConn(data$), opts(ts, { keyring: [key], maxBytes: 200 })))).toBe('(e|)', {
      e: { error: 'DecodeError', reason: 'oversize' },
    });
  });
});

test('garbage: the DecodeError reason comes through', () => {
  const cases: Array<[string, Uint8Array, Partial<StreamReadOptions>, string]> = [
    ['unknown message type', Uint8Array.of(0xff, 1, 2, 3), {}, 'unknown_type'],
    ['a packet-only type on a stream', Uint8Array.of(3, 0x80), {}, 'unknown_type'],
    ['plaintext when encryption is required', encodeStream(pushPull, { compress: false }), { keyring: [key] }, 'decrypt_failed'],
    [
      'sealed with another key',
      encodeStream(pushPull, { compress: false, keyring: [new Uint8Array(16).fill(1)] }),
      { keyring: [key] },
      'decrypt_failed',
    ],
  ];
  for (const [what, bytes, over, reason] of cases) {
    const ts = newScheduler();
    assert.doesNotThrow(
      () =>
        ts.run(({ cold, expectObservable }) => {
          const data$ = cold('3ms a', { a: bytes });
          expectObservable(settle(readStreamMessage(fakeConn(data$), opts(ts, over)))).toBe('3ms (e|)', {
            e: { error: 'DecodeError', reason },
          });
        }),
      what,
    );
  }
});

test('a stream closed before a complete message: truncated', () => {
  const bytes = encodeStream(pushPull, { compress: false });
  const ts = newScheduler();
  ts.run(({ cold, expectObservable }) => {
    const data$ = cold('a 9ms |', { a: bytes.slice(0, 50) });
    expectObservable(settle(readStreamMessage(fakeConn(data$), opts(ts)))).toBe('10ms (e|)', {
      e: { error: 'DecodeError', reason: 'truncated' },
    });
  });
});

test('a connection error is passed on', () => {
  const ts = newScheduler();
  ts.run(({ cold, expectObservable }) => {
    const data$ = cold<Uint8Array>('7ms #', undefined, new Error('ECONNRESET'));
    expectObservable(readStreamMessage(fakeConn(data$), opts(ts))).toBe('7ms #', undefined, new Error('ECONNRESET'));
  });
});

test('unsubscribing stops reading and cancels the timeout', () => {
  const ts = newScheduler();
  ts.run(({ cold, expectObservable, expectSubscriptions }) => {
    const data$ = cold('5ms a', { a: Uint8Array.of(6) });
    expectObservable(readStreamMessage(fakeConn(data$), opts(ts, { timeoutMs: 50 })), '20ms !').toBe('');
    expectSubscriptions(data$.subscriptions).toBe('^ 19ms !');
  });
});
