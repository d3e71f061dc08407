// rxswim benchmarks against HashiCorp Serf (and the npm `swim` package when installed):
//   0. lone agents: start-up CPU, idle CPU, wakeups, RSS; the empty-Node floor
//   1. loopback ping→ack RTT            3. steady-state cost per agent (idle CPU, wakeups, RSS)
//   2. join convergence (concurrent and serial), failure detection  4. simulator speed
//   5. wire RTT and 6. a big join, from lib/wire-rtt.ts and lib/big-join.ts when present
//   7. join and leave phases (lib/phases.ts): missed joins and leaves, leaves listed as failed
// node --import tsx bench/run.ts [--quick] [--sim-big]   (see bench/README.md)
// Writes bench/results/{latest,quick|full}.{json,md}, a summary against the issue's goals
// at the top. Measures only: no figure here is asserted. Every process is killed by PID
// when its phase ends.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { hasSerf } from '../test/helpers/procs.js';
import { PRESETS } from '../src/config.js';
import { detectionBoundMs } from '../src/swim/formulas.js';
import { agentCli, builtCli, Cluster, dropCliSnapshot, IpPool, PORT, snapshotCli, swimInstalled, type Agent, type Impl, type View } from './lib/cluster.js';
import { closeHttp } from './lib/http.js';
import { killLone, measureLone, type LoneResults } from './lib/lone.js';
import { describeMachine } from './lib/machine.js';
import { CLK_TCK, cpuTicks } from './lib/procstat.js';
import { autoNotes } from './lib/notes.js';
import { renderMarkdown } from './lib/report.js';
import { pingRtt, summarize, type RttSummary } from './lib/rtt.js';
import { sampleSteady, type Steady } from './lib/steady.js';
import { median, medianOf, ratio, round, sleep } from './lib/stats.js';
import { goalRows, type GoalRow } from './lib/summary.js';
import { measureBigJoin, renderBigJoin, type BigJoinResult } from './lib/big-join.js';
import { killLive as killWireRttProcs, measureWireRtt, renderWireRtt, type WireRttResult } from './lib/wire-rtt.js';
import { killHelpers, runBounded } from './lib/wakeups.js';
import { killPhases, measurePhases, renderPhases, type PhasesResult } from './lib/phases.js';
import { arg, has, num, nums } from './lib/argv.js';

const QUICK = has('--quick');
/** also simulate 2000 nodes × 120 s (may take over 10 minutes) */
const SIM_BIG = has('--sim-big');
// `--flag value` overrides are for trying parts of the bench; the committed results use the plain modes.
const OUT = fileURLToPath(new URL('./results/', import.meta.url));

export interface Plan {
  mode: 'quick' | 'full';
  rttRounds: number;
  rttPings: number;
  rttIntervalMs: number;
  rttWarmup: number;
  sizes: number[];
  reps: Record<number, number>;
  steadySizes: number[];
  /** sizes at which the swim-js peer (when installed) runs too */
  swimSizes: number[];
  steadyWindowS: number;
  /** after convergence, before the steady-state window (≥ 60 s: a Node agent's CPU falls for a minute or two as its JIT warms up) */
  settleS: number;
  /** seconds of strace for the wakeups, after each CPU window */
  epollS: number;
  /** starts of each implementation for the start-up CPU (the first `loneAgents` stay up as lone idle agents) */
  startReps: number;
  loneAgents: number;
  /** sizes at which 63 (N − 1) agents also join one seed one after another */
  serialSizes: number[];
  /** failure detection (the kill) at these sizes only */
  detectSizes: number[];
  sims: Array<{ nodes: number; durationMs: number; /** wall-clock cap per run, then the simulator is killed */ capS: number; /** runs, one after another (the summary takes their median) */ reps: number }>;
  wireRtt: { n: number; seconds: number; reps: number } | null;
  bigJoin: { members: number; reps: number } | null;
  /** join and leave phases (lib/phases.ts): sizes of rxswim-only and serf-only clusters, of mixed ones, leave + join pairs per cluster */
  phases: { sizes: number[]; mixed: number[]; pairs: number } | null;
  /** the whole run is cut here: agents killed, what was measured is written */
  deadlineMin: number;
}

