// The churn soak (not in CI; test/e2e/soak.test.ts runs 2 minutes of it):
//   node --import tsx bench/soak.ts [--minutes 30] [--agents 10] [--max-agents 12] [--serf 0]
//     [--anchors 2] [--every 5] [--seed N] [--profile lan] [--warmup 3] [--deadline MIN] [--net 127.0.113] [--first 1]
// Writes bench/results/soak-<date>.{json,md} and bench/results/soak-latest.md; exits 1 when a
// check failed (lib/soak-report.ts soakVerdict), 130 on a signal. Every process
// it starts is killed by PID at the end, on an error, on SIGINT/SIGTERM and at the hard
// deadline (the run's minutes + 5 by default), after which what was measured is written.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROFILES, type Profile } from '../src/config.js';
import { dropCliSnapshot, snapshotCli } from './lib/cluster.js';
import { closeHttp } from './lib/http.js';
import { describeMachine } from './lib/machine.js';
import { renderSoak, soakVerdict } from './lib/soak-report.js';
import { Soak, type SoakOptions, type SoakResult } from './lib/soak.js';
import { arg, commandLine, num } from './lib/argv.js';

const profile = (arg('--profile') ?? 'lan') as Profile;
if (!PROFILES.includes(profile)) throw new Error(`--profile must be one of ${PROFILES.join(', ')}`);
const agents = num('--agents', 10);
const opts: SoakOptions = {
  minutes: num('--minutes', 30),
  agents,
  maxAgents: num('--max-agents', agents + 2),
  serf: num('--serf', 0),
  anchors: num('--anchors', 2),
  everyS: num('--every', 5),
  seed: num('--seed', Date.now() % 1_000_000),
  profile,
  rxNet: arg('--net') ?? '127.0.113',
  rxFirst: num('--first', 1),
  serfNet: arg('--net') ?? '127.0.113',
  pollMs: 1000,
  sampleMs: num('--sample', 10) * 1000,
  warmupMin: num('--warmup', 3),
  trendKBPerMin: num('--trend', 16),
};
const deadlineMin = num('--deadline', opts.minutes + 5);

const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${s}\n`);
const OUT = fileURLToPath(new URL('./results/', import.meta.url));
const cli = snapshotCli();
const soak = new Soak(opts, log);
let written = false;

function write(r: SoakResult): void {
  if (written) return;
  written = true;
  const machine = describeMachine();
  // to the second: two soaks started in the same minute (on two /24s) must not overwrite each other
  const stamp = new Date(t0).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  const command = commandLine('soak');
  const md = [
    `# Churn soak, ${opts.minutes} min`,
    '',
    `\`${command}\`. Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.kernel}; Node ${machine.node}; serf ${machine.serf}; ${machine.date}${machine.commit ? `; rxswim at ${machine.commit}` : ''}; agents' CLI built ${cli.builtAt}. Run took ${r.durationS} s. The machine is small and shared with other work.`,
    '',
    renderSoak(r),
  ].join('\n');
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}soak-${stamp}.json`, JSON.stringify({ machine, command, cliBuiltAt: cli.builtAt, ...r }, null, 2) + '\n');
  writeFileSync(`${OUT}soak-${stamp}.md`, md);
  writeFileSync(`${OUT}soak-latest.md`, md);
  log(`wrote bench/results/soak-${stamp}.{json,md} and soak-latest.md`);
}

async function finish(code: number): Promise<never> {
  await soak.close();
  closeHttp();
  dropCliSnapshot();
  process.exit(code);
}

process.on('exit', () => soak.fleet.killAllSync());
const hard = setTimeout(() => {
  log(`hard deadline (${deadlineMin} min): stopping`);
  soak.abort(`hard deadline of ${deadlineMin} min`);
  // the loops end within a polling round; if they do not, everything is killed anyway
  setTimeout(() => void finish(1), 15_000).unref();
}, deadlineMin * 60_000);
hard.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping; every process this soak started is killed`);
    soak.abort(sig);
    setTimeout(() => void finish(130), 15_000).unref();
  });
}

try {
  log(`soak: ${JSON.stringify(opts)}`);
  const r = await soak.run();
  clearTimeout(hard);
  write(r);
  const v = soakVerdict(r);
  log(v.ok ? 'all checks passed' : `checks failed: ${v.reasons.join('; ')}`);
  await finish(r.aborted === 'SIGINT' || r.aborted === 'SIGTERM' ? 130 : v.ok ? 0 : 1);
} catch (e) {
  log(`error: ${e instanceof Error ? e.stack : String(e)}`);
  await finish(1);
}
