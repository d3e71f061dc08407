import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY, NEVER, type Observable, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Member } from '../../src/api.js';
import { testMember } from '../helpers/members.js';
import { prober$, type AckSignal, type ProberDeps, type ProbeResult } from '../../src/shell/prober.js';
import { Awareness } from '../../src/swim/awareness.js';

const member = (name: string): Member => testMember(name);
const A = member('a');
const H1 = member('h1');
const H2 = member('h2');
const H3 = member('h3');

const newScheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));

/** What the prober did, with the (virtual) time of each call. */
interface Log {
  targets: number[];
  pings: Array<{ at: number; target: string; seqNo: number }>;
  indirect: Array<{ at: number; helper: string; target: string; seqNo: number }>;
  tcp: Array<{ at: number; target: string; seqNo: number; deadline: number }>;
  failed: Array<{ at: number; target: string }>;
}

/**
 * Deps for a prober probing `a` every 100 ms (timeout 20, first probe at 10) with no
 * helpers, no acks and no TCP ping, unless overridden.
 */
function deps(ts: TestScheduler, over: Partial<ProberDeps> = {}): { deps: ProberDeps; log: Log } {
  const log: Log = { targets: [], pings: [], indirect: [], tcp: [], failed: [] };
  let seq = 0;
  const d: ProberDeps = {
    scheduler: ts,
    probeInterval: 100,
    probeTimeout: () => 20,
    awareness: new Awareness(8),
    initialDelayMs: 10,
    nextTarget: () => A,
    helpers: () => [],
    nextSeqNo: () => ++seq,
    acks$: NEVER,
    nacks$: NEVER,
    sendPing: () => {},
    sendIndirectPing: () => false,
    tcpPing: () => EMPTY,
    onFailed: () => {},
    ...over,
  };
  // Wrap whatever was given so every call is logged.
  const wrapped: ProberDeps = {
    ...d,
    nextTarget: () => {
      log.targets.push(ts.now());
      return d.nextTarget();
    },
    sendPing: (target, seqNo) => {
      log.pings.push({ at: ts.now(), target: target.name, seqNo });
      d.sendPing(target, seqNo);
    },
    sendIndirectPing: (helper, target, seqNo) => {
      log.indirect.push({ at: ts.now(), helper: helper.name, target: target.name, seqNo });
      return d.sendIndirectPing(helper, target, seqNo);
    },
    tcpPing: (target, seqNo, deadline): Observable<boolean> => {
      log.tcp.push({ at: ts.now(), target: target.name, seqNo, deadline });
      return d.tcpPing(target, seqNo, deadline);
    },
    onFailed: (target) => {
      log.failed.push({ at: ts.now(), target: target.name });
      d.onFailed(target);
    },
  };
  return { deps: wrapped, log };
}

test('a direct ack within probeTimeout: outcome direct with the round trip', () => {
  const ts = newScheduler();
  const awareness = new Awareness(8);
  awareness.apply(2);
  let log!: Log;
  ts.run(({ hot, expectObservable }) => {
    const acks$ = hot<AckSignal>('15ms a', { a: { seqNo: 1, at: 15 } });
    const built = deps(ts, { acks$, awareness });
    log = built.log;
    expectObservable(prober$(built.deps), '100ms !').toBe('15ms r', {
      r: { target: A, outcome: 'direct', rttMs: 5 } satisfies ProbeResult,
    });
  });
  assert.deepEqual(log.pings, [{ at: 10, target: 'a', seqNo: 1 }]);
  assert.deepEqual(log.indirect, [], 'no indirect phase');
  assert.equal(awareness.score, 1, 'a success lowers the health score');
});

test('RTT uses the injected clock when given', () => {
  const ts = newScheduler();
  ts.run(({ hot, expectObservable }) => {
    const acks$ = hot<AckSignal>('15ms a', { a: { seqNo: 1, at: 1015.25 } });
    const { deps: d } = deps(ts, { acks$, now: () => ts.now() + 1000 });
    expectObservable(prober$(d), '100ms !').toBe('15ms r', { r: { target: A, outcome: 'direct', rttMs: 5.25 } });
  });
});

