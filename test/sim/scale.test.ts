// SWIM's promises at scale, measured with the real protocol code in virtual time
// (src/sim/simulate.ts, the engine behind `rxswim simulate`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulate } from '../../src/sim/simulate.js';

const SEED = Number(process.env.RXSWIM_SEED ?? 1);

test(`N = 100: crash detected within the bound; a join reaches everyone in c·ln(N) gossip rounds (seed ${SEED})`, { timeout: 300_000 }, async () => {
  const r = await simulate({ nodes: 100, seed: SEED, profile: 'lan', loss: 0, crash: 1, durationMs: 45_000 });
  console.log(`# detection first ${r.firstDetectionMs} ms, all ${r.fullDetectionMs} ms (bound ${r.detectionBoundMs} ms); join to all in ${r.disseminationRounds} rounds = ${r.disseminationC} × ln N`);
  assert.ok(r.fullDetectionMs !== null && r.fullDetectionMs <= r.detectionBoundMs, `full detection ${r.fullDetectionMs} ms within ${r.detectionBoundMs} ms`);
  // Push gossip with fanout f infects everyone in log_{f+1} N + ln(N)/f + O(1) rounds
  // (Pittel 1987); for GossipNodes f = 3 that is ≈ 1.05 ln N. c = 2 leaves room for
  // the O(1) term and for gossip that rides on probes instead of gossip ticks.
  assert.ok(r.disseminationC !== null && r.disseminationC <= 2, `dissemination took ${r.disseminationC} × ln N rounds, more than 2 × ln N`);
  assert.equal(r.falseFailures, 0);
});

test(`N = 100 at 5 % packet loss with Lifeguard: zero false positives (seed ${SEED})`, { timeout: 300_000 }, async () => {
  const r = await simulate({ nodes: 100, seed: SEED, profile: 'lan', loss: 0.05, crash: 0, durationMs: 60_000 });
  console.log(`# 5 % loss, 60 s: ${r.falseFailures} healthy members failed, ${r.falseSuspicions} suspicions`);
  assert.equal(r.falseFailures, 0, 'no healthy member is declared failed');
});

test('per-member load stays flat from N = 25 to 200', { timeout: 600_000 }, async () => {
  const rates: Record<number, number> = {};
  for (const nodes of [25, 50, 100, 200]) {
    // Measured after the boot's gossip has drained (30 s), over 30 s of steady state.
    const r = await simulate({ nodes, seed: SEED, profile: 'lan', loss: 0, crash: 0, durationMs: 30_000, joinAtMs: 100_000, settleMs: 30_000 });
    rates[nodes] = r.messagesPerNodePerSec;
  }
  const values = Object.values(rates);
  const ratio = Math.max(...values) / Math.min(...values);
  console.log(`# datagrams per node per second: ${JSON.stringify(rates)}; max/min ${ratio.toFixed(2)}`);
  // One probe (ping + ack) per member per second whatever N is; push-pull is TCP.
  // The 15 % band allows for gossip of the few changes that still happen.
  assert.ok(ratio <= 1.15, `per-node message rate varies by ${ratio.toFixed(2)}× between N = 25 and 200`);
});
