// simulate() schedules what it reports: the join and the crash happen inside the run
// (even at times between its 100 ms steps), the report says when, an event placed past
// the end is reported as absent (null), and impossible crash counts are refused.
// Small clusters and short runs: these are about the scenario, not about SWIM at scale.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from '../../src/cli/simulate.js';
import { simulate } from '../../src/sim/simulate.js';

test('simulate: the join and the crash happen at their times, even between 100 ms steps, and the report says when', { timeout: 120_000 }, async () => {
  const r = await simulate({ nodes: 5, seed: 3, profile: 'lan', loss: 0, crash: 1, durationMs: 12_000, joinAtMs: 5_050, crashAtMs: 10_050 });
  assert.equal(r.joinAtMs, 5_100, 'the join at the first step at or after 5.05 s');
  assert.equal(r.crashAtMs, 10_100, 'the crash at the first step at or after 10.05 s');
  assert.equal(r.crashed.length, 1);
  assert.notEqual(r.crashed[0], 'node-0');
  assert.notEqual(r.crashed[0], r.joiner);
  assert.ok(r.disseminationMs !== null, 'the join reached everyone');
  // One sample a second, from 0 to the end.
  assert.deepEqual(r.aliveSeries.map((p) => p[0]), Array.from({ length: 13 }, (_, i) => i));
  assert.equal(r.aliveSeries[0]![1], 5, 'before the join, 5 alive everywhere');
  assert.equal(r.aliveSeries[7]![1], 6, 'after the join, 6 alive everywhere (the joiner counted once it has joined)');
  assert.doesNotMatch(formatReport(r), /no crash|no join/);
});

test('simulate: a join or crash time past the end is reported as absent, not as "not reached"', { timeout: 120_000 }, async () => {
  const r = await simulate({ nodes: 3, seed: 3, profile: 'lan', loss: 0, crash: 1, durationMs: 3_000, joinAtMs: 100_000, crashAtMs: 100_000 });
  assert.equal(r.joinAtMs, null);
  assert.equal(r.crashAtMs, null);
  assert.deepEqual(r.crashed, []);
  const text = formatReport(r);
  assert.doesNotMatch(text, /not reached/);
  assert.match(text, /no crash in this run \(its time is past the end\)/);
  assert.match(text, /no join in this run/);
});

test('simulate: more crashes than the scenario can survive are refused, not silently capped', async () => {
  await assert.rejects(simulate({ nodes: 10, seed: 1, profile: 'lan', loss: 0, crash: 20, durationMs: 20_000 }), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /crash must be an integer in \[0, 9\] with 10 nodes/);
    return true;
  });
});
