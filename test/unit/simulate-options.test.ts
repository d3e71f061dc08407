// `rxswim simulate`'s checks of its flags and its text report, without running a simulation:
// a run too short for its scenario and more crashes than survivors allow are refused with
// the flag and what it accepts; the report never says "not reached" for an event that
// was never scheduled; --svg makes its folder.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatReport, prepareSvgPath, simulateUsageErrors } from '../../src/cli/simulate.js';
import { maxCrash, minDurationMs, SCENARIO, type SimulateReport } from '../../src/sim/simulate.js';

test('simulate options: the minimum duration is the scenario\'s last event plus a second to see it', () => {
  assert.equal(minDurationMs(1), SCENARIO.crashAtMs + SCENARIO.observeMs);
  assert.equal(minDurationMs(0), SCENARIO.joinAtMs + SCENARIO.observeMs);
  // The CLI's help says "at least 11s, 6s with --crash 0".
  assert.equal(minDurationMs(1), 11_000);
  assert.equal(minDurationMs(0), 6_000);
  assert.equal(maxCrash(10), 9);
});

test('simulate options: --duration under the scenario\'s minimum is refused, naming --duration and the minimum', () => {
  const [e, ...rest] = simulateUsageErrors({ nodes: 10, crash: 1, durationMs: 5_000 });
  assert.equal(rest.length, 0);
  assert.match(e!, /^--duration must be at least 11s/);
  assert.match(e!, /join is at 5s and the crash at 10s/);
  assert.match(e!, /6s with --crash 0/);
  assert.match(e!, /got 5s/);
  assert.match(simulateUsageErrors({ nodes: 10, crash: 1, durationMs: 10_900 })[0]!, /--duration must be at least 11s/);
  assert.deepEqual(simulateUsageErrors({ nodes: 10, crash: 1, durationMs: 11_000 }), []);
  assert.match(simulateUsageErrors({ nodes: 10, crash: 0, durationMs: 5_000 })[0]!, /^--duration must be at least 6s: the late join is at 5s/);
  assert.deepEqual(simulateUsageErrors({ nodes: 10, crash: 0, durationMs: 6_000 }), []);
  assert.deepEqual(simulateUsageErrors({ nodes: 100, crash: 1, durationMs: 120_000 }), [], 'the defaults pass');
});

test('simulate options: --crash beyond --nodes minus 1 is refused with the allowed range', () => {
  const [e, ...rest] = simulateUsageErrors({ nodes: 10, crash: 20, durationMs: 120_000 });
  assert.equal(rest.length, 0);
  assert.match(e!, /^--crash must be in \[0, 9\] with --nodes 10/);
  assert.match(e!, /survive to observe the crash/);
  assert.match(e!, /got 20/);
  assert.match(simulateUsageErrors({ nodes: 10, crash: 10, durationMs: 120_000 })[0]!, /--crash must be in \[0, 9\]/);
  assert.deepEqual(simulateUsageErrors({ nodes: 10, crash: 9, durationMs: 120_000 }), []);
  assert.deepEqual(simulateUsageErrors({ nodes: 2, crash: 1, durationMs: 120_000 }), []);
  assert.equal(simulateUsageErrors({ nodes: 10, crash: 20, durationMs: 1_000 }).length, 2, 'both problems at once');
});

function report(over: Partial<SimulateReport> = {}): SimulateReport {
  return {
    options: { nodes: 10, seed: 1, profile: 'lan', loss: 0, crash: 1, durationMs: 11_000 },
    convergeMs: 1000,
    joinAtMs: 5000,
    crashAtMs: 10_000,
    crashed: ['node-3'],
    firstDetectionMs: null,
    fullDetectionMs: null,
    detectionBoundMs: 40_000,
    joiner: 'node-10',
    disseminationMs: 400,
    disseminationRounds: 2,
    disseminationC: 0.83,
    falseFailures: 0,
    falseSuspicions: 0,
    messagesPerNodePerSec: 2,
    bytesPerNodePerSec: 100,
    peakBroadcastQueue: 1,
    aliveSeries: [],
    wall: { bootMs: 1, runMs: 1, nodeSecondsPerWallSecond: 1, heapMB: 1 },
    ...over,
  };
}

test('simulate report: a run without a crash says so instead of "not reached"', () => {
  const text = formatReport(report({ options: { nodes: 10, seed: 1, profile: 'lan', loss: 0, crash: 0, durationMs: 6000 }, crashAtMs: null, crashed: [] }));
  assert.doesNotMatch(text, /not reached/);
  assert.match(text, /first detection\s+no crash in this run \(--crash 0\)/);
  assert.match(text, /full detection\s+no crash in this run/);
  assert.match(text, /crashed\s+none/);
  // A join that a library caller scheduled past the end is not "not reached" either.
  const noJoin = formatReport(report({ joinAtMs: null, disseminationMs: null, disseminationRounds: null, disseminationC: null }));
  assert.match(noJoin, /join disseminated to all\s+no join in this run/);
  assert.match(noJoin, /joined late\s+nobody/);
});

test('simulate report: a crash that happened but was not detected in time says how long the run watched', () => {
  const text = formatReport(report());
  assert.match(text, /crashed\s+node-3 at 10\.00 s/);
  assert.match(text, /first detection\s+not reached in the 1\.00 s between the crash and the end of the run/);
  assert.match(text, /full detection\s+not reached in the 1\.00 s .*bound the configuration implies: 40\.00 s/);
  assert.match(text, /joined late\s+node-10 at 5\.00 s/);
  assert.match(text, /join disseminated to all\s+0\.40 s = 2 gossip rounds/);
  const found = formatReport(report({ firstDetectionMs: 6500, fullDetectionMs: 6900 }));
  assert.match(found, /first detection\s+6\.50 s/);
  assert.match(found, /full detection\s+6\.90 s/);
});

test('simulate --svg: a missing folder is made; a folder or an unwritable place gives one message naming --svg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-svg-'));
  try {
    const deep = join(dir, 'not', 'there', 'alive.svg');
    assert.equal(prepareSvgPath(deep), undefined);
    assert.ok(statSync(join(dir, 'not', 'there')).isDirectory(), 'the folder was made');
    assert.match(prepareSvgPath(dir)!, /^--svg .*: is a folder/);
    writeFileSync(join(dir, 'file'), '');
    const under = prepareSvgPath(join(dir, 'file', 'sub', 'alive.svg'))!;
    assert.match(under, /^--svg .*: cannot write the chart there \(/);
    assert.doesNotMatch(under, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
