// Lone agents measured from outside, rxswim beside Serf in the same run, and the floor
// an rxswim agent's memory is compared with: an empty Node process with rxswim's runtime
// dependencies imported.
//   - start-up CPU: utime+stime of the agent from its spawn until its API first answers
//     (rxswim: GET /v1/self; serf: `serf members`), and the same from the threads'
//     schedstat (nanoseconds; a clock tick is 10 ms, more than serf spends);
//   - idle: CPU % over a window after a settle, RSS at its end, then event-loop wakeups.
// Every process started here is killed by PID when the section ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { agentCli } from './cluster.js';
import { httpJson } from './http.js';
import { CLK_TCK, cpuMsPrecise, cpuTicks, rssMB } from './procstat.js';
import { medianOf, round, sleep } from './stats.js';
import { epollPerSecond, runBounded } from './wakeups.js';

export type LoneKind = 'rxswim' | 'serf' | 'floor';

/**
 * What the floor imports: the runtime dependencies an agent loads (package.json's
 * dependencies less the ones only the inspector, the TUI, `simulate` or config files load).
 */
export const FLOOR_DEPS = ['rxjs', 'xstate', 'prom-client', 'dgram-as-promised', 'pino', 'zod', 'commander', 'sorted-btree'];
const FLOOR_SCRIPT = `for (const m of ${JSON.stringify(FLOOR_DEPS)}) await import(m); setInterval(() => {}, 1 << 30);`;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StartSample {
  impl: 'rxswim' | 'serf';
  /** utime+stime (all threads, exited ones included) when the API first answered; 10 ms resolution */
  cpuMs: number | null;
  /** sum of the live threads' schedstat run time at the same moment */
  schedCpuMs: number | null;
  /** wall ms from the spawn to the first answer (polled every 25 ms) */
  wallMs: number | null;
}

export interface LoneSample {
  kind: LoneKind;
  ip: string;
  cpuPct: number | null;
  rssMB: number | null;
  epollPerSec: number | null;
}

export interface LoneResults {
  startReps: number;
  starts: StartSample[];
  settleS: number;
  windowS: number;
  epollS: number;
  floorDeps: string[];
  samples: LoneSample[];
  /** medians over the samples of each kind */
  median: Record<LoneKind, { cpuPct: number | null; rssMB: number | null; epollPerSec: number | null }>;
  startMedian: Record<'rxswim' | 'serf', { cpuMs: number | null; schedCpuMs: number | null; wallMs: number | null }>;
}


const live = new Set<ChildProcess>();

/** SIGKILL every lone process still running */
export function killLone(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  live.clear();
}

function spawnLone(kind: LoneKind, ip: string): ChildProcess {
  const [cmd, args] =
    kind === 'serf'
      ? ['serf', ['agent', `-node=serf-${ip}`, `-bind=${ip}:7946`, `-rpc-addr=${ip}:7373`, '-log-level=err']]
      : kind === 'rxswim'
        ? [process.execPath, [agentCli(), 'agent', '--node', `rx-${ip}`, '--bind', `${ip}:7946`, '--http', `${ip}:8946`, '--log-level', 'warn']]
        : [process.execPath, ['--input-type=module', '-e', FLOOR_SCRIPT]];
  const c = spawn(cmd as string, args as string[], { stdio: 'ignore', cwd: ROOT });
  live.add(c);
  return c;
}

async function answers(kind: 'rxswim' | 'serf', ip: string): Promise<boolean> {
  if (kind === 'rxswim') {
    try {
      await httpJson('GET', `${ip}:8946`, '/v1/self', undefined, 1000);
      return true;
    } catch {
      return false;
    }
  }
  return (await runBounded('serf', ['members', `-rpc-addr=${ip}:7373`], 2000)).code === 0;
}

/** spawns an agent and polls its API every 25 ms until it answers (at most `timeoutMs`) */
async function startOne(kind: 'rxswim' | 'serf', ip: string, timeoutMs: number): Promise<{ child: ChildProcess; sample: StartSample }> {
  const t0 = performance.now();
  const child = spawnLone(kind, ip);
  const sample: StartSample = { impl: kind, cpuMs: null, schedCpuMs: null, wallMs: null };
  while (performance.now() - t0 < timeoutMs && child.exitCode === null) {
    if (await answers(kind, ip)) {
      const ticks = cpuTicks(child.pid!);
      sample.schedCpuMs = round(cpuMsPrecise(child.pid!), 1);
      sample.cpuMs = ticks === undefined ? null : (ticks * 1000) / CLK_TCK;
      sample.wallMs = Math.round(performance.now() - t0);
      break;
    }
    await sleep(25);
  }
  return { child, sample };
}