test("a direct ack's payload (Serf's coordinate) comes with the result; a late one in the indirect phase does not", () => {
  const ts = newScheduler();
  const payload = Uint8Array.of(1, 0x80);
  ts.run(({ hot, expectObservable }) => {
    // Probe 1 (at 10) acked at 15 with a payload; probe 2 (at 110) acked at 135, after its 20 ms timeout.
    const acks$ = hot<AckSignal>('15ms a 119ms b', { a: { seqNo: 1, at: 15, payload }, b: { seqNo: 2, at: 135, payload } });
    const { deps: d } = deps(ts, { acks$ });
    expectObservable(prober$(d), '150ms !').toBe('15ms r 119ms s', {
      r: { target: A, outcome: 'direct', rttMs: 5, ackPayload: payload },
      s: { target: A, outcome: 'indirect', rttMs: 25, nacksExpected: 0, nacksReceived: 0 },
    });
  });
});

test('listen before sending: an ack delivered synchronously inside sendPing is not lost', () => {
  const ts = newScheduler();
  const acks = new Subject<AckSignal>();
  let log!: Log;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, {
      acks$: acks,
      // A transport (the in-memory network) that answers before send returns.
      sendPing: (_t, seqNo) => acks.next({ seqNo, at: ts.now() }),
    });
    log = built.log;
    expectObservable(prober$(built.deps), '50ms !').toBe('10ms r', { r: { target: A, outcome: 'direct', rttMs: 0 } });
  });
  assert.deepEqual(log.indirect, [], 'the lost ack would have started an indirect probe');
  assert.deepEqual(log.failed, []);
});

test('listen before sending: an ack relayed synchronously inside sendIndirectPing is not lost', () => {
  const ts = newScheduler();
  const acks = new Subject<AckSignal>();
  let log!: Log;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, {
      acks$: acks,
      helpers: () => [H1, H2],
      sendIndirectPing: (_h, _t, seqNo) => {
        acks.next({ seqNo, at: ts.now() });
        return true;
      },
    });
    log = built.log;
    expectObservable(prober$(built.deps), '50ms !').toBe('30ms r', {
      r: { target: A, outcome: 'indirect', rttMs: 20, nacksExpected: 0, nacksReceived: 0 },
    });
  });
  assert.deepEqual(
    log.indirect.map((c) => c.helper),
    ['h1'],
    'the ack came during the first indirect ping; the others were not needed',
  );
  assert.deepEqual(log.tcp, [], 'no TCP fallback once acked');
});

test('no direct ack but an indirect one: outcome indirect, helpers pinged via sendIndirectPing', () => {
  const ts = newScheduler();
  let log!: Log;
  ts.run(({ hot, expectObservable }) => {
    // seqNo 1 is acked (relayed) at 50; a stale ack for another probe is ignored.
    const acks$ = hot<AckSignal>('25ms x 24ms a', { x: { seqNo: 99, at: 25 }, a: { seqNo: 1, at: 50 } });
    const nacks$ = hot('40ms n', { n: { seqNo: 1 } });
    const built = deps(ts, {
      acks$,
      nacks$,
      helpers: (t) => {
        assert.equal(t, A);
        return [H1, H2];
      },
      sendIndirectPing: () => true,
    });
    log = built.log;
    expectObservable(prober$(built.deps), '100ms !').toBe('50ms r', {
      r: { target: A, outcome: 'indirect', rttMs: 40, nacksExpected: 2, nacksReceived: 1 },
    });
  });
  assert.deepEqual(log.indirect, [
    { at: 30, helper: 'h1', target: 'a', seqNo: 1 },
    { at: 30, helper: 'h2', target: 'a', seqNo: 1 },
  ]);
  assert.deepEqual(log.tcp, [{ at: 30, target: 'a', seqNo: 1, deadline: 80 }], 'TCP fallback started with the rest of the interval');
  assert.deepEqual(log.failed, []);
});