const PLAN: Plan = QUICK
  ? {
      mode: 'quick', rttRounds: 3, rttPings: 2000, rttIntervalMs: 2, rttWarmup: 200,
      sizes: [8, 32], reps: { 8: 3, 32: 1 }, steadySizes: [32], swimSizes: [8], steadyWindowS: 30, settleS: 60, epollS: 10,
      startReps: 5, loneAgents: 3, serialSizes: [], detectSizes: [8, 32],
      sims: [{ nodes: 100, durationMs: 60_000, capS: 120, reps: 1 }, { nodes: 200, durationMs: 60_000, capS: 180, reps: 1 }],
      wireRtt: { n: 8, seconds: 15, reps: 1 }, bigJoin: { members: 10_000, reps: 1 }, phases: { sizes: [8], mixed: [8], pairs: 2 }, deadlineMin: 13,
    }
  : {
      mode: 'full', rttRounds: 3, rttPings: 2000, rttIntervalMs: 2, rttWarmup: 200,
      sizes: [8, 32, 64, 128], reps: { 8: 3, 32: 3, 64: 1, 128: 1 }, steadySizes: [8, 32, 64], swimSizes: [8, 32, 64], steadyWindowS: 30, settleS: 60, epollS: 10,
      startReps: 5, loneAgents: 3, serialSizes: [64], detectSizes: [8, 32, 64],
      sims: [{ nodes: 100, durationMs: 60_000, capS: 120, reps: 1 }, { nodes: 200, durationMs: 60_000, capS: 180, reps: 1 }, { nodes: 500, durationMs: 120_000, capS: 600, reps: 3 }],
      wireRtt: { n: 8, seconds: 30, reps: 1 }, bigJoin: { members: 10_000, reps: 3 }, phases: { sizes: [8, 32, 64], mixed: [8, 32], pairs: 8 }, deadlineMin: 65,
    };
if (SIM_BIG) {
  PLAN.sims.push({ nodes: 2000, durationMs: 120_000, capS: 1800, reps: 1 });
  PLAN.deadlineMin += 30;
}
// --sizes 8,32  --reps 1  --steady 8  --settle 60  --serial 64  --deadline 20  --skip lone,rtt,clusters,steady,serial,sim,swim,rxswim,serf,wirertt,bigjoin
PLAN.sizes = nums('--sizes', PLAN.sizes);
if (arg('--reps')) for (const n of PLAN.sizes) PLAN.reps[n] = num('--reps', 0);
PLAN.steadySizes = nums('--steady', PLAN.steadySizes);
PLAN.settleS = num('--settle', PLAN.settleS);
PLAN.deadlineMin = num('--deadline', PLAN.deadlineMin);
PLAN.serialSizes = nums('--serial', PLAN.serialSizes);
const SKIP = new Set((arg('--skip') ?? '').split(','));
if (SKIP.has('sim')) PLAN.sims = [];
if (arg('--sim-reps')) for (const sim of PLAN.sims) sim.reps = num('--sim-reps', 1);
if (SKIP.has('serial')) PLAN.serialSizes = [];
if (SKIP.has('wirertt')) PLAN.wireRtt = null;
if (SKIP.has('bigjoin')) PLAN.bigJoin = null;
if (SKIP.has('phases')) PLAN.phases = null;

export interface Detection {
  victim: string;
  /** ms from the kill -9 to the first, the median and the last surviving agent listing it failed */
  firstMs: number | null;
  medianMs: number | null;
  lastMs: number | null;
  detected: number;
  of: number;
  /** ms to the first agent listing it suspect (rxswim and swim-js expose suspicion; serf does not) */
  firstSuspectMs: number | null;
  timeoutMs: number;
}

export interface ClusterRun {
  impl: Impl;
  n: number;
  rep: number;
  readyMs: number | null;
  joinErrors: string[];
  /** ms from issuing the joins until every agent lists N alive in one polling round */
  convergeMs: number | null;
  /** ms until 99 % of the N×N (agent, member) pairs are alive in one polling round (N = 8: all of them) */
  converge99Ms: number | null;
  /** when convergence took over 5 s: agents still incomplete in the last round before, what they missed, their last warnings */
  laggards: Array<{ agent: string; missing: string[]; log: string[] }>;
  /** per polling round during the join: [ms since the joins, fewest members any agent lists alive, agents listing all N alive] */
  joinTimeline: Array<[number, number, number]>;
  /** CPU seconds (utime+stime) each agent spent from issuing the joins to 99 % convergence: mean over agents */
  joinCpuSecPerAgent: number | null;
  /** 1-minute load average of the machine when the run started and ended (other work on the machine included) */
  load: [number, number];
  /** ms between polling rounds (100; more at N ≥ 128, where one round asks every agent) */
  pollMs?: number;
  /** how long convergence was waited for */
  convergeTimeoutMs?: number;
  detection: Detection | null;
  steady: Steady | null;
  error: string | null;
}