function stop(c: ChildProcess): void {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  live.delete(c);
}

/**
 * `startReps` starts of each implementation, one at a time, alternating; the first
 * `lone` of each stay up as idle agents, beside `lone` floor processes. `during` runs while
 * they settle (after the starts, so that it does not disturb them). Then a `windowS`
 * window on a 10 s wall-clock boundary at least `settleS` after the last start: CPU %,
 * RSS at its end; then `epollS` seconds of strace on every one of them at once.
 * IPs: `${ipBase}.1` up.
 */
export async function measureLone(opts: {
  startReps: number;
  lone: number;
  settleS: number;
  windowS: number;
  epollS: number;
  ipBase: string;
  log: (s: string) => void;
  during?: () => Promise<void>;
  aborted: () => boolean;
}): Promise<LoneResults> {
  const kept: Array<{ kind: LoneKind; ip: string; child: ChildProcess }> = [];
  const starts: StartSample[] = [];
  let ipNext = 1;
  try {
    for (let rep = 0; rep < opts.startReps && !opts.aborted(); rep++) {
      for (const kind of ['rxswim', 'serf'] as const) {
        const ip = `${opts.ipBase}.${ipNext++}`;
        const { child, sample } = await startOne(kind, ip, 30_000);
        starts.push(sample);
        if (rep < opts.lone && sample.cpuMs !== null) kept.push({ kind, ip, child });
        else stop(child);
      }
    }
    for (let i = 0; i < opts.lone; i++) {
      const ip = `${opts.ipBase}.${ipNext++}`;
      kept.push({ kind: 'floor', ip, child: spawnLone('floor', ip) });
    }
    const rx = starts.filter((s) => s.impl === 'rxswim');
    const sf = starts.filter((s) => s.impl === 'serf');
    opts.log(`start-up CPU (median of ${rx.length}): rxswim ${medianOf(rx.map((s) => s.cpuMs))} ms (schedstat ${medianOf(rx.map((s) => s.schedCpuMs))}), serf ${medianOf(sf.map((s) => s.cpuMs))} ms (schedstat ${medianOf(sf.map((s) => s.schedCpuMs))})`);
    const settledAt = Date.now() + opts.settleS * 1000;
    if (opts.during) await opts.during();
    await sleep(settledAt - Date.now());
    const boundary = Math.ceil((Date.now() + 500) / 10_000) * 10_000;
    await sleep(boundary - Date.now());
    const t0 = performance.now();
    const ticks0 = kept.map((k) => cpuMsPrecise(k.child.pid!));
    await sleep(boundary + opts.windowS * 1000 - Date.now());
    const ticks1 = kept.map((k) => cpuMsPrecise(k.child.pid!));
    const secs = (performance.now() - t0) / 1000;
    const rss = kept.map((k) => rssMB(k.child.pid!));
    const epoll = await Promise.all(kept.map((k) => epollPerSecond(k.child.pid!, opts.epollS)));
    const samples: LoneSample[] = kept.map((k, i) => {
      const a = ticks0[i];
      const b = ticks1[i];
      return {
        kind: k.kind,
        ip: k.ip,
        cpuPct: a === undefined || b === undefined ? null : round(((b - a) / 1000 / secs) * 100, 3),
        rssMB: round(rss[i], 1),
        epollPerSec: epoll[i] ?? null,
      };
    });
    const med = (kind: LoneKind) => {
      const xs = samples.filter((s) => s.kind === kind);
      return { cpuPct: round(medianOf(xs.map((s) => s.cpuPct)), 2), rssMB: round(medianOf(xs.map((s) => s.rssMB)), 1), epollPerSec: round(medianOf(xs.map((s) => s.epollPerSec)), 1) };
    };
    const smed = (xs: StartSample[]) => ({ cpuMs: medianOf(xs.map((s) => s.cpuMs)), schedCpuMs: round(medianOf(xs.map((s) => s.schedCpuMs)), 1), wallMs: medianOf(xs.map((s) => s.wallMs)) });
    return {
      startReps: opts.startReps,
      starts,
      settleS: opts.settleS,
      windowS: round(secs, 1)!,
      epollS: opts.epollS,
      floorDeps: FLOOR_DEPS,
      samples,
      median: { rxswim: med('rxswim'), serf: med('serf'), floor: med('floor') },
      startMedian: { rxswim: smed(rx), serf: smed(sf) },
    };
  } finally {
    for (const k of kept) stop(k.child);
    killLone();
  }
}
