import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEVER, type Observable, of, Subject, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Connections } from '../../src/shell/connections.js';
import type { StreamConn } from '../../src/transport/transport.js';

interface FakeConn extends StreamConn {
  destroyed: number;
  ended: number;
}

/** A fake stream; destroying it errors its data$ (as a real socket does) unless told otherwise. */
function fakeConn(data$: Observable<Uint8Array> = NEVER, onDestroy?: () => void): FakeConn {
  const c: FakeConn = {
    remote: { host: '10.0.0.9', port: 7946 },
    data$,
    destroyed: 0,
    ended: 0,
    write: () => {},
    end: () => {
      c.ended++;
    },
    destroy: () => {
      c.destroyed++;
      onDestroy?.();
    },
  };
  return c;
}

test('destroyAll destroys each tracked connection once and forgets them', () => {
  const conns = new Connections();
  const a = fakeConn();
  const b = fakeConn();
  conns.track(a);
  conns.track(b);
  conns.track(a); // tracking twice is still one connection
  assert.equal(conns.size, 2);
  conns.destroyAll();
  assert.equal(conns.size, 0);
  assert.deepEqual([a.destroyed, b.destroyed], [1, 1]);
  conns.destroyAll();
  assert.deepEqual([a.destroyed, b.destroyed], [1, 1], 'a second destroyAll has nothing left to destroy');
  assert.equal(a.ended + b.ended, 0);
});

test('released connections are not destroyed', () => {
  const conns = new Connections();
  const a = fakeConn();
  const b = fakeConn();
  conns.track(a);
  conns.track(b);
  assert.equal(conns.release(a), true);
  assert.equal(conns.release(a), false, 'already released');
  assert.equal(conns.has(a), false);
  conns.destroyAll();
  assert.deepEqual([a.destroyed, b.destroyed], [0, 1]);
});

test('one destroy that throws does not keep the others open', () => {
  const conns = new Connections();
  const bad = fakeConn(NEVER, () => {
    throw new Error('EBADF');
  });
  const good = fakeConn();
  conns.track(bad);
  conns.track(good);
  assert.doesNotThrow(() => conns.destroyAll());
  assert.deepEqual([bad.destroyed, good.destroyed], [1, 1]);
});

test('use(): tracked while subscribed, released and destroyed on finalize', () => {
  const conns = new Connections();
  const c = fakeConn();
  const reply = new Subject<string>();
  const seen: string[] = [];
  const sub = conns.use(c, () => reply).subscribe((v) => seen.push(v));
  assert.equal(conns.size, 1);
  assert.equal(conns.has(c), true);
  reply.next('ack');
  reply.complete();
  assert.deepEqual(seen, ['ack']);
  assert.equal(conns.size, 0, 'finalize releases');
  assert.equal(c.destroyed, 1);
  conns.destroyAll();
  assert.equal(c.destroyed, 1, 'released: not destroyed again');
  sub.unsubscribe();
});

test("use() with onComplete 'end': half-close on completion, destroy on error or unsubscribe", () => {
  const conns = new Connections();
  const done = fakeConn();
  conns.use(done, () => of(1), { onComplete: 'end' }).subscribe();
  assert.deepEqual([done.ended, done.destroyed], [1, 0]);

  const failed = fakeConn();
  conns.use(failed, () => throwError(() => new Error('garbage')), { onComplete: 'end' }).subscribe({ error: () => {} });
  assert.deepEqual([failed.ended, failed.destroyed], [0, 1]);

  const abandoned = fakeConn();
  const sub = conns.use(abandoned, () => NEVER, { onComplete: 'end' }).subscribe();
  assert.equal(conns.size, 1);
  sub.unsubscribe();
  assert.deepEqual([abandoned.ended, abandoned.destroyed], [0, 1]);
  assert.equal(conns.size, 0);
});

test('destroyAll under a running pipeline destroys once; the finalize that follows does not destroy again', () => {
  const conns = new Connections();
  // a real socket errors its data$ when destroyed: the pipeline using it then finalizes
  const data$ = new Subject<Uint8Array>();
  const c = fakeConn(data$, () => data$.error(new Error('destroyed')));
  let error: unknown;
  conns.use(c, (conn) => conn.data$).subscribe({ error: (e) => (error = e) });
  assert.equal(conns.size, 1);
  conns.destroyAll();
  assert.ok(error instanceof Error);
  assert.equal(c.destroyed, 1);
  assert.equal(c.ended, 0);
  assert.equal(conns.size, 0);
});

test('using(): the operator tracks a dialled connection for the lifetime of the request', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const conns = new Connections();
  const c = fakeConn();
  const sizes: Array<[number, number]> = [];
  ts.run(({ cold, expectObservable }) => {
    const dial$ = cold('5ms (c|)', { c: c as StreamConn });
    const request$ = dial$.pipe(
      conns.using(() => {
        sizes.push([ts.now(), conns.size]);
        return cold('10ms (r|)', { r: 'reply' });
      }),
    );
    expectObservable(request$).toBe('15ms (r|)', { r: 'reply' });
    ts.schedule(() => sizes.push([ts.now(), conns.size]), 10);
    ts.schedule(() => sizes.push([ts.now(), conns.size]), 20);
  });
  assert.deepEqual(sizes, [
    [5, 1],
    [10, 1],
    [20, 0],
  ]);
  assert.equal(c.destroyed, 1);
});

test('close(): destroys what is open and every connection tracked afterwards', () => {
  const conns = new Connections();
  const before = fakeConn();
  conns.track(before);
  conns.close();
  assert.equal(conns.isClosed, true);
  assert.equal(before.destroyed, 1);
  const late = fakeConn();
  assert.equal(conns.track(late), false);
  assert.equal(late.destroyed, 1);
  assert.equal(conns.size, 0);
  const inbound = fakeConn();
  let completed = false;
  let body = false;
  conns
    .use(inbound, () => {
      body = true;
      return of(1);
    })
    .subscribe({ complete: () => (completed = true) });
  assert.equal(body, false, 'a connection arriving after close is not used');
  assert.equal(completed, true);
  assert.equal(inbound.destroyed, 1);
});
