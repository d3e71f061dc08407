// One push-pull join carrying 10,000 members into a lone agent, rxswim beside Serf
// (see lib/big-join.ts).
// node --import tsx bench/big-join.ts [--members 10000] [--reps 3] [--vsn 1,5,2,2,5,4]
//   → bench/results/big-join.{json,md}   (needs serf on the PATH, dist/ built)
// Uses 127.0.111.0/24 for the agents and the joiner, 127.0.112-119.x for the fake
// members (nothing listens there). Measures only: nothing is asserted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measureBigJoin, renderBigJoin } from './lib/big-join.js';
import { closeHttp } from './lib/http.js';
import { describeMachine } from './lib/machine.js';
import { killLive } from './lib/wire-rtt.js';

const argv = process.argv.slice(2);
const arg = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
const MEMBERS = Number(arg('--members') ?? 10_000);
const REPS = Number(arg('--reps') ?? 3);
const VSN = arg('--vsn')?.split(',').map(Number);
// a trial with another vsn writes next to the committed results, not over them
const STEM = arg('--out') ?? 'big-join';
const OUT = fileURLToPath(new URL('./results/', import.meta.url));

const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

// No repetition starts after the soft deadline; the hard one kills whatever still runs.
const SOFT_MS = 7 * 60_000;
const HARD_MS = 8 * 60_000;
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
  const r = await measureBigJoin({ members: MEMBERS, reps: REPS, ipBase: '127.0.111', log, deadlineAt: t0 + SOFT_MS, ...(VSN ? { vsn: VSN } : {}) });
  const machine = describeMachine();
  const md = [
    '# A big join: rxswim beside Serf',
    '',
    `\`node --import tsx bench/big-join.ts${argv.length ? ` ${argv.join(' ')}` : ''}\`. Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.kernel}; Node ${machine.node}; serf ${machine.serf}; ${machine.date}${machine.commit ? `; rxswim at ${machine.commit}` : ''}. Run took ${r.durationS} s. The machine is small and shared with other work (load averages below): read single figures as ±10–20 %.`,
    '',
    renderBigJoin(r),
  ].join('\n');
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}${STEM}.json`, JSON.stringify({ machine, ...r }, null, 2) + '\n');
  writeFileSync(`${OUT}${STEM}.md`, md);
  process.stdout.write(md);
} finally {
  clearTimeout(hard);
  closeHttp();
  await killLive();
}