/** N − 1 agents join one seed one after another, each join issued once the previous one returned */
export interface SerialJoinRun {
  impl: Impl;
  n: number;
  readyMs: number | null;
  /** ms from issuing the first join until the last one returned */
  totalMs: number | null;
  joinMsMedian: number | null;
  joinMsMax: number | null;
  joins: number;
  joinErrors: string[];
  /** ms from the first join until every agent lists N alive in one polling round */
  convergeMs: number | null;
  /** the same from the last join's answer */
  afterLastJoinMs: number | null;
  load: [number, number];
  error: string | null;
}

export interface SimRun {
  nodes: number;
  /** 1-based, among the runs of this size */
  rep: number;
  durationMs: number;
  nodeSecondsPerWallSecond: number;
  bootMs: number;
  runMs: number;
  heapMB: number;
  convergeMs: number;
  firstDetectionMs: number | null;
  fullDetectionMs: number | null;
  /** the simulator's process from spawn to exit (Node start-up and JSON included) */
  processWallMs?: number;
}

export interface Results {
  machine: ReturnType<typeof describeMachine>;
  plan: Plan;
  startedAt: string;
  durationS: number;
  /** when dist/cli/main.js (the agents' CLI, copied at the start) was built */
  cliBuiltAt?: string;
  /** the figures against the issue's goals, one row per figure (computed from the rest; renderMarkdown recomputes it) */
  summary?: GoalRow[];
  /** lone agents: start-up CPU, idle CPU, wakeups, RSS, and the empty-Node floor */
  lone?: LoneResults | null;
  rtt: {
    rounds: Array<Record<string, RttSummary>>;
    /** medians over the rounds of each figure */
    median: Record<string, { p50Us: number; p99Us: number; jitterUs: number; stdevUs: number; lost: number }>;
    ratio: { p50: number | null; p99: number | null; jitter: number | null };
    /** bytes of the first ack datagram from each agent */
    ackBytes: Record<string, number | null>;
    load: [number, number];
    error: string | null;
  } | null;
  clusters: ClusterRun[];
  /** medians over the repetitions, per N and implementation */
  membership: Array<{
    n: number;
    reps: Record<string, number>;
    figures: Record<string, Record<string, number | null>>;
    ratio: Record<string, number | null>;
  }>;
  steady: Steady[];
  serialJoins?: SerialJoinRun[];
  simulator: SimRun[];
  /** simulator runs that did not finish (cap, deadline, crash) */
  simulatorErrors?: Array<{ nodes: number; durationMs: number; wallMs: number; error: string }>;
  /** from bench/lib/wire-rtt.ts (another module): its results object and its markdown */
  wireRtt?: { result: WireRttResult; markdown: string } | null;
  /** from bench/lib/big-join.ts (another module): its results object and its markdown */
  bigJoin?: { result: BigJoinResult; markdown: string } | null;
  /** from bench/lib/phases.ts: its results object and its markdown */
  phases?: { result: PhasesResult; markdown: string } | null;
  swimPeer: { included: boolean; note: string };
  notes: string[];
  errors: string[];
}

const t0Run = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0Run) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

const live = new Set<Cluster>();
let aborted = false;

async function killEverything(): Promise<void> {
  killLone();
  killHelpers();
  await Promise.all([...live].map((c) => c.close()));
  live.clear();
  // lib/wire-rtt.ts's (and lib/big-join.ts's, which starts its agents through it) processes
  await killWireRttProcs();
  await killPhases();
}

function track(c: Cluster): Cluster {
  live.add(c);
  return c;
}

async function release(c: Cluster): Promise<void> {
  await c.close();
  live.delete(c);
}

function checkAbort(): void {
  if (aborted) throw new Error(`run deadline (${PLAN.deadlineMin} min) passed`);
}

// ---------------------------------------------------------------- 1. RTT

