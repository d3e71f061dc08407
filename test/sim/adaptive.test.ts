// The adaptive profile in virtual time at N = 8 (bench/adaptive-sim.ts runs N = 100 and
// 500): it detects a crash in about half lan's time, and it declares no member failed
// that is not, under 10 % loss, a node stalled 800 ms of every second, and both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crashRun, faultRun, median } from '../../bench/lib/adaptive-sim.js';

const N = 8;
const SEEDS = [1, 2, 3, 4, 5];

test(`adaptive detects a crash in well under lan's time (N = ${N}, seeds ${SEEDS.join(',')}, medians)`, { timeout: 120_000 }, async () => {
  const lan: number[] = [];
  const ad: number[] = [];
  for (const seed of SEEDS) {
    lan.push((await crashRun('lan', N, seed)).detectionMs!);
    ad.push((await crashRun('adaptive', N, seed)).detectionMs!);
  }
  const ratio = median(ad)! / median(lan)!;
  console.log(`# every member saw the crash: lan median ${median(lan)} ms [${lan.join(', ')}], adaptive ${median(ad)} ms [${ad.join(', ')}], ratio ${ratio.toFixed(2)}`);
  assert.ok(ad.every((x) => x !== null && x > 0));
  assert.ok(ratio <= 0.5, `adaptive / lan = ${ratio.toFixed(2)}`);
});

for (const f of [
  { name: '10 % loss', loss: 0.1, stallMs: 0, seed: 3 },
  { name: 'a node stalled 800 ms of every second', loss: 0, stallMs: 800, seed: 1 },
  { name: 'both', loss: 0.1, stallMs: 800, seed: 2 },
]) {
  test(`adaptive, 120 s of ${f.name}: no member declared failed, the stalled one included`, { timeout: 120_000 }, async () => {
    const r = await faultRun('adaptive', N, f.seed, f.loss, f.stallMs);
    console.log(`# ${f.name}: healthy failed ${r.healthyFailed} / suspected ${r.healthySuspected}; stalled node failed ${r.slowFailed} / suspected ${r.slowSuspected}`);
    assert.equal(r.healthyFailed, 0);
    assert.equal(r.slowFailed, 0);
    // the fault did bite where there is a slow node: it was suspected, and refuted every time
    if (f.stallMs > 0) assert.ok(r.slowSuspected > 0, 'the stall made the node miss probes');
  });
}
