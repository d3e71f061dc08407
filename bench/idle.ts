// A lone idle agent, rxswim beside Serf in the same run, measured from outside: start-up
// CPU until it answers, CPU % over a window, event-loop wakeups (epoll_pwait per second
// over all threads, `strace -f -c`), RSS; and the floor: an empty Node process with
// rxswim's runtime dependencies loaded. The same measurement is section 0 of
// `npm run bench` (bench/run.ts); this runs it alone (lib/lone.ts).
// node --import tsx bench/idle.ts [windowS] [settleS]   → bench/results/idle.{json,md}   (needs dist/, serf, strace)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtCli, dropCliSnapshot, snapshotCli } from './lib/cluster.js';
import { closeHttp } from './lib/http.js';
import { killLone, measureLone, type LoneKind } from './lib/lone.js';
import { ratio } from './lib/stats.js';
import { killHelpers } from './lib/wakeups.js';

const WINDOW_S = Number(process.argv[2] ?? 30);
const SETTLE_S = Number(process.argv[3] ?? 60);
const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

const stopAll = () => {
  killLone();
  killHelpers();
  dropCliSnapshot();
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    stopAll();
    process.exit(130);
  });
}
// bounded: the starts, the settle, the window and strace take about settle + window + 30 s
const hard = setTimeout(() => {
  log('deadline: killing every process');
  stopAll();
  process.exit(1);
}, (SETTLE_S + WINDOW_S + 180) * 1000);

try {
  if (!builtCli()) throw new Error('dist/cli/main.js is missing: npm run build');
  snapshotCli();
  const r = await measureLone({ startReps: 5, lone: 3, settleS: SETTLE_S, windowS: WINDOW_S, epollS: 10, ipBase: '127.0.95', log, aborted: () => false });
  const m = r.median;
  const row = (label: string, k: 'cpuPct' | 'epollPerSec' | 'rssMB') => {
    const v = (kind: LoneKind) => m[kind][k] ?? '–';
    return `| ${label} | ${v('rxswim')} | ${v('serf')} | ${ratio(m.rxswim[k], m.serf[k]) ?? '–'}× | ${v('floor')} | ${ratio(m.rxswim[k], m.floor[k]) ?? '–'}× |`;
  };
  const sm = r.startMedian;
  const md = [
    '# A lone idle agent: rxswim beside Serf, measured from outside',
    '',
    `\`node --import tsx bench/idle.ts ${WINDOW_S} ${SETTLE_S}\`, ${new Date().toISOString()}: ${r.startReps} starts of each (start-up CPU until the API answers: rxswim GET /v1/self, serf \`serf members\`; utime+stime, and schedstat), then 3 of each idle beside 3 empty-Node floors (${r.floorDeps.join(', ')} imported); after ${r.settleS} s of settling a ${r.windowS} s window: CPU % (100 % = one core), RSS at its end; then wakeups = epoll_pwait + epoll_wait per second over all threads (\`strace -f -c\`, ${r.epollS} s). Medians. The same as section 0 of \`npm run bench\`.`,
    '',
    '| figure | rxswim | serf | rxswim / serf | empty-Node floor | rxswim / floor |',
    '|---|---:|---:|---:|---:|---:|',
    `| start-up CPU ms (utime+stime) | ${sm.rxswim.cpuMs ?? '–'} | ${sm.serf.cpuMs ?? '–'} | ${ratio(sm.rxswim.cpuMs, sm.serf.cpuMs) ?? '–'}× | | |`,
    `| start-up CPU ms (schedstat) | ${sm.rxswim.schedCpuMs ?? '–'} | ${sm.serf.schedCpuMs ?? '–'} | ${ratio(sm.rxswim.schedCpuMs, sm.serf.schedCpuMs) ?? '–'}× | | |`,
    row('idle CPU %', 'cpuPct'),
    row('wakeups / s', 'epollPerSec'),
    row('RSS MB', 'rssMB'),
    '',
  ].join('\n');
  writeFileSync(fileURLToPath(new URL('./results/idle.json', import.meta.url)), JSON.stringify({ at: new Date().toISOString(), ...r }, null, 2) + '\n');
  writeFileSync(fileURLToPath(new URL('./results/idle.md', import.meta.url)), md);
  console.log(md);
} finally {
  clearTimeout(hard);
  stopAll();
  closeHttp();
}
