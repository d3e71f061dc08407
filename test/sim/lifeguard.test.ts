// Lifeguard on and off, same seed, same scenario: one node's event loop is blocked
// for 3 s out of every 4 s for two minutes (inbound packets wait in its socket, its
// timers fire late). Without Lifeguard the slow node keeps accusing healthy members
// and, sooner or later, gets one declared failed; with it, its health score rises,
// it probes less, it waits out the longest suspicion timeout, and no healthy member
// is ever declared failed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

const SEED = Number(process.env.RXSWIM_SEED ?? 1);
/** Lifeguard off: no health multiplier, suspicion timeout fixed at its minimum */
const OFF = { awarenessMaxMultiplier: 1, suspicionMaxTimeoutMult: 1 };

async function slowNodeRun(lifeguard: boolean) {
  const c = new VirtualCluster({ size: 8, seed: SEED, config: lifeguard ? {} : OFF });
  await c.boot();
  const t0 = c.now;
  let maxScore = 0;
  for (let t = 0; t < 120_000; t += 4_000) {
    c.block(0, 3_000);
    await c.advance(4_000);
    maxScore = Math.max(maxScore, c.nodes.get('node-0')!.healthScore);
  }
  const healthy = c.events.filter((e) => e.at > t0 && e.member.name !== 'node-0' && e.observer !== 'node-0');
  const result = {
    failed: healthy.filter((e) => e.type === 'failed').map((e) => `${e.observer} saw ${e.member.name} failed at ${e.at}`),
    suspected: healthy.filter((e) => e.type === 'suspected').length,
    maxScore,
  };
  await c.stopAll();
  return result;
}

test(`a slowed node does not get healthy members declared failed with Lifeguard; without it, it does (seed ${SEED})`, { timeout: 120_000 }, async () => {
  const on = await slowNodeRun(true);
  const off = await slowNodeRun(false);
  console.log(`# healthy members: Lifeguard on ${on.failed.length} failed / ${on.suspected} suspected; off ${off.failed.length} failed / ${off.suspected} suspected; slow node's health score peaked at ${on.maxScore}`);
  assert.deepEqual(on.failed, [], 'with Lifeguard no healthy member is declared failed');
  assert.ok(off.failed.length >= 1, 'without Lifeguard the same scenario declares a healthy member failed');
  assert.ok(off.suspected >= 5 * Math.max(1, on.suspected), 'without Lifeguard healthy members are suspected far more often');
  assert.ok(on.maxScore >= 2, "the slow node's local health score rises");
});
