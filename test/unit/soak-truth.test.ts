// The churn soak's judge, checker, bounds and memory slope (bench/lib/soak-*.ts): the
// parts that decide pass or fail, on made-up rounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS } from '../../src/config.js';
import { detectionBoundMs } from '../../src/swim/formulas.js';
import { settleBounds } from '../../bench/lib/soak-bounds.js';
import { linearSlope, promValue, trendOf } from '../../bench/lib/soak-memory.js';
import { Checker, judge, TruthModel } from '../../bench/lib/soak-truth.js';
import { parseLogLine } from '../../bench/lib/soak.js';
import type { View } from '../../bench/lib/cluster.js';

const views = (o: Record<string, Record<string, View>>) => new Map(Object.entries(o).map(([k, v]) => [k, new Map(Object.entries(v))]));

test('judge: what a view may show for each true state', () => {
  assert.equal(judge('alive', 'alive'), null);
  assert.equal(judge('alive', 'suspect'), null);
  assert.equal(judge('alive', 'failed'), 'lost');
  assert.equal(judge('alive', 'missing'), 'lost');
  assert.equal(judge('failed', 'missing'), null);
  assert.equal(judge('failed', 'suspect'), 'stale');
  assert.equal(judge('failed', 'left'), 'crashAsLeft');
  assert.equal(judge('left', 'left'), null);
  assert.equal(judge('left', 'failed'), 'leftAsFailed');
  assert.equal(judge('left', 'alive'), 'stale');
  assert.equal(judge('paused', 'failed'), null);
});

test('checker: a view is judged only after the bound, and a late agreement resolves the violation', () => {
  const t = new TruthModel();
  for (const n of ['a', 'b', 'c']) t.set(n, 'rxswim', 'alive', 0, 0, 'start');
  const c = new Checker(t);
  t.set('c', 'rxswim', 'failed', 1000, 5000, 'kill -9');
  c.round(2000, views({ a: { b: 'alive', c: 'alive' }, b: { a: 'alive', c: 'suspect' } }));
  assert.equal(c.violations.length, 0, 'before the bound nothing is judged');
  c.round(6500, views({ a: { b: 'alive', c: 'failed' }, b: { a: 'alive', c: 'alive' } }));
  assert.equal(c.violations.length, 1);
  assert.deepEqual([c.violations[0]!.observer, c.violations[0]!.member, c.violations[0]!.category], ['b', 'c', 'stale']);
  assert.equal(c.converged.has('c#2'), false);
  c.round(7500, views({ a: { b: 'alive', c: 'failed' }, b: { a: 'alive', c: 'failed' } }));
  assert.equal(c.violations[0]!.resolvedMs, 7500);
  assert.equal(c.converged.get('c#2'), 7500);
  assert.equal(c.perObserver.get('b')!.violations.stale, 1);
});

test('checker: a member that left and turns failed in a view is caught at once, per observer', () => {
  const t = new TruthModel();
  for (const n of ['a', 'b', 'x']) t.set(n, 'rxswim', 'alive', 0, 0, 'start');
  const c = new Checker(t);
  c.round(500, views({ a: { b: 'alive', x: 'alive' }, b: { a: 'alive', x: 'alive' } }));
  t.set('x', 'rxswim', 'left', 1000, 30_000, 'leave');
  c.round(2000, views({ a: { b: 'alive', x: 'left' }, b: { a: 'alive', x: 'suspect' } }));
  c.round(3000, views({ a: { b: 'alive', x: 'left' }, b: { a: 'alive', x: 'failed' } }));
  assert.equal(c.violations.length, 1);
  assert.equal(c.violations[0]!.category, 'leftAsFailed');
  assert.equal(c.violations[0]!.dueAtMs, null);
  assert.equal(c.perObserver.get('b')!.violations.leftAsFailed, 1);
  assert.equal(c.perObserver.get('a')?.violations.leftAsFailed ?? 0, 0);
  // still failed after the bound: the same violation, not a second one
  c.round(40_000, views({ a: { b: 'alive', x: 'left' }, b: { a: 'alive', x: 'failed' } }));
  assert.equal(c.violations.length, 1);
});

test('checker: convergence per implementation, and a violation closed when its member changes again', () => {
  const t = new TruthModel();
  t.set('a', 'rxswim', 'alive', 0, 0, 'start');
  t.set('s', 'serf', 'alive', 0, 0, 'start');
  t.set('x', 'rxswim', 'alive', 0, 0, 'start');
  const c = new Checker(t);
  t.set('x', 'rxswim', 'left', 1000, 2000, 'leave');
  c.round(1500, views({ a: { s: 'alive', x: 'left' }, s: { a: 'alive', x: 'alive' } }));
  c.round(2500, views({ a: { s: 'alive', x: 'left' }, s: { a: 'alive', x: 'failed' } }));
  assert.equal(c.convergedBy.get('rxswim')!.get('x#2'), 1500);
  assert.equal(c.converged.has('x#2'), false, 'not every observer agrees');
  assert.equal(c.violations[0]!.category, 'leftAsFailed');
  t.set('x', 'rxswim', 'alive', 5000, 1000, 'rejoin', { settle: 0 });
  c.round(5500, views({ a: { s: 'alive', x: 'alive' }, s: { a: 'alive', x: 'alive' } }));
  assert.equal(c.violations[0]!.supersededMs, 5000);
  assert.equal(c.violations[0]!.resolvedMs, null);
  assert.equal(c.unresolved.length, 0);
});