test('a late direct ack during the indirect phase still counts', () => {
  const ts = newScheduler();
  ts.run(({ hot, expectObservable }) => {
    const acks$ = hot<AckSignal>('70ms a', { a: { seqNo: 1, at: 70 } });
    const { deps: d } = deps(ts, { acks$ });
    expectObservable(prober$(d), '100ms !').toBe('70ms r', {
      r: { target: A, outcome: 'indirect', rttMs: 60, nacksExpected: 0, nacksReceived: 0 },
    });
  });
});

test('nothing at all: failed at the end of the probe interval, onFailed called, awareness raised', () => {
  const ts = newScheduler();
  const awareness = new Awareness(8);
  let log!: Log;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, { awareness });
    log = built.log;
    expectObservable(prober$(built.deps), '150ms !').toBe('110ms r', {
      r: { target: A, outcome: 'failed', nacksExpected: 0, nacksReceived: 0 },
    });
  });
  assert.deepEqual(log.failed, [{ at: 110, target: 'a' }]);
  assert.equal(awareness.score, 1, 'no nacks expected: a failed probe costs 1');
});

test('the probe window is the scaled probe interval', () => {
  const ts = newScheduler();
  const awareness = new Awareness(8);
  awareness.apply(1); // window 200
  ts.run(({ expectObservable }) => {
    const { deps: d } = deps(ts, { awareness });
    expectObservable(prober$(d), '250ms !').toBe('210ms r', {
      r: { target: A, outcome: 'failed', nacksExpected: 0, nacksReceived: 0 },
    });
  });
});

test('nacks are counted: a failure costs the nacks expected but not received (Lifeguard)', () => {
  // [nack requests granted by helpers, nacks received] → expected awareness delta
  const cases: Array<[boolean[], number, number]> = [
    [[true, true, false], 1, 1], // 2 expected, 1 received → +1
    [[true, true, true], 0, 3], // none received → +3
    [[true, true], 2, 0], // all helpers nacked: they are fine, so are we → +0
    [[false, false], 0, 1], // no nacks expected → +1
  ];
  for (const [granted, received, delta] of cases) {
    const ts = newScheduler();
    const awareness = new Awareness(8);
    const expected = granted.filter(Boolean).length;
    let log!: Log;
    ts.run(({ hot, expectObservable }) => {
      const helpers = [H1, H2, H3].slice(0, granted.length);
      let i = 0;
      const built = deps(ts, {
        awareness,
        helpers: () => helpers,
        sendIndirectPing: () => granted[i++]!,
        // only `received` of the three nacks at 40 are for us; the rest name another probe
        nacks$: hot(`40ms (${'n'.repeat(received)}${'x'.repeat(3 - received)})`, { n: { seqNo: 1 }, x: { seqNo: 7 } }),
      });
      log = built.log;
      expectObservable(prober$(built.deps), '111ms !').toBe('110ms r', {
        r: { target: A, outcome: 'failed', nacksExpected: expected, nacksReceived: received },
      });
    });
    assert.equal(log.indirect.length, granted.length);
    assert.equal(awareness.score, delta, `granted ${JSON.stringify(granted)}, received ${received}`);
    assert.equal(log.failed.length, 1);
  }
});

