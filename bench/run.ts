// rxswim benchmarks against HashiCorp Serf (and the npm `swim` package when installed):
//   1. loopback ping→ack RTT            3. steady-state cost per agent
//   2. join convergence, failure detection  4. simulator speed
// node --import tsx bench/run.ts [--quick]   (see bench/README.md)
// Writes bench/results/latest.json and bench/results/latest.md. Measures only: no
// figure here is asserted. Every agent is killed by PID when its phase ends.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { builtCli, hasSerf } from '../test/helpers/procs.js';
import { simulate } from '../src/sim/simulate.js';
import { PRESETS } from '../src/config.js';
import { detectionBoundMs } from '../src/swim/formulas.js';
import { Cluster, IpPool, PORT, swimInstalled, type Agent, type Impl, type View } from './lib/cluster.js';
import { closeHttp } from './lib/http.js';
import { describeMachine } from './lib/machine.js';
import { CLK_TCK, cpuTicks } from './lib/procstat.js';
import { autoNotes } from './lib/notes.js';
import { renderMarkdown } from './lib/report.js';
import { pingRtt, summarize, type RttSummary } from './lib/rtt.js';
import { sampleSteady, type Steady } from './lib/steady.js';
import { median, medianOf, ratio, round, sleep } from './lib/stats.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
/** `--flag value` (for trying parts of the bench; the committed results use the plain modes) */
const arg = (flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};
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
  /** after convergence, before the steady-state window */
  settleS: number;
  simNodes: number[];
  simDurationMs: number;
  /** the whole run is cut here: agents killed, what was measured is written */
  deadlineMin: number;
}

const PLAN: Plan = QUICK
  ? { mode: 'quick', rttRounds: 3, rttPings: 2000, rttIntervalMs: 2, rttWarmup: 200, sizes: [8, 32], reps: { 8: 3, 32: 1 }, steadySizes: [32], swimSizes: [8], steadyWindowS: 30, settleS: 5, simNodes: [100, 200], simDurationMs: 60_000, deadlineMin: 9 }
  : { mode: 'full', rttRounds: 3, rttPings: 2000, rttIntervalMs: 2, rttWarmup: 200, sizes: [8, 32, 64], reps: { 8: 3, 32: 3, 64: 1 }, steadySizes: [32, 64], swimSizes: [8, 32, 64], steadyWindowS: 30, settleS: 10, simNodes: [100, 200], simDurationMs: 60_000, deadlineMin: 25 };
// --sizes 8,32  --reps 1  --skip rtt,clusters,steady,sim,swim,rxswim,serf
if (arg('--sizes')) PLAN.sizes = arg('--sizes')!.split(',').map(Number);
if (arg('--reps')) for (const n of PLAN.sizes) PLAN.reps[n] = Number(arg('--reps'));
const SKIP = new Set((arg('--skip') ?? '').split(','));
if (SKIP.has('sim')) PLAN.simNodes = [];

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
  detection: Detection | null;
  steady: Steady | null;
  error: string | null;
}

export interface Results {
  machine: ReturnType<typeof describeMachine>;
  plan: Plan;
  startedAt: string;
  durationS: number;
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
  simulator: Array<{ nodes: number; durationMs: number; nodeSecondsPerWallSecond: number; bootMs: number; runMs: number; heapMB: number; convergeMs: number; firstDetectionMs: number | null; fullDetectionMs: number | null }>;
  swimPeer: { included: boolean; note: string };
  notes: string[];
  errors: string[];
}

const t0Run = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0Run) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

const live = new Set<Cluster>();
let aborted = false;