async function benchRtt(): Promise<NonNullable<Results['rtt']>> {
  const rx = track(new Cluster('rxswim', ['127.0.70.1']));
  const serf = track(new Cluster('serf', ['127.0.70.2']));
  const load0 = round(loadavg()[0], 1)!;
  try {
    await Promise.all([rx.waitReady(30_000), serf.waitReady(30_000)]);
    const targets = [
      { label: 'rxswim', node: rx.agents[0]!.name, host: rx.agents[0]!.ip, port: PORT },
      { label: 'serf', node: serf.agents[0]!.name, host: serf.agents[0]!.ip, port: PORT },
    ];
    // warm-up (JIT, socket buffers), not counted
    await pingRtt(targets, { count: PLAN.rttWarmup, intervalMs: PLAN.rttIntervalMs, bindHost: '127.0.70.250', seqBase: 1_000_000 });
    const ackBytes: Record<string, number | null> = {};
    const rounds: Array<Record<string, RttSummary>> = [];
    for (let r = 0; r < PLAN.rttRounds; r++) {
      checkAbort();
      const series = await pingRtt(targets, { count: PLAN.rttPings, intervalMs: PLAN.rttIntervalMs, bindHost: '127.0.70.250', seqBase: 10_000 + r * 100_000 });
      const round: Record<string, RttSummary> = {};
      targets.forEach((t, k) => {
        round[t.label] = summarize(series[k]!);
        ackBytes[t.label] ??= series[k]!.ackBytes;
      });
      rounds.push(round);
      log(`RTT round ${r + 1}: rxswim p50 ${round.rxswim!.p50Us.toFixed(0)} µs p99 ${round.rxswim!.p99Us.toFixed(0)} µs; serf p50 ${round.serf!.p50Us.toFixed(0)} µs p99 ${round.serf!.p99Us.toFixed(0)} µs`);
    }
    const med: NonNullable<Results['rtt']>['median'] = {};
    for (const label of ['rxswim', 'serf']) {
      const xs = rounds.map((r) => r[label]!);
      med[label] = {
        p50Us: round(median(xs.map((x) => x.p50Us)), 1)!,
        p99Us: round(median(xs.map((x) => x.p99Us)), 1)!,
        jitterUs: round(median(xs.map((x) => x.jitterUs)), 1)!,
        stdevUs: round(median(xs.map((x) => x.stdevUs)), 1)!,
        lost: xs.reduce((a, x) => a + x.lost, 0),
      };
    }
    const a = med.rxswim!;
    const b = med.serf!;
    return { rounds, median: med, ratio: { p50: ratio(a.p50Us, b.p50Us), p99: ratio(a.p99Us, b.p99Us), jitter: ratio(a.jitterUs, b.jitterUs) }, ackBytes, load: [load0, round(loadavg()[0], 1)!], error: null };
  } finally {
    await release(rx);
    await release(serf);
  }
}

// ---------------------------------------------------------------- 2 + 3. clusters

/** memberlist's worst case for every member to hold a crash failed (README), plus slack */
function detectionTimeoutMs(n: number): number {
  return detectionBoundMs(PRESETS.lan, n) + 30_000;
}

/** how long every agent is waited for to answer, and then for convergence: 1 s more per agent, 2 s from N = 128 (2 cores) */
const readyTimeoutMs = (n: number): number => 60_000 + n * 2000;
const convergeTimeoutMs = (n: number): number => 60_000 + n * (n >= 128 ? 2000 : 1000);
/** one polling round asks every agent: at N = 128 every 250 ms (512 requests/s from the bench process) */
const pollMs = (n: number): number => (n >= 128 ? 250 : 100);