test('probes every probeInterval, stretched by awareness as it changes', () => {
  const ts = newScheduler();
  const awareness = new Awareness(8);
  let log!: Log;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, { awareness });
    log = built.log;
    // Every probe fails and raises the score, so the next interval is longer:
    // start 10 (window 100) → fail 110; start 210 (window 200) → fail 410; start 510 (window 300) → fail 810.
    expectObservable(prober$(built.deps), '850ms !').toBe('110ms f 299ms f 399ms f', {
      f: { target: A, outcome: 'failed', nacksExpected: 0, nacksReceived: 0 },
    });
  });
  assert.deepEqual(log.targets, [10, 210, 510]);
  assert.equal(awareness.score, 3);

  // Healthy: acks within the timeout, one probe per (scaled) interval as the score recovers.
  const ts2 = newScheduler();
  const awareness2 = new Awareness(8);
  awareness2.apply(2);
  const acks = new Subject<AckSignal>();
  let log2!: Log;
  ts2.run(({ expectObservable }) => {
    const built = deps(ts2, {
      awareness: awareness2,
      acks$: acks,
      sendPing: (_t, seqNo) => {
        ts2.schedule(() => acks.next({ seqNo, at: ts2.now() }), 5);
      },
    });
    log2 = built.log;
    // start 10 → ack 15, score 1 → next at 10 + 200; ack 215, score 0 → next at 310, 410.
    expectObservable(prober$(built.deps), '450ms !').toBe('15ms d 199ms d 99ms d 99ms d', {
      d: { target: A, outcome: 'direct', rttMs: 5 },
    });
  });
  assert.deepEqual(log2.targets, [10, 210, 310, 410]);
  assert.deepEqual(
    log2.pings.map((p) => p.seqNo),
    [1, 2, 3, 4],
    'a fresh sequence number per probe',
  );
});

test('no target: no probe, but the loop keeps asking every interval', () => {
  const ts = newScheduler();
  let seqCalls = 0;
  let log!: Log;
  ts.run(({ expectObservable }) => {
    const built = deps(ts, {
      nextTarget: () => undefined,
      nextSeqNo: () => ++seqCalls,
    });
    log = built.log;
    expectObservable(prober$(built.deps), '350ms !').toBe('');
  });
  assert.deepEqual(log.targets, [10, 110, 210, 310]);
  assert.deepEqual(log.pings, []);
  assert.equal(seqCalls, 0);
});

test('tcpPing success: outcome tcp at the end of the interval, no suspicion', () => {
  const ts = newScheduler();
  const awareness = new Awareness(8);
  awareness.apply(1);
  let log!: Log;
  ts.run(({ cold, expectObservable }) => {
    const built = deps(ts, {
      awareness,
      helpers: () => [H1],
      sendIndirectPing: () => false,
      tcpPing: () => cold('30ms (t|)', { t: true }),
      probeInterval: 50, // window 100 at score 1
    });
    log = built.log;
    expectObservable(prober$(built.deps), '111ms !').toBe('110ms r', {
      r: { target: A, outcome: 'tcp', nacksExpected: 0, nacksReceived: 0 },
    });
  });
  assert.deepEqual(log.tcp, [{ at: 30, target: 'a', seqNo: 1, deadline: 80 }]);
  assert.deepEqual(log.failed, []);
  assert.equal(awareness.score, 0, 'a TCP success is a success');
});

test('tcpPing answering false: still failed', () => {
  const ts = newScheduler();
  ts.run(({ cold, expectObservable }) => {
    const { deps: d } = deps(ts, { tcpPing: () => cold('5ms (f|)', { f: false }) });
    expectObservable(prober$(d), '150ms !').toBe('110ms r', {
      r: { target: A, outcome: 'failed', nacksExpected: 0, nacksReceived: 0 },
    });
  });
});

test('unsubscribing mid-probe releases the ack and nack listeners', () => {
  const ts = newScheduler();
  ts.run(({ hot, expectObservable, expectSubscriptions }) => {
    const acks$ = hot<AckSignal>('-');
    const nacks$ = hot<{ seqNo: number }>('-');
    const { deps: d } = deps(ts, { acks$, nacks$ });
    expectObservable(prober$(d), '50ms !').toBe('');
    // direct phase 10..30, indirect phase 30..50 (unsubscribed)
    expectSubscriptions(acks$.subscriptions).toBe(['10ms ^ 19ms !', '30ms ^ 19ms !']);
    expectSubscriptions(nacks$.subscriptions).toBe('30ms ^ 19ms !');
  });
});
