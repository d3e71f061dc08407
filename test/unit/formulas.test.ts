// Golden values from memberlist's own tests (suspicion_test.go, util_test.go, awareness_test.go).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS } from '../../src/config.js';
import {
  awarenessScale,
  detectionBoundMs,
  pushPullScale,
  retransmitLimit,
  suspicionBounds,
  suspicionMinMs,
  suspicionTimeoutMs,
} from '../../src/swim/formulas.js';

test('suspicionTimeout scales with log10(n), truncated to 3 decimals (memberlist TestSuspicionTimeout)', () => {
  const golden: Record<number, number> = { 5: 1000, 10: 1000, 50: 1698, 100: 2000, 500: 2698, 1000: 3000 };
  for (const [n, expected] of Object.entries(golden)) {
    assert.equal(suspicionMinMs(3, Number(n), 1000) / 3, expected, `n=${n}`);
  }
});

test('remaining suspicion time after confirmations (memberlist TestSuspicion_remainingSuspicionTime)', () => {
  const cases: Array<[c: number, k: number, elapsed: number, min: number, max: number, expected: number]> = [
    [0, 3, 0, 2000, 30000, 30000],
    [1, 3, 2000, 2000, 30000, 14000],
    [2, 3, 3000, 2000, 30000, 4810],
    [3, 3, 4000, 2000, 30000, -2000],
    [4, 3, 5000, 2000, 30000, -3000],
    [5, 3, 10000, 2000, 30000, -8000],
  ];
  for (const [c, k, elapsed, minMs, maxMs, expected] of cases) {
    assert.equal(suspicionTimeoutMs({ minMs, maxMs, k }, c) - elapsed, expected, `c=${c}`);
  }
});

test('suspicion bounds follow the LAN preset and fall back to min when k cannot be reached', () => {
  const lan = { suspicionMult: 4, suspicionMaxTimeoutMult: 6, probeInterval: 1000 };
  assert.deepEqual(suspicionBounds(lan, 3), { minMs: 4000, maxMs: 24000, k: 0 });
  assert.equal(suspicionTimeoutMs(suspicionBounds(lan, 3), 0), 4000, 'wire capture: dead 4 s after suspect at n=3');
  assert.deepEqual(suspicionBounds(lan, 100), { minMs: 8000, maxMs: 48000, k: 2 });
  assert.equal(suspicionTimeoutMs(suspicionBounds(lan, 100), 0), 48000);
  assert.equal(suspicionTimeoutMs(suspicionBounds(lan, 100), 2), 8000);
});

test('retransmit limit is RetransmitMult × ceil(log10(n+1)) (memberlist TestRetransmitLimit)', () => {
  assert.equal(retransmitLimit(3, 0), 0);
  assert.equal(retransmitLimit(3, 1), 3);
  assert.equal(retransmitLimit(3, 99), 6);
  assert.equal(retransmitLimit(4, 2), 4);
  assert.equal(retransmitLimit(4, 10), 8);
  assert.equal(retransmitLimit(4, 100), 12);
});

test('push-pull interval scales past 32 nodes (memberlist TestPushPullScale)', () => {
  for (let n = 0; n <= 32; n++) assert.equal(pushPullScale(1000, n), 1000, `n=${n}`);
  for (let n = 33; n <= 64; n++) assert.equal(pushPullScale(1000, n), 2000, `n=${n}`);
  for (let n = 65; n <= 128; n++) assert.equal(pushPullScale(1000, n), 3000, `n=${n}`);
});

test('awareness scaling stretches a timeout by score + 1 (memberlist TestAwareness)', () => {
  assert.equal(awarenessScale(1000, 0), 1000);
  assert.equal(awarenessScale(1000, 1), 2000);
  assert.equal(awarenessScale(1000, 7), 8000);
});

test('worst-case detection bound: a probe pass, the longest suspicion, the retransmits', () => {
  // lan, n = 20: 20 × 1 s + 6 × 4 × 1.301 s + 4 × ceil(log10 21) × 200 ms
  assert.equal(detectionBoundMs(PRESETS.lan, 20), 20_000 + 6 * 5204 + 8 * 200);
  // local, n = 5: 5 × 1 s + 6 × 3 s + 2 × 1 × 100 ms
  assert.equal(detectionBoundMs(PRESETS.local, 5), 5_000 + 18_000 + 200);
  // wan, n = 4: k = 0 (too few members to confirm), so the longest suspicion is min, 30 s
  assert.equal(detectionBoundMs(PRESETS.wan, 4), 4 * 5_000 + 30_000 + 4 * 500);
});