async function clusterRun(impl: Impl, n: number, rep: number, ips: IpPool, steady: boolean, detect: boolean): Promise<ClusterRun> {
  const run: ClusterRun = { impl, n, rep, readyMs: null, joinErrors: [], convergeMs: null, converge99Ms: null, laggards: [], joinTimeline: [], joinCpuSecPerAgent: null, load: [round(loadavg()[0], 1)!, 0], pollMs: pollMs(n), convergeTimeoutMs: convergeTimeoutMs(n), detection: null, steady: null, error: null };
  const c = track(new Cluster(impl, ips.take(n)));
  try {
    run.readyMs = Math.round(await c.waitReady(readyTimeoutMs(n)));
    checkAbort();

    // join convergence
    const names = c.agents.map((a) => a.name);
    const ticks0 = c.agents.map((a) => cpuTicks(c.pid(a)));
    const t0 = performance.now();
    const joined = c.joinAll();
    let allAt: number | null = null;
    let ticks99: Array<number | undefined> | null = null;
    let everyone = 0;
    let fewest = Infinity;
    let lastAt = 0;
    let sumAlive = 0;
    let missing = new Map<string, string[]>();
    let lastMissing = new Map<string, string[]>();
    const ok = await c.poll(
      c.agents,
      t0,
      (a, v, at) => {
        const count = v ? [...v.values()].filter((s) => s === 'alive').length : 0;
        fewest = Math.min(fewest, count);
        lastAt = Math.max(lastAt, at);
        sumAlive += count;
        if (count === n) everyone++;
        else missing.set(a.name, v ? names.filter((x) => v.get(x) !== 'alive') : ['(no answer)']);
      },
      () => {
        run.joinTimeline.push([Math.round(lastAt), fewest, everyone]);
        if (run.converge99Ms === null && sumAlive >= Math.ceil(0.99 * n * n)) {
          run.converge99Ms = Math.round(lastAt);
          ticks99 = c.agents.map((a) => cpuTicks(c.pid(a)));
        }
        const done = everyone === n;
        if (done) allAt = lastAt;
        else lastMissing = missing;
        everyone = 0;
        fewest = Infinity;
        lastAt = 0;
        sumAlive = 0;
        missing = new Map();
        return done || aborted;
      },
      convergeTimeoutMs(n),
      pollMs(n),
    );
    run.joinErrors = await joined;
    checkAbort();
    if (!ok || allAt === null) throw new Error(`no convergence in ${convergeTimeoutMs(n) / 1000} s: ${lastMissing.size}/${n} agents still missing members`);
    run.convergeMs = Math.round(allAt);
    if (run.convergeMs > 5000) {
      // who was still incomplete in the last round before convergence, and what their logs said
      run.laggards = [...lastMissing].slice(0, 8).map(([agent, miss]) => ({
        agent,
        missing: miss.slice(0, 8),
        log: c.agents.find((x) => x.name === agent)!.proc.lines.filter((l) => /WARN|ERR|"level":(40|50)/.test(l)).slice(-5),
      }));
    }
    const t99 = ticks99 as Array<number | undefined> | null;
    const spent = t99 === null ? [] : ticks0.flatMap((x, i) => (x === undefined || t99[i] === undefined ? [] : [(t99[i]! - x) / CLK_TCK]));
    // mean, not median: one clock tick is 10 ms, a serf agent spends a few ticks
    run.joinCpuSecPerAgent = spent.length ? round(spent.reduce((x, y) => x + y, 0) / spent.length, 3) : null;
    log(`${impl} N=${n} rep ${rep + 1}: 99 % of views complete in ${run.converge99Ms} ms, all in ${run.convergeMs} ms${run.joinErrors.length ? ` (${run.joinErrors.length} join errors)` : ''}`);
    checkAbort();

    // steady state
    if (steady) {
      await sleep(PLAN.settleS * 1000);
      checkAbort();
      run.steady = await sampleSteady(c, PLAN.steadyWindowS, log, { settleS: PLAN.settleS, epollS: PLAN.epollS });
      log(`${impl} N=${n}: steady CPU ${run.steady.cpuPctMedian} %/agent, RSS ${run.steady.rssMBMedian} MB, ${run.steady.selfPktsPerSec} pkt/s/agent (self), ${run.steady.snmpPktsPerSec} (snmp), ${run.steady.epollPerSec} wakeups/s (${run.steady.epollAgent})`);
      checkAbort();
    }
    if (!detect) return run;

    // failure detection: kill -9 one agent (not the seed)
    const victim = c.agents[Math.floor(n / 2)]!;
    const others = c.agents.filter((a) => a !== victim);
    const failedAt = new Map<string, number>();
    let firstSuspect: number | null = null;
    const timeoutMs = detectionTimeoutMs(n);
    const k0 = performance.now();
    await c.killAgent(victim);
    await c.poll(
      others,
      k0,
      (a: Agent, v: Map<string, View> | undefined, at: number) => {
        const s = v?.get(victim.name);
        if (s === 'suspect' && firstSuspect === null) firstSuspect = at;
        if ((s === 'failed' || (s === undefined && v !== undefined)) && !failedAt.has(a.name)) failedAt.set(a.name, at);
      },
      () => failedAt.size === others.length || aborted,
      timeoutMs,
    );
    const times = [...failedAt.values()].sort((x, y) => x - y);
    run.detection = {
      victim: victim.name,
      firstMs: times.length ? Math.round(times[0]!) : null,
      medianMs: times.length === others.length ? Math.round(median(times)) : null,
      lastMs: times.length === others.length ? Math.round(times[times.length - 1]!) : null,
      detected: times.length,
      of: others.length,
      firstSuspectMs: firstSuspect === null ? null : Math.round(firstSuspect),
      timeoutMs,
    };
    log(`${impl} N=${n} rep ${rep + 1}: detection first ${run.detection.firstMs} ms, median ${run.detection.medianMs}, last ${run.detection.lastMs} (${times.length}/${others.length})`);
  } catch (e) {
    run.error = e instanceof Error ? e.message : String(e);
    log(`${impl} N=${n} rep ${rep + 1}: ERROR ${run.error}`);
  } finally {
    run.load[1] = round(loadavg()[0], 1)!;
    await release(c);
  }
  return run;
}

