// A lone idle agent, rxswim beside Serf in the same run, measured from outside: start-up
// CPU until it answers, CPU % over a window, event-loop wakeups (epoll_pwait per second
// over all threads, `strace -f -c`), RSS; and the floor: an empty Node process with
// rxswim's runtime dependencies loaded.
// node --import tsx bench/idle.ts [windowS]   → bench/results/idle.{json,md}   (needs dist/, serf, strace)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLK_TCK, cpuTicks, rssMB } from './lib/procstat.js';
import { median, round, sleep } from './lib/stats.js';

const WINDOW_S = Number(process.argv[2] ?? 20);
const REPS = 3;
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Sample { startCpuMs: number | null; cpuPct: number; epollPerS: number | null; rssMB: number }

function answered(impl: string, ip: string): boolean {
  const r = impl === 'serf'
    ? spawnSync('serf', ['members', `-rpc-addr=${ip}:7373`], { timeout: 2000 })
    : spawnSync('curl', ['-sf', '-o', '/dev/null', `http://${ip}:8946/v1/self`], { timeout: 2000 });
  return r.status === 0;
}

function start(impl: string, ip: string): ChildProcess {
  const args = impl === 'serf'
    ? ['serf', ['agent', `-node=${impl}-${ip}`, `-bind=${ip}:7946`, `-rpc-addr=${ip}:7373`, '-log-level=err']]
    : impl === 'rxswim'
      ? ['node', [CLI, 'agent', '--node', `rx-${ip}`, '--bind', `${ip}:7946`, '--http', `${ip}:8946`, '--log-level', 'warn']]
      : ['node', ['--input-type=module', '-e', "for (const m of ['rxjs','xstate','prom-client','dgram-as-promised','pino','zod','commander','sorted-btree']) await import(m); setInterval(() => {}, 1 << 30);"]];
  return spawn(args[0] as string, args[1] as string[], { stdio: 'ignore', cwd: ROOT });
}

function epollPerSecond(pid: number, seconds: number): number | null {
  const r = spawnSync('timeout', ['-s', 'INT', String(seconds), 'strace', '-f', '-c', '-e', 'trace=epoll_pwait,epoll_wait', '-p', String(pid)], { encoding: 'utf8' });
  // strace -c columns: % time, seconds, usecs/call, calls, [errors], syscall
  const line = r.stderr.split('\n').find((l) => /\bepoll_p?wait$/.test(l.trim()));
  const calls = line ? Number(line.trim().split(/\s+/)[3]) : NaN;
  return Number.isFinite(calls) ? round(calls / seconds, 1)! : null;
}

async function sample(impl: string, ip: string): Promise<Sample> {
  const p = start(impl, ip);
  try {
    let startCpuMs: number | null = null;
    for (let i = 0; i < 400; i++) {
      if (impl === 'floor' ? i > 40 : answered(impl, ip)) {
        startCpuMs = impl === 'floor' ? null : (cpuTicks(p.pid!)! * 1000) / CLK_TCK;
        break;
      }
      await sleep(25);
    }
    await sleep(2000);
    const t0 = cpuTicks(p.pid!)!;
    await sleep(WINDOW_S * 1000);
    const cpuPct = (((cpuTicks(p.pid!)! - t0) / CLK_TCK) / WINDOW_S) * 100;
    const epollPerS = epollPerSecond(p.pid!, 10);
    return { startCpuMs, cpuPct: round(cpuPct, 2)!, epollPerS, rssMB: round(rssMB(p.pid!)!, 1)! };
  } finally {
    p.kill('SIGKILL');
  }
}

const out: Record<string, Sample[]> = { rxswim: [], serf: [], floor: [] };
for (let rep = 0; rep < REPS; rep++) {
  for (const [i, impl] of ['rxswim', 'serf', 'floor'].entries()) {
    const s = await sample(impl, `127.0.95.${10 * rep + i + 1}`);
    out[impl]!.push(s);
    console.log(impl, rep + 1, JSON.stringify(s));
  }
}
const med = (impl: string, k: keyof Sample) => median(out[impl]!.map((s) => s[k]).filter((x): x is number => x !== null));
const rows = (['startCpuMs', 'cpuPct', 'epollPerS', 'rssMB'] as const).map((k) => {
  const rx = med('rxswim', k), serf = med('serf', k), floor = med('floor', k);
  const ratio = serf > 0 ? `${round(rx / serf, 2)}×` : '–';
  return `| ${k} | ${rx} | ${k === 'startCpuMs' && serf === 0 ? '< 10 (one clock tick)' : serf} | ${ratio} | ${k === 'rssMB' ? `${floor} (rxswim / floor ${round(rx / floor, 2)}×)` : k === 'cpuPct' ? floor : '–'} |`;
});
const md = [
  '# A lone idle agent: rxswim beside Serf, measured from outside',
  '',
  `\`node --import tsx bench/idle.ts ${WINDOW_S}\`, ${new Date().toISOString()}: ${REPS} repetitions, medians. CPU % over ${WINDOW_S} s from /proc (100 % = one core); wakeups = epoll_pwait per second over all threads (\`strace -f -c\`, 10 s); start-up CPU until the API answers (rxswim: GET /v1/self; serf: \`serf members\`). Floor: an empty Node 20 with rxswim's runtime dependencies imported.`,
  '',
  '| figure | rxswim | serf | rxswim / serf | empty Node floor |',
  '|---|---:|---:|---:|---:|',
  ...rows,
  '',
].join('\n');
writeFileSync(fileURLToPath(new URL('./results/idle.json', import.meta.url)), JSON.stringify({ at: new Date().toISOString(), windowS: WINDOW_S, samples: out }, null, 2) + '\n');
writeFileSync(fileURLToPath(new URL('./results/idle.md', import.meta.url)), md);
console.log(md);