test('checker: an observer that came back is not judged until it has settled', () => {
  const t = new TruthModel();
  for (const n of ['a', 'b']) t.set(n, 'rxswim', 'alive', 0, 0, 'start');
  t.set('x', 'rxswim', 'failed', 0, 0, 'kill');
  const c = new Checker(t);
  t.set('a', 'rxswim', 'alive', 1000, 0, 'restart', { settle: 10_000 });
  c.round(2000, views({ a: { b: 'alive', x: 'alive' } }));
  assert.equal(c.violations.length, 0);
  c.round(11_000, views({ a: { b: 'alive', x: 'alive' } }));
  assert.equal(c.violations.length, 1);
  assert.equal(c.violations[0]!.category, 'stale');
});

test('bounds: the crash bound is the protocol detection bound plus slack; a long pause outlasts the longest suspicion', () => {
  const cfg = PRESETS.lan;
  const b = settleBounds(cfg, 12);
  assert.equal(b.crash, detectionBoundMs(cfg, 12) + 2 * cfg.probeInterval + 2000);
  assert.equal(b.pushPullMs, 30_000);
  assert.equal(b.gossipMs, 8 * 200);
  assert.ok(b.shortPauseMs < b.suspicionMinMs);
  assert.ok(b.longPauseMs > b.suspicionMaxMs);
  assert.ok(b.observerSettle >= b.crash && b.observerSettle >= b.resumeLong);
});

test('memory: the least-squares slope and the upward-trend flag', () => {
  const s = linearSlope([
    [0, 100],
    [1, 110],
    [2, 120],
    [3, 130],
  ])!;
  assert.ok(Math.abs(s.slope - 10) < 1e-9);
  assert.ok(Math.abs(s.r2 - 1) < 1e-9);
  // 25 min: RSS rising all along; the heap a sawtooth (a rise, then a major collection) without a trend
  const samples = Array.from({ length: 150 }, (_, i) => ({ atMs: i * 10_000, rssKB: 50_000 + i * 20 + (i % 2) * 5, heapKB: 10_000 + (i % 30) * 100 }));
  const tr = trendOf({ member: 'a', impl: 'rxswim', pid: 1, startedMs: 0, samples }, 60_000, 1, 16)!;
  assert.ok(tr.rss!.slope > 100, `rss ${tr.rss!.slope} KB/min`);
  assert.equal(tr.judged, true);
  assert.equal(tr.rssUp, true);
  assert.equal(tr.heapUp, false, 'a sawtooth without a trend is not flagged');
  // a rise that stopped: flat over the last third, not flagged
  const plateau = samples.map((x, i) => ({ ...x, rssKB: 50_000 + Math.min(i, 90) * 20 }));
  assert.equal(trendOf({ member: 'a', impl: 'rxswim', pid: 1, startedMs: 0, samples: plateau }, 60_000, 1, 16)!.rssUp, false);
  // too short to be judged: listed, never flagged
  const short = trendOf({ member: 'a', impl: 'rxswim', pid: 1, startedMs: 0, samples: samples.slice(0, 40) }, 60_000, 1, 16)!;
  assert.deepEqual([short.judged, short.rssUp], [false, false]);
  assert.equal(trendOf({ member: 'a', impl: 'rxswim', pid: 1, startedMs: 0, samples: samples.slice(0, 5) }, 60_000, 1, 16), null);
  assert.equal(promValue('# HELP x\nnodejs_heap_size_used_bytes 1234\nnodejs_heap_size_used_bytes_other 1', 'nodejs_heap_size_used_bytes'), 1234);
});

test('timeline: an agent\'s log lines about a member, rxswim JSON and serf text', () => {
  const j = parseLogLine('{"level":30,"time":1000,"event":"failed","member":{"name":"rx-3","incarnation":2},"msg":"rx-3 failed"}', 'rx-3');
  assert.deepEqual(j, { wallMs: 1000, what: 'failed (incarnation 2)' });
  assert.equal(parseLogLine('{"level":30,"time":1000,"event":"joined","member":{"name":"rx-4"}}', 'rx-3'), null);
  const s = parseLogLine('    2026/12/01 16:00:05 [INFO] serf: EventMemberFailed: rx-3 127.0.113.4', 'rx-3')!;
  assert.equal(s.what, '[INFO] serf: EventMemberFailed: rx-3 127.0.113.4');
  assert.equal(new Date(s.wallMs).getSeconds(), 5);
  assert.equal(parseLogLine('    2026/12/01 16:00:05 [INFO] serf: EventMemberJoin: rx-4 127.0.113.5', 'rx-3'), null);
});
