// The join/leave phases bench's arithmetic: its bound, its figures from observer records,
// and its poller's bound on requests in flight (bench/lib/phases.ts, bench/lib/poller.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundMs, gossipRounds, phaseFigures, type ClusterPhases, type ObserverRecord, type PhaseRecord } from '../../bench/lib/phases.js';
import { Poller } from '../../bench/lib/poller.js';

test('the bound is (ceil(log3 N) + 4 × ceil(log10(N + 1))) gossip rounds of 200 ms with lan', () => {
  assert.equal(gossipRounds(8), 2 + 4);
  assert.equal(boundMs(8), 1200);
  assert.equal(gossipRounds(16), 3 + 8);
  assert.equal(boundMs(32), (4 + 8) * 200);
  assert.equal(boundMs(64), (4 + 8) * 200);
});

const obs = (observer: string, impl: 'rxswim' | 'serf', ms: number | null, failedMs: number | null = null): ObserverRecord => ({ observer, impl, ms, failedMs, failedAtEnd: failedMs !== null && ms === null, suspectMs: null, transitions: [] });
const phase = (index: number, kind: 'join' | 'leave', subjectImpl: 'rxswim' | 'serf', observers: ObserverRecord[]): PhaseRecord => ({ setup: 'mixed', n: 8, index, kind, subject: `s${index}`, subjectImpl, via: null, callMs: 1, startMs: null, joinerCompleteMs: null, boundMs: boundMs(8), timeoutMs: 60_000, observers, poll: null, load: 0, error: null });

test('figures count observers over the bound + one poll, never, and leaves listed failed, per observer ← subject', () => {
  const c: ClusterPhases = {
    setup: 'mixed', n: 8, counts: { rxswim: 4, serf: 4 }, readyMs: 1, formationJoinErrors: [], convergeMs: 1, convergePoll: null, load: [0, 0], error: null,
    phases: [
      // 1300 ms is within 1200 + 100; 1301 is over
      phase(0, 'join', 'rxswim', [obs('a', 'rxswim', 100), obs('b', 'serf', 1300), obs('c', 'serf', 1301)]),
      phase(1, 'leave', 'rxswim', [obs('a', 'rxswim', 50), obs('b', 'serf', null, 10), obs('c', 'serf', 900, 400)]),
      phase(2, 'leave', 'serf', [obs('a', 'rxswim', 60), obs('b', 'serf', 70)]),
    ],
  };
  const f = phaseFigures([c], 100);
  const get = (kind: string, pair: string) => f.find((x) => x.kind === kind && x.pair === pair)!;
  const join = get('join', 'all');
  assert.equal(join.observations, 3);
  assert.equal(join.overBound, 1);
  assert.equal(join.worstMs, 1301);
  const leave = get('leave', 'all');
  assert.equal(leave.phases, 2);
  assert.equal(leave.never, 1);
  assert.equal(leave.worstMs, null, 'an observer that never saw it leaves no worst figure');
  assert.equal(leave.overBound, 1);
  assert.equal(leave.listedFailed, 2);
  assert.equal(leave.failedPhases, 1);
  assert.equal(leave.failedAtEnd, 1);
  // only serf observers listed the rxswim leaver failed
  assert.equal(get('leave', 'serf←rxswim').listedFailed, 2);
  assert.equal(get('leave', 'rxswim←rxswim').listedFailed, 0);
  assert.equal(get('leave', 'rxswim←rxswim').failedPhases, 0);
  assert.equal(get('leave', 'serf←serf').observations, 1);
});

test('the poller keeps at most `concurrency` requests in flight and asks every observer', async () => {
  let inFlight = 0;
  let most = 0;
  const asked = new Map<number, number>();
  const p = new Poller<number, number>(
    async (a) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      asked.set(a, (asked.get(a) ?? 0) + 1);
      return a;
    },
    10,
    3,
  );
  const observers = Array.from({ length: 10 }, (_, i) => i);
  const t0 = performance.now();
  const r = await p.run(observers, t0, () => {}, () => [...asked.values()].filter((n) => n >= 3).length === observers.length, 5000);
  assert.equal(r.ok, true);
  assert.equal(most, 3);
  assert.ok(r.stats.answers >= 30);
  assert.ok(r.stats.gapMsMedian !== null && r.stats.gapMsMedian >= 10, `each observer is asked again no sooner than everyMs (median gap ${r.stats.gapMsMedian})`);
});