async function killEverything(): Promise<void> {
  await Promise.all([...live].map((c) => c.close()));
  live.clear();
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

async function clusterRun(impl: Impl, n: number, rep: number, ips: IpPool, steady: boolean): Promise<ClusterRun> {
  const run: ClusterRun = { impl, n, rep, readyMs: null, joinErrors: [], convergeMs: null, converge99Ms: null, laggards: [], joinTimeline: [], joinCpuSecPerAgent: null, load: [round(loadavg()[0], 1)!, 0], detection: null, steady: null, error: null };
  const c = track(new Cluster(impl, ips.take(n)));
  try {
    run.readyMs = Math.round(await c.waitReady(60_000 + n * 2000));
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
        return done;
      },
      60_000 + n * 1000,
    );
    run.joinErrors = await joined;
    if (!ok || allAt === null) throw new Error(`no convergence in ${60 + n} s: ${lastMissing.size}/${n} agents still missing members`);
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
      run.steady = await sampleSteady(c, PLAN.steadyWindowS, log);
      log(`${impl} N=${n}: steady CPU ${run.steady.cpuPctMedian} %/agent, RSS ${run.steady.rssMBMedian} MB, ${run.steady.selfPktsPerSec} pkt/s/agent (self), ${run.steady.snmpPktsPerSec} (snmp)`);
      checkAbort();
    }

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
  if (!builtCli()) throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  if (!hasSerf()) throw new Error('serf is not installed (apt-get install -y serf)');
  const machine = describeMachine();
  const impls: Impl[] = ['rxswim', 'serf'];
  const swim = swimInstalled();
  if (swim && !SKIP.has('swim')) impls.push('swim');
  const results: Results = {
    machine,
    plan: PLAN,
    startedAt: new Date(t0Run).toISOString(),
    durationS: 0,
    rtt: null,
    clusters: [],
    membership: [],
    steady: [],
    simulator: [],
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
    mkdirSync(OUT, { recursive: true });
    const json = `${JSON.stringify(results, null, 2)}\n`;
    const md = renderMarkdown(results);
    // latest.* is the last run of either mode; quick.* / full.* keep the last of each
    for (const name of ['latest', PLAN.mode]) {
      writeFileSync(`${OUT}${name}.json`, json);
      writeFileSync(`${OUT}${name}.md`, md);
    }
  };

  log(`mode ${PLAN.mode}; ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, serf ${machine.serf}; swim-js peer ${swim ? 'included' : 'not installed'}`);

  // 1. RTT
  if (!SKIP.has('rtt')) {
    try {
      results.rtt = await benchRtt();
    } catch (e) {
      results.errors.push(`rtt: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  write();

  // 2 + 3. clusters: for each N and repetition, each implementation in turn
  const ips = new IpPool();
  for (const n of SKIP.has('clusters') ? [] : PLAN.sizes) {
    for (let rep = 0; rep < (PLAN.reps[n] ?? 1); rep++) {
      for (const impl of impls) {
        if (aborted) break;
        if ((impl === 'swim' && !PLAN.swimSizes.includes(n)) || SKIP.has(impl)) continue;
        const steady = rep === 0 && PLAN.steadySizes.includes(n) && impl !== 'swim' && !SKIP.has('steady');
        const run = await clusterRun(impl, n, rep, ips, steady);
        results.clusters.push(run);
        if (run.steady) results.steady.push(run.steady);
        if (run.error) results.errors.push(`${impl} N=${n} rep ${rep + 1}: ${run.error}`);
        write();
      }
    }
  }

  // 4. simulator (no agent running)
  for (const nodes of PLAN.simNodes) {
    if (aborted) break;
    try {
      const r = await simulate({ nodes, seed: 1, profile: 'lan', loss: 0, crash: 1, durationMs: PLAN.simDurationMs });
      results.simulator.push({ nodes, durationMs: PLAN.simDurationMs, ...r.wall, convergeMs: r.convergeMs, firstDetectionMs: r.firstDetectionMs, fullDetectionMs: r.fullDetectionMs });
      log(`simulate N=${nodes}: ${r.wall.nodeSecondsPerWallSecond} node-s per wall-s (boot ${r.wall.bootMs} ms, run ${r.wall.runMs} ms)`);
    } catch (e) {
      results.errors.push(`simulate N=${nodes}: ${e instanceof Error ? e.message : String(e)}`);
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
    void killEverything().finally(() => process.exit(130));
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
  clearTimeout(deadline);
}