async function serialJoinRun(impl: Impl, n: number, ips: IpPool): Promise<SerialJoinRun> {
  const run: SerialJoinRun = { impl, n, readyMs: null, totalMs: null, joinMsMedian: null, joinMsMax: null, joins: 0, joinErrors: [], convergeMs: null, afterLastJoinMs: null, load: [round(loadavg()[0], 1)!, 0], error: null };
  const c = track(new Cluster(impl, ips.take(n)));
  try {
    run.readyMs = Math.round(await c.waitReady(readyTimeoutMs(n)));
    checkAbort();
    const t0 = performance.now();
    const { errors, joinMs } = await c.joinSerially(() => aborted);
    const tLast = performance.now();
    checkAbort();
    run.joins = joinMs.length;
    run.joinErrors = errors;
    run.totalMs = Math.round(tLast - t0);
    run.joinMsMedian = round(medianOf(joinMs), 1);
    run.joinMsMax = joinMs.length ? Math.round(Math.max(...joinMs)) : null;
    log(`${impl} N=${n} serial: ${joinMs.length} joins in ${run.totalMs} ms (median ${run.joinMsMedian} ms, max ${run.joinMsMax} ms), ${errors.length} failed`);
    let everyone = 0;
    let lastAt = 0;
    let allAt: number | null = null;
    const ok = await c.poll(
      c.agents,
      t0,
      (_a, v, at) => {
        lastAt = Math.max(lastAt, at);
        if (v && [...v.values()].filter((x) => x === 'alive').length === n) everyone++;
      },
      () => {
        const done = everyone === n;
        if (done) allAt = lastAt;
        everyone = 0;
        lastAt = 0;
        return done || aborted;
      },
      run.totalMs + convergeTimeoutMs(n),
      pollMs(n),
    );
    checkAbort();
    if (!ok || allAt === null) throw new Error(`no convergence within ${convergeTimeoutMs(n) / 1000} s of the last join`);
    run.convergeMs = Math.round(allAt);
    run.afterLastJoinMs = Math.max(0, Math.round(allAt - (tLast - t0)));
    log(`${impl} N=${n} serial: every view complete ${run.convergeMs} ms after the first join (${run.afterLastJoinMs} ms after the last)`);
  } catch (e) {
    run.error = e instanceof Error ? e.message : String(e);
    log(`${impl} N=${n} serial: ERROR ${run.error}`);
  } finally {
    run.load[1] = round(loadavg()[0], 1)!;
    await release(c);
  }
  return run;
}

// ---------------------------------------------------------------- 4. simulator

/**
 * `rxswim simulate --json` (the same bundle the agents run) in a process of its own:
 * the bench process stays responsive (deadline, signals), a big run gets its own heap,
 * and it is killed by PID at its wall-clock cap.
 */
