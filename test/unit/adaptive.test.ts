// The adaptive profile's timeouts (src/swim/adaptive.ts): table tests of the formulas
// documented in docs/configuration.md, "The adaptive profile".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveTimeouts, MIN_RTT_SAMPLES, PROBE_FLOOR_MS, RTT_WINDOW } from '../../src/swim/adaptive.js';
import { PRESETS, resolveConfig } from '../../src/config.js';
import { suspicionMinMs } from '../../src/swim/formulas.js';

const LAN = PRESETS.lan;
const fresh = () => new AdaptiveTimeouts(LAN);

describe('probe timeout', () => {
  it("keeps the preset's until enough round trips are in, then 4 × p99, floored and capped", () => {
    const a = fresh();
    for (let i = 0; i < MIN_RTT_SAMPLES - 1; i++) a.observeRtt(20);
    assert.equal(a.probeTimeout(), LAN.probeTimeout);
    a.observeRtt(20);
    assert.equal(a.probeTimeout(), 80);
    assert.equal(a.probeDeadline(), 320, 'four probe timeouts: the direct wait and two relayed hops with room');
  });

  const rows: Array<[string, number[], number]> = [
    ['loopback round trips hit the floor', Array(64).fill(0.3), PROBE_FLOOR_MS],
    ['one slow round trip in 64 is the p99', [...Array(63).fill(10), 90], 360],
    ['a slow network is capped by the preset', Array(64).fill(400), LAN.probeTimeout],
    ['only the last 64 count', [...Array(64).fill(400), ...Array(RTT_WINDOW).fill(1)], PROBE_FLOOR_MS],
  ];
  for (const [what, rtts, want] of rows) {
    it(what, () => {
      const a = fresh();
      for (const r of rtts) a.observeRtt(r);
      assert.equal(a.probeTimeout(), want);
    });
  }

  it('ignores nonsense samples', () => {
    const a = fresh();
    for (const r of [NaN, -1, Infinity]) for (let i = 0; i < 10; i++) a.observeRtt(r);
    assert.equal(a.rttSamples, 0);
    assert.equal(a.probeTimeout(), LAN.probeTimeout);
  });
});

describe('suspicion minimum', () => {
  it('the refutation floor: probe timeout + (2 + ceil(log3 n)) gossip rounds', () => {
    const a = fresh();
    for (let i = 0; i < 8; i++) a.observeRtt(1);
    // probe timeout 50; n = 8: ceil(log3 8) = 2 → 4 rounds × 200
    assert.equal(a.refutationFloor(8), 50 + 4 * 200);
    assert.equal(a.refutationFloor(100), 50 + (2 + 5) * 200);
  });

  const rows: Array<[string, number, number[], (floor: number, lan: number) => number]> = [
    ['no refutation seen yet: 1.5 × floor', 8, [], (f) => Math.ceil(1.5 * f)],
    ['fast refutations: the floor', 8, Array(10).fill(100), (f) => f],
    ['slow refutations: 3 × their p99', 8, [...Array(31).fill(300), 1000], () => 3000],
    ["never above lan's minimum", 8, Array(10).fill(9000), (_f, lan) => lan],
    ['a large cluster: lan min is 4 s × log10 n', 1000, Array(10).fill(100), (f) => f],
  ];
  for (const [what, n, refutes, want] of rows) {
    it(what, () => {
      const a = fresh();
      for (let i = 0; i < 8; i++) a.observeRtt(1);
      for (const r of refutes) a.observeRefutation(r);
      const lanMin = suspicionMinMs(LAN.suspicionMult, n, LAN.probeInterval);
      assert.equal(a.suspicionMin(n, lanMin), want(a.refutationFloor(n), lanMin));
    });
  }
});

describe('the profile', () => {
  it('is lan with adaptive timeouts, k = 1 confirmation and a 2× Lifeguard stretch; lan itself is untouched', () => {
    const ad = resolveConfig('adaptive');
    assert.equal(ad.adaptiveTimeouts, true);
    assert.equal(ad.suspicionMaxTimeoutMult, 2);
    assert.equal(ad.suspicionMult, 3);
    assert.deepEqual({ ...ad, adaptiveTimeouts: false, suspicionMaxTimeoutMult: 6, suspicionMult: 4 }, resolveConfig('lan'));
    assert.equal(resolveConfig('lan').adaptiveTimeouts, false);
    assert.equal(resolveConfig('lan', { adaptiveTimeouts: true }).adaptiveTimeouts, true);
  });
});
