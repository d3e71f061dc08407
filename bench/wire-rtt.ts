// Ping→ack RTT on the wire at SWIM's real rate: N = 8 rxswim agents, then 8 serf agents,
// then a bare Node UDP echo, each captured by tcpdump on lo (see lib/wire-rtt.ts).
// node --import tsx bench/wire-rtt.ts [--seconds 35] [--reps 3] [--n 8]
//   → bench/results/wire-rtt.{json,md}   (needs root for tcpdump, serf on the PATH, dist/ built)
// Uses 127.0.110.0/24 only. Measures only: nothing is asserted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closeHttp } from './lib/http.js';
import { describeMachine } from './lib/machine.js';
import { killLive, measureWireRtt, renderWireRtt } from './lib/wire-rtt.js';

const argv = process.argv.slice(2);
const arg = (flag: string, dflt: number): number => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
// 3 reps × 3 phases × (35 s capture + ~10 s start, join, settle, teardown) ≈ 7 min
const SECONDS = arg('--seconds', 35);
const REPS = arg('--reps', 3);
const N = arg('--n', 8);
const OUT = fileURLToPath(new URL('./results/', import.meta.url));

const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

// No phase starts after the soft deadline; the hard one kills whatever is still running.
const SOFT_MS = 7.5 * 60_000;
const HARD_MS = 8.5 * 60_000;
const hard = setTimeout(() => {
  log('hard deadline: killing every process this bench started');
  void killLive().finally(() => process.exit(1));
}, HARD_MS);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: killing every process this bench started`);
    void killLive().finally(() => process.exit(130));
  });
}

try {
  const r = await measureWireRtt({ n: N, seconds: SECONDS, reps: REPS, ipBase: '127.0.110', log, deadlineAt: t0 + SOFT_MS });
  const machine = describeMachine();
  const md = [
    '# Wire ping→ack RTT: rxswim beside Serf and a bare Node echo',
    '',
    `\`node --import tsx bench/wire-rtt.ts\`. Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.kernel}; Node ${machine.node}; serf ${machine.serf}; ${machine.date}${machine.commit ? `; rxswim at ${machine.commit}` : ''}. Run took ${r.durationS} s. The machine is small and shared with other work (load averages below): read single figures as ±10–20 %.`,
    '',
    renderWireRtt(r),
  ].join('\n');
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}wire-rtt.json`, JSON.stringify({ machine, ...r }, null, 2) + '\n');
  writeFileSync(`${OUT}wire-rtt.md`, md);
  process.stdout.write(md);
} finally {
  clearTimeout(hard);
  closeHttp();
  await killLive();
}
