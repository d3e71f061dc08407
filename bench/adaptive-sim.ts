// The adaptive profile beside lan in the simulator, at N = 8, 100 and 500 (see
// lib/adaptive-sim.ts for what is measured).
// node --import tsx bench/adaptive-sim.ts [--sizes 8,100,500] [--seeds 5] [--fault-seconds 120]
//   → bench/results/adaptive-sim.{json,md}. In-memory only; measures, asserts nothing.
import { runStandalone } from './lib/standalone.js';
import { crashRun, faultRun, median, type CrashRun, type FaultRun } from './lib/adaptive-sim.js';
import { commandLine, num, nums } from './lib/argv.js';

const SIZES = nums('--sizes', [8, 100, 500]);
const SEEDS = num('--seeds', 5);
const FAULT_MS = num('--fault-seconds', 120) * 1000;
const PROFILES = ['lan', 'adaptive'] as const;
const FAULTS = [
  { name: '10 % loss', loss: 0.1, stallMs: 0 },
  { name: 'slow node (800 ms of each s)', loss: 0, stallMs: 800 },
  { name: 'slow node + 10 % loss', loss: 0.1, stallMs: 800 },
];

interface Result {
  durationS: number;
  crashes: CrashRun[];
  faults: FaultRun[];
}

await runStandalone<Result>({
  title: 'The adaptive profile beside lan, in the simulator',
  command: commandLine('adaptive-sim'),
  stem: 'adaptive-sim',
  softMs: 50 * 60_000,
  hardMs: 60 * 60_000,
  async measure(log, deadlineAt) {
    const t0 = Date.now();
    const crashes: CrashRun[] = [];
    const faults: FaultRun[] = [];
    for (const n of SIZES) {
      // fewer seeds at 500: each run boots 500 nodes
      const seeds = n >= 500 ? Math.min(SEEDS, 3) : SEEDS;
      for (let seed = 1; seed <= seeds; seed++) {
        for (const p of PROFILES) {
          if (Date.now() > deadlineAt) break;
          const r = await crashRun(p, n, seed);
          crashes.push(r);
          log(`crash n=${n} seed=${seed} ${p}: every member saw it in ${r.detectionMs} ms`);
        }
      }
      for (const f of FAULTS) {
        for (const p of PROFILES) {
          if (Date.now() > deadlineAt) break;
          const r = await faultRun(p, n, 1, f.loss, f.stallMs, FAULT_MS);
          faults.push(r);
          log(`${f.name} n=${n} ${p}: healthy failed ${r.healthyFailed} (suspected ${r.healthySuspected}), slow node failed ${r.slowFailed} (suspected ${r.slowSuspected})`);
        }
      }
    }
    return { durationS: Math.round((Date.now() - t0) / 1000), crashes, faults };
  },
  render(r) {
    const out: string[] = [];
    out.push('## Crash detection: one member killed after a 30 s settle, until every member lists it dead (protocol time)', '');
    out.push('| N | seeds | lan median ms | adaptive median ms | adaptive / lan | lan worst | adaptive worst |', '|---|---|---|---|---|---|---|');
    for (const n of SIZES) {
      const of = (p: string) => r.crashes.filter((c) => c.n === n && c.profile === p && c.detectionMs !== null).map((c) => c.detectionMs!);
      const lan = of('lan');
      const ad = of('adaptive');
      if (lan.length === 0) continue;
      const ml = median(lan)!;
      const ma = median(ad);
      out.push(`| ${n} | ${lan.length} | ${ml} | ${ma ?? '–'} | ${ma === null ? '–' : (ma / ml).toFixed(2)} | ${Math.max(...lan)} | ${ad.length ? Math.max(...ad) : '–'} |`);
    }
    out.push('', `## False failures over ${FAULT_MS / 1000} s (seed 1): members declared failed that were not`, '');
    out.push('Healthy = any member but the slow node (node-0), seen by any observer but node-0. The slow node is up: it answers, late; a detector that declares it failed flaps it.', '');
    out.push('| N | fault | profile | healthy failed | healthy suspected | slow node failed | slow node suspected |', '|---|---|---|---|---|---|---|');
    for (const f of r.faults) {
      const name = FAULTS.find((x) => x.loss === f.loss && x.stallMs === f.stallMs)?.name ?? '?';
      out.push(`| ${f.n} | ${name} | ${f.profile} | ${f.healthyFailed} | ${f.healthySuspected} | ${f.slowFailed} | ${f.slowSuspected} |`);
    }
    return out.join('\n') + '\n';
  },
});