async function simRun(nodes: number, durationMs: number, capS: number, rep: number): Promise<SimRun> {
  const t0 = performance.now();
  const capMs = Math.min(capS * 1000, Math.max(0, PLAN.deadlineMin * 60_000 - (Date.now() - t0Run)));
  const r = await runBounded(process.execPath, ['--max-old-space-size=12288', agentCli(), 'simulate', '--nodes', String(nodes), '--duration', `${durationMs / 1000}s`, '--seed', '1', '--crash', '1', '--loss', '0', '--profile', 'lan', '--json'], capMs);
  const wallMs = Math.round(performance.now() - t0);
  if (r.code !== 0) throw new Error(r.code === null ? `killed after ${Math.round(wallMs / 1000)} s (cap ${Math.round(capMs / 1000)} s)` : `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const report = JSON.parse(r.stdout) as { convergeMs: number; firstDetectionMs: number | null; fullDetectionMs: number | null; wall: { bootMs: number; runMs: number; nodeSecondsPerWallSecond: number; heapMB: number } };
  return { nodes, rep, durationMs, ...report.wall, convergeMs: report.convergeMs, firstDetectionMs: report.firstDetectionMs, fullDetectionMs: report.fullDetectionMs, processWallMs: wallMs };
}

function summarizeMembership(runs: ClusterRun[], impls: Impl[]): Results['membership'] {
  const out: Results['membership'] = [];
  for (const n of PLAN.sizes) {
    const figures: Record<string, Record<string, number | null>> = {};
    const reps: Record<string, number> = {};
    for (const impl of impls) {
      const rs = runs.filter((r) => r.n === n && r.impl === impl);
      reps[impl] = rs.filter((r) => r.error === null).length;
      figures[impl] = {
        converge99Ms: medianOf(rs.map((r) => r.converge99Ms)),
        convergeMs: medianOf(rs.map((r) => r.convergeMs)),
        firstMs: medianOf(rs.map((r) => r.detection?.firstMs)),
        medianMs: medianOf(rs.map((r) => r.detection?.medianMs)),
        lastMs: medianOf(rs.map((r) => r.detection?.lastMs)),
        firstSuspectMs: medianOf(rs.map((r) => r.detection?.firstSuspectMs)),
        joinCpuSecPerAgent: medianOf(rs.map((r) => r.joinCpuSecPerAgent)),
        // a sum, not a median: every failed join of every repetition
        failedJoins: rs.length ? rs.reduce((a, r) => a + r.joinErrors.length, 0) : null,
      };
    }
    const rx = figures.rxswim!;
    const sf = figures.serf!;
    out.push({
      n,
      reps,
      figures,
      ratio: { converge99Ms: ratio(rx.converge99Ms, sf.converge99Ms), convergeMs: ratio(rx.convergeMs, sf.convergeMs), joinCpuSecPerAgent: ratio(rx.joinCpuSecPerAgent, sf.joinCpuSecPerAgent), firstMs: ratio(rx.firstMs, sf.firstMs), medianMs: ratio(rx.medianMs, sf.medianMs), lastMs: ratio(rx.lastMs, sf.lastMs) },
    });
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (!builtCli()) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm run bench does)');
  if (!hasSerf()) throw new Error('serf is not installed (apt-get install -y serf)');
  const machine = describeMachine();
  const cli = snapshotCli();
  const impls: Impl[] = ['rxswim', 'serf'];
  const swim = swimInstalled();
  if (swim && !SKIP.has('swim')) impls.push('swim');
  const results: Results = {
    machine,
    plan: PLAN,
    startedAt: new Date(t0Run).toISOString(),
    durationS: 0,
    cliBuiltAt: cli.builtAt,
    summary: [],
    lone: null,
    rtt: null,
    clusters: [],
    membership: [],
    steady: [],
    serialJoins: [],
    simulator: [],
    simulatorErrors: [],
    wireRtt: null,
    bigJoin: null,
    phases: null,
    swimPeer: {
      included: impls.includes('swim'),
      note: swim
        ? 'npm swim 0.6.0 (swim-js, 2016) installed in bench/peers/swim; its own protocol, not memberlist: timings set to lan\'s where it has an equivalent (probe 1 s, ping timeout 0.5 s, ping-req timeout 0.5 s, fixed suspicion 4 s, dissemination factor 4)'
        : 'npm swim 0.6.0 not installed (cd bench/peers/swim && CXXFLAGS=-std=c++17 npm install): its native deps msgpack 1.0.3 and farmhash fail to compile against Node 20 headers without C++17',
    },
    notes: [],
    errors: [],
  };
  const write = () => {
    results.durationS = Math.round((Date.now() - t0Run) / 1000);
    results.membership = summarizeMembership(results.clusters, impls);
    results.notes = autoNotes(results);
    results.summary = goalRows(results);
    mkdirSync(OUT, { recursive: true });
    const json = `${JSON.stringify(results, null, 2)}\n`;
    const md = renderMarkdown(results);
    // latest.* is the last run of either mode; quick.* / full.* keep the last of each
    for (const name of ['latest', PLAN.mode]) {
      writeFileSync(`${OUT}${name}.json`, json);
      writeFileSync(`${OUT}${name}.md`, md);
    }
  };
  const failed = (what: string, e: unknown) => {
    const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    results.errors.push(msg);
    log(`ERROR ${msg}`);
  };

  log(`mode ${PLAN.mode}; ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, serf ${machine.serf}; swim-js peer ${swim ? 'included' : 'not installed'}; agents run ${agentCli()} (a copy of dist/cli/ made at the start, built ${cli.builtAt})`);

  // 1. RTT, run while the lone agents of section 0 settle (after their starts)
  const rtt = async () => {
    if (SKIP.has('rtt') || aborted) return;
    try {
      results.rtt = await benchRtt();
    } catch (e) {
      failed('rtt', e);
    }
  };
  // 0. lone agents: start-up CPU, then idle beside the floor
  if (!SKIP.has('lone')) {
    try {
      results.lone = await measureLone({ startReps: PLAN.startReps, lone: PLAN.loneAgents, settleS: PLAN.settleS, windowS: PLAN.steadyWindowS, epollS: PLAN.epollS, ipBase: '127.0.95', log, during: rtt, aborted: () => aborted });
      const m = results.lone.median;
      log(`lone idle: CPU rxswim ${m.rxswim.cpuPct} %, serf ${m.serf.cpuPct} %, floor ${m.floor.cpuPct} %; RSS ${m.rxswim.rssMB} / ${m.serf.rssMB} / ${m.floor.rssMB} MB; wakeups/s ${m.rxswim.epollPerSec} / ${m.serf.epollPerSec} / ${m.floor.epollPerSec}`);
    } catch (e) {
      failed('lone agents', e);
    }
  } else await rtt();
  write();

  // 2 + 3. clusters: for each N and repetition, each implementation in turn
  const ips = new IpPool();
  for (const n of SKIP.has('clusters') ? [] : PLAN.sizes) {
    for (let rep = 0; rep < (PLAN.reps[n] ?? 1); rep++) {
      for (const impl of impls) {
        if (aborted) break;
        if ((impl === 'swim' && !PLAN.swimSizes.includes(n)) || SKIP.has(impl)) continue;
        const steady = rep === 0 && PLAN.steadySizes.includes(n) && impl !== 'swim' && !SKIP.has('steady');
        const run = await clusterRun(impl, n, rep, ips, steady, PLAN.detectSizes.includes(n));
        results.clusters.push(run);
        if (run.steady) results.steady.push(run.steady);
        if (run.error) results.errors.push(`${impl} N=${n} rep ${rep + 1}: ${run.error}`);
        write();
      }
    }
  }

  // 2b. serial joins
  for (const n of PLAN.serialSizes) {
    for (const impl of impls) {
      if (aborted || impl === 'swim' || SKIP.has(impl)) continue;
      const run = await serialJoinRun(impl, n, ips);
      results.serialJoins!.push(run);
      if (run.error) results.errors.push(`${impl} N=${n} serial joins: ${run.error}`);
      write();
    }
  }

  // 4. simulator (no agent running), each in a process of its own
  for (const { nodes, durationMs, capS, reps } of PLAN.sims) {
    for (let rep = 1; rep <= reps && !aborted; rep++) {
      const t0 = performance.now();
      try {
        const r = await simRun(nodes, durationMs, capS, rep);
        results.simulator.push(r);
        log(`simulate N=${nodes} × ${durationMs / 1000} s (${rep}/${reps}): boot ${r.bootMs} + run ${r.runMs} ms, ${r.nodeSecondsPerWallSecond} node-s per wall-s`);
      } catch (e) {
        results.simulatorErrors!.push({ nodes, durationMs, wallMs: Math.round(performance.now() - t0), error: e instanceof Error ? e.message : String(e) });
        failed(`simulate N=${nodes} × ${durationMs / 1000} s`, e);
      }
      write();
    }
  }

  // 5. wire RTT (bench/lib/wire-rtt.ts) and 6. a big join (bench/lib/big-join.ts): other modules
  const deadlineAt = t0Run + PLAN.deadlineMin * 60_000 - 30_000;
  if (PLAN.wireRtt && !aborted) {
    try {
      const r = await measureWireRtt({ ...PLAN.wireRtt, ipBase: '127.0.110', log, deadlineAt });
      results.wireRtt = { result: r, markdown: renderWireRtt(r) };
    } catch (e) {
      failed('wire RTT', e);
    }
    write();
  }
  if (PLAN.bigJoin && !aborted) {
    try {
      // 127.0.111, not 127.0.115: lib/big-join.ts puts the members it makes up in
      // 127.0.112.1 – 127.0.119.254 (10,000 of them reach 127.0.119), so an agent at
      // 127.0.115.x would be sent a made-up member at its own address
      const r = await measureBigJoin({ ...PLAN.bigJoin, ipBase: '127.0.111', log, deadlineAt });
      results.bigJoin = { result: r, markdown: renderBigJoin(r) };
    } catch (e) {
      failed('big join', e);
    }
    write();
  }

  // 7. join and leave phases (bench/lib/phases.ts), on 127.0.115.x and 127.0.116.x: after
  // the big join, whose made-up members live at 127.0.112 – 119 only inside its agents
  if (PLAN.phases && !aborted) {
    try {
      const r = await measurePhases({ sizes: { rxswim: PLAN.phases.sizes, serf: PLAN.phases.sizes, mixed: PLAN.phases.mixed }, pairs: PLAN.phases.pairs, pollMs: 100, concurrency: 64, ipBases: ['127.0.115', '127.0.116'], log, deadlineAt });
      results.phases = { result: r, markdown: renderPhases(r) };
      for (const e of r.errors) results.errors.push(`phases: ${e}`);
    } catch (e) {
      failed('join and leave phases', e);
    }
    write();
  }

  if (aborted) results.errors.push(`the run was cut at its ${PLAN.deadlineMin} min deadline; later phases are missing`);
  write();
  log(`done in ${results.durationS} s: ${OUT}latest.md`);
}

const deadline = setTimeout(() => {
  aborted = true;
  log(`deadline of ${PLAN.deadlineMin} min: killing every agent`);
  void killEverything();
}, PLAN.deadlineMin * 60_000);
deadline.unref();

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: killing every agent`);
    void killEverything().finally(() => {
      dropCliSnapshot();
      process.exit(130);
    });
  });
}

try {
  await main();
} catch (e) {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
} finally {
  await killEverything();
  closeHttp();
  dropCliSnapshot();
  clearTimeout(deadline);
}
