// Join and leave phases: does any member miss a join or a leave for longer than a few
// gossip rounds? Clusters of real agents on loopback (rxswim only, Serf only, and mixed
// half and half) converge, then one agent at a time leaves gracefully (rxswim: SIGTERM,
// serf: SIGINT) and comes back under the same name and address, joining a random member.
// Every other member's view is polled from outside while each phase runs; per observer
// the delay until it lists the change (alive after a join; left after a leave), and
// whether it ever listed a leaving member failed. Measures only: nothing is asserted.
//
// "A few gossip rounds" is the time a broadcast needs to reach everyone when nothing is
// lost: the epidemic's depth, ceil(log_gossipNodes N) rounds, plus the retransmit limit
// (memberlist's RetransmitMult × ceil(log10(N + 1)): a member that hears a change late
// still forwards it that many times), each round one gossipInterval:
//   boundMs(N) = (ceil(log(N) / log(gossipNodes)) + retransmitLimit(N)) × gossipInterval
// With lan (200 ms, 3 nodes, mult 4): N = 8 → 6 rounds, 1.2 s; N = 32 and 64 → 12 rounds,
// 2.4 s. An observer counts as over the bound when its delay exceeds boundMs + pollMs
// (the delay is when the poll's answer arrived, up to one polling interval late).
import { loadavg } from 'node:os';
import { PRESETS } from '../../src/config.js';
import { pushPullScale, retransmitLimit } from '../../src/swim/formulas.js';
import { Cluster, PORT, type Agent, type Impl, type View } from './cluster.js';
import { Poller, type PollStats } from './poller.js';
import { medianOf, percentile, ratio, round, sleep } from './stats.js';

export type Setup = 'rxswim' | 'serf' | 'mixed';
export const SETUPS: readonly Setup[] = ['rxswim', 'serf', 'mixed'];
type Kind = 'join' | 'leave';

export interface PhasesOptions {
  /** cluster sizes per setup */
  sizes: Record<Setup, number[]>;
  /** leave + join pairs per cluster (each pair is 2 phases) */
  pairs: number;
  /** each observer is asked again this long after its previous request started */
  pollMs: number;
  /** requests in flight at most */
  concurrency: number;
  /** /24 prefixes, e.g. ['127.0.115', '127.0.116']: clusters take them in turn */
  ipBases: string[];
  log: (s: string) => void;
  /** no new cluster or phase starts after this (Date.now() value) */
  deadlineAt: number;
}

/** a member's view of the subject: a View, `gone` (not listed), or `noanswer` */
type Seen = View | 'gone' | 'noanswer';

export interface ObserverRecord {
  observer: string;
  impl: Impl;
  /** ms from the join / leave until the first answer listing it alive / left (gone counts as left); null: not within the phase */
  ms: number | null;
  /** leave: ms until the observer first listed the subject failed; null: never */
  failedMs: number | null;
  /** leave: still listed failed when the phase ended */
  failedAtEnd: boolean;
  /** leave: ms until the observer first listed the subject suspect (rxswim shows suspicion, serf does not) */
  suspectMs: number | null;
  /** every change of what this observer listed for the subject: [ms, state] (the first answer included) */
  transitions: Array<[number, Seen]>;
}

export interface PhaseRecord {
  setup: Setup;
  n: number;
  index: number;
  kind: Kind;
  subject: string;
  subjectImpl: Impl;
  /** join: the member it joined through */
  via: string | null;
  /** join: ms the join call took; leave: ms from the signal until the process exited */
  callMs: number | null;
  /** join: the restarted agent's start until its API answered (not in any delay) */
  startMs: number | null;
  /** join: ms until the joiner itself listed all N alive; null: not within the phase */
  joinerCompleteMs: number | null;
  boundMs: number;
  timeoutMs: number;
  observers: ObserverRecord[];
  poll: PollStats | null;
  load: number;
  error: string | null;
}

export interface ClusterPhases {
  setup: Setup;
  n: number;
  /** agents of each implementation */
  counts: Record<string, number>;
  readyMs: number | null;
  /** forming the cluster: joins that failed and were retried (the last error of each attempt) */
  formationJoinErrors: string[];
  convergeMs: number | null;
  convergePoll: PollStats | null;
  phases: PhaseRecord[];
  load: [number, number];
  error: string | null;
}

export interface PhaseFigures {
  setup: Setup;
  n: number;
  kind: Kind;
  /** 'all', or for mixed clusters 'observer←subject' (e.g. 'serf←rxswim') */
  pair: string;
  boundMs: number;
  phases: number;
  /** (phase, observer) pairs */
  observations: number;
  medianMs: number | null;
  p99Ms: number | null;
  /** null when some observer never saw it within its phase (see never) */
  worstMs: number | null;
  /** observers over boundMs + pollMs (never included) */
  overBound: number;
  /** observers that did not list it within the phase at all */
  never: number;
  /** leave: observers that listed the leaving member failed at some point, and in how many phases */
  listedFailed: number;
  failedPhases: number;
  /** leave: observers that still listed it failed at the end of the phase */
  failedAtEnd: number;
}

export interface PhasesResult {
  durationS: number;
  options: Omit<PhasesOptions, 'log' | 'deadlineAt'>;
  profile: { gossipIntervalMs: number; gossipNodes: number; retransmitMult: number; pushPullIntervalMs: number };
  clusters: ClusterPhases[];
  figures: PhaseFigures[];
  errors: string[];
}

const P = PRESETS.lan;

/** rounds a broadcast takes to reach every member with nothing lost (see the top of this file) */
export const gossipRounds = (n: number): number => Math.ceil(Math.log(Math.max(2, n)) / Math.log(P.gossipNodes)) + retransmitLimit(P.retransmitMult, n);
export const boundMs = (n: number): number => gossipRounds(n) * P.gossipInterval;
/** a join missed by gossip is repaired by a push-pull (every 30 s, scaled above 32 members): wait for two */
const joinTimeoutMs = (n: number): number => 2 * pushPullScale(P.pushPullInterval, n) + 10_000;
/** a missed leave turns into a failure (probe, suspicion, dead) well within this */
const LEAVE_TIMEOUT_MS = 60_000;
/** once every observer lists the leaver left or failed: how long a failed one is given to turn left */
const FAILED_GRACE_MS = 5_000;
const CONVERGE_POLL_MS = 500;

const live = new Set<Cluster>();

/** kills every agent this module started (deadline, signal) */
export async function killPhases(): Promise<void> {
  await Promise.all([...live].map((c) => c.close()));
  live.clear();
}

/** the agents of one setup: one Cluster per implementation, agents interleaved */
class Mix {
  readonly clusters: Cluster[];
  readonly agents: Agent[];
  private readonly owner = new Map<Agent, Cluster>();

  constructor(setup: Setup, ips: string[]) {
    const half = Math.floor(ips.length / 2);
    this.clusters = setup === 'mixed' ? [new Cluster('rxswim', ips.slice(0, half)), new Cluster('serf', ips.slice(half))] : [new Cluster(setup, ips)];
    for (const c of this.clusters) {
      live.add(c);
      for (const a of c.agents) this.owner.set(a, c);
    }
    // interleaved, so that a mixed cluster's subjects alternate between implementations
    this.agents = [];
    const lists = this.clusters.map((c) => c.agents);
    for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) for (const l of lists) if (l[i]) this.agents.push(l[i]!);
  }

  of(a: Agent): Cluster {
    return this.owner.get(a)!;
  }

  view(a: Agent, only?: string): Promise<Map<string, View> | undefined> {
    return this.of(a).view(a, only);
  }

  async close(): Promise<void> {
    for (const c of this.clusters) {
      await c.close();
      live.delete(c);
    }
  }
}

/** a small seeded generator (the via of each join is reproducible for a given N) */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const exited = (a: Agent): boolean => a.proc.child.exitCode !== null || a.proc.child.signalCode !== null;

/** until the agent answers and lists itself alive */
async function waitAgent(m: Mix, a: Agent, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (exited(a)) throw new Error(`${a.name} exited (${a.proc.child.exitCode ?? a.proc.child.signalCode}): ${a.proc.lines.slice(-3).join(' | ')}`);
    const v = await m.view(a);
    if (v?.get(a.name) === 'alive') return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${a.name} not answering after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function runCluster(setup: Setup, n: number, ipBase: string, o: PhasesOptions): Promise<ClusterPhases> {
  const ips = Array.from({ length: n }, (_, i) => `${ipBase}.${i + 1}`);
  const m = new Mix(setup, ips);
  const counts: Record<string, number> = {};
  for (const c of m.clusters) counts[c.impl] = c.size;
  const out: ClusterPhases = { setup, n, counts, readyMs: null, formationJoinErrors: [], convergeMs: null, convergePoll: null, phases: [], load: [round(loadavg()[0], 1)!, 0], error: null };
  try {
    const r0 = performance.now();
    await Promise.all(m.clusters.map((c) => c.waitReady(60_000 + n * 2000)));
    out.readyMs = Math.round(performance.now() - r0);

    // every agent joins the first at once, as section 2 does; then until all list N alive
    const seed = m.agents[0]!;
    const names = m.agents.map((a) => a.name);
    const complete = new Set<string>();
    let lastAt = 0;
    const t0 = performance.now();
    // Forming the cluster is only the start line: a join that fails (63 at once to one
    // seed can time out on 2 shared cores) is retried through a random member, twice.
    const formPick = rng(n);
    const joinOne = async (a: Agent): Promise<string | null> => {
      let err = await m.of(a).join(a, seed.bind);
      for (let i = 0; err !== null && i < 2; i++) {
        out.formationJoinErrors.push(err);
        const others = m.agents.filter((x) => x !== a);
        err = await m.of(a).join(a, others[Math.floor(formPick() * others.length)]!.bind);
      }
      return err;
    };
    const joins = Promise.all(m.agents.slice(1).map(joinOne));
    // convergence is only the start line here: polled every 500 ms, to leave the agents the CPU
    const conv = await new Poller<Agent, Map<string, View>>((a) => m.view(a), CONVERGE_POLL_MS, o.concurrency).run(
      m.agents,
      t0,
      (a, v, at) => {
        lastAt = at;
        if (v && names.every((x) => v.get(x) === 'alive')) complete.add(a.name);
        else complete.delete(a.name);
      },
      () => {
        if (complete.size < n) return false;
        out.convergeMs = Math.round(lastAt);
        return true;
      },
      60_000 + n * 2000,
    );
    const joinErrors = (await joins).filter((e) => e !== null);
    out.convergePoll = conv.stats;
    if (!conv.ok) throw new Error(`no convergence in ${60 + 2 * n} s (${complete.size}/${n} complete)${joinErrors.length ? `; ${joinErrors.length} joins failed 3 times: ${joinErrors[0]}` : ''}`);
    o.log(`phases ${setup} N=${n}: up in ${out.readyMs} ms, converged in ${out.convergeMs} ms${out.formationJoinErrors.length ? ` (${out.formationJoinErrors.length} joins failed and were retried)` : ''} (poll gap p50 ${conv.stats.gapMsMedian} / p99 ${conv.stats.gapMsP99} ms, poller CPU ${conv.stats.pollerCpuPct} %)`);
    // let the joins' broadcasts drain before the first phase
    await sleep(3000);

    const pick = rng(n * 7919 + setup.length);
    for (let k = 0; k < o.pairs; k++) {
      // every agent in turn, the first one (the seed of the joins above) last
      const subject = m.agents[(k + 1) % n]!;
      for (const kind of ['leave', 'join'] as const) {
        if (Date.now() > o.deadlineAt) throw new Error(`deadline: stopped before ${kind} phase ${2 * k + (kind === 'join' ? 2 : 1)}`);
        const ph = await runPhase(m, setup, n, out.phases.length, kind, subject, pick, o);
        out.phases.push(ph);
        const ms = ph.observers.map((x) => x.ms);
        const worst = ms.includes(null) ? 'never (some)' : `${Math.round(Math.max(...(ms as number[])))} ms`;
        const failed = ph.observers.filter((x) => x.failedMs !== null).length;
        o.log(`phases ${setup} N=${n} #${ph.index + 1} ${kind} ${subject.name}${ph.via ? ` via ${ph.via}` : ''}: median ${round(medianOf(ms), 0)} ms, worst ${worst}, over ${ph.boundMs} ms: ${ph.observers.filter((x) => x.ms === null || x.ms > ph.boundMs + o.pollMs).length}${kind === 'leave' ? `, listed failed: ${failed}` : `, joiner complete ${ph.joinerCompleteMs} ms`}${ph.error ? `; ERROR ${ph.error}` : ''}`);
        if (ph.error) throw new Error(`${kind} phase ${ph.index + 1}: ${ph.error}`);
        await sleep(1000);
      }
    }
  } catch (e) {
    out.error = e instanceof Error ? e.message : String(e);
    o.log(`phases ${setup} N=${n}: ERROR ${out.error}`);
  } finally {
    out.load[1] = round(loadavg()[0], 1)!;
    await m.close();
  }
  return out;
}

async function runPhase(m: Mix, setup: Setup, n: number, index: number, kind: Kind, subject: Agent, pick: () => number, o: PhasesOptions): Promise<PhaseRecord> {
  const c = m.of(subject);
  const observers = m.agents.filter((a) => a !== subject);
  const timeoutMs = kind === 'join' ? joinTimeoutMs(n) : LEAVE_TIMEOUT_MS;
  const rec: PhaseRecord = { setup, n, index, kind, subject: subject.name, subjectImpl: c.impl, via: null, callMs: null, startMs: null, joinerCompleteMs: null, boundMs: boundMs(n), timeoutMs, observers: [], poll: null, load: round(loadavg()[0], 1)!, error: null };
  const byName = new Map<string, ObserverRecord>();
  for (const a of observers) byName.set(a.name, { observer: a.name, impl: m.of(a).impl, ms: null, failedMs: null, failedAtEnd: false, suspectMs: null, transitions: [] });
  const current = new Map<string, Seen>();
  const names = m.agents.map((a) => a.name);
  try {
    let via: Agent | null = null;
    if (kind === 'join') {
      c.restart(subject);
      rec.startMs = Math.round(await waitAgent(m, subject, 30_000));
      const live = observers;
      via = live[Math.floor(pick() * live.length)]!;
      rec.via = via.name;
    }
    let allResolvedAt: number | null = null;
    const t0 = performance.now();
    const action =
      kind === 'join'
        ? c.join(subject, via!.bind).then((err) => {
            rec.callMs = Math.round(performance.now() - t0);
            if (err !== null) rec.error = `join failed: ${err}`;
          })
        : c.leave(subject).then((r) => {
            rec.callMs = Math.round(r.exitMs);
            if (r.killed) rec.error = `${subject.name} had not exited ${Math.round(r.exitMs)} ms after its leave signal (killed)`;
          });
    const resolved = (s: Seen | undefined): boolean => (kind === 'join' ? s === 'alive' : s === 'left' || s === 'gone');
    const watched = kind === 'join' ? [...observers, subject] : observers;
    // observers are asked for the subject alone where they can be (serf); the joiner for everyone
    const poller = new Poller<Agent, Map<string, View>>((a) => (a === subject ? m.view(a) : m.view(a, subject.name)), o.pollMs, o.concurrency);
    const result = await poller.run(
      watched,
      t0,
      (a, v, at) => {
        if (a === subject) {
          if (rec.joinerCompleteMs === null && v && names.every((x) => v.get(x) === 'alive')) rec.joinerCompleteMs = Math.round(at);
          return;
        }
        const r = byName.get(a.name)!;
        const s: Seen = v === undefined ? 'noanswer' : (v.get(subject.name) ?? 'gone');
        if (s === 'noanswer') return;
        const prev = current.get(a.name);
        if (prev !== s) r.transitions.push([Math.round(at), s]);
        current.set(a.name, s);
        if (r.ms === null && resolved(s)) r.ms = at;
        if (kind === 'leave') {
          if (s === 'failed' && r.failedMs === null) r.failedMs = at;
          if (s === 'suspect' && r.suspectMs === null) r.suspectMs = at;
        }
      },
      () => {
        const all = observers.every((a) => resolved(current.get(a.name)));
        if (kind === 'join') return all && rec.joinerCompleteMs !== null;
        if (all) return true;
        // failed members may still turn left (Serf does on a late leave intent): give them a while
        if (observers.every((a) => resolved(current.get(a.name)) || current.get(a.name) === 'failed')) {
          allResolvedAt ??= performance.now();
          return performance.now() - allResolvedAt > FAILED_GRACE_MS;
        }
        allResolvedAt = null;
        return false;
      },
      timeoutMs,
    );
    await action;
    rec.poll = result.stats;
    for (const r of byName.values()) {
      if (r.ms !== null) r.ms = Math.round(r.ms);
      if (r.failedMs !== null) r.failedMs = Math.round(r.failedMs);
      if (r.suspectMs !== null) r.suspectMs = Math.round(r.suspectMs);
      r.failedAtEnd = current.get(r.observer) === 'failed';
    }
  } catch (e) {
    rec.error = e instanceof Error ? e.message : String(e);
  }
  rec.observers = [...byName.values()];
  return rec;
}

export async function measurePhases(o: PhasesOptions): Promise<PhasesResult> {
  const t0 = Date.now();
  const res: PhasesResult = {
    durationS: 0,
    options: { sizes: o.sizes, pairs: o.pairs, pollMs: o.pollMs, concurrency: o.concurrency, ipBases: o.ipBases },
    profile: { gossipIntervalMs: P.gossipInterval, gossipNodes: P.gossipNodes, retransmitMult: P.retransmitMult, pushPullIntervalMs: P.pushPullInterval },
    clusters: [],
    figures: [],
    errors: [],
  };
  let k = 0;
  // by size, each setup in turn within a size: the machine's load drifts over a run
  const sizes = [...new Set(SETUPS.flatMap((s) => o.sizes[s]))].sort((a, b) => a - b);
  for (const n of sizes) {
    for (const setup of SETUPS) {
      if (!o.sizes[setup].includes(n)) continue;
      if (Date.now() > o.deadlineAt) {
        res.errors.push(`deadline: ${setup} N=${n} not run`);
        continue;
      }
      const c = await runCluster(setup, n, o.ipBases[k++ % o.ipBases.length]!, o);
      res.clusters.push(c);
      if (c.error) res.errors.push(`${setup} N=${n}: ${c.error}`);
    }
  }
  res.figures = phaseFigures(res.clusters, o.pollMs);
  res.durationS = Math.round((Date.now() - t0) / 1000);
  return res;
}

export function phaseFigures(clusters: readonly ClusterPhases[], pollMs: number): PhaseFigures[] {
  const out: PhaseFigures[] = [];
  const fig = (setup: Setup, n: number, kind: Kind, pair: string, phases: PhaseRecord[], which: (o: ObserverRecord) => boolean): PhaseFigures => {
    const b = boundMs(n);
    const obs = phases.flatMap((p) => p.observers.filter(which));
    const ms = obs.map((x) => x.ms).filter((x): x is number => x !== null);
    const never = obs.filter((x) => x.ms === null).length;
    const failed = obs.filter((x) => x.failedMs !== null);
    return {
      setup, n, kind, pair, boundMs: b,
      phases: phases.length,
      observations: obs.length,
      medianMs: ms.length ? round(percentile(ms, 50), 0) : null,
      p99Ms: ms.length ? round(percentile(ms, 99), 0) : null,
      worstMs: never > 0 || !ms.length ? null : Math.max(...ms),
      overBound: obs.filter((x) => x.ms === null || x.ms > b + pollMs).length,
      never,
      listedFailed: failed.length,
      failedPhases: phases.filter((p) => p.observers.some((x) => which(x) && x.failedMs !== null)).length,
      failedAtEnd: obs.filter((x) => x.failedAtEnd).length,
    };
  };
  for (const c of clusters) {
    for (const kind of ['join', 'leave'] as const) {
      const phases = c.phases.filter((p) => p.kind === kind && p.error === null);
      if (!phases.length) continue;
      out.push(fig(c.setup, c.n, kind, 'all', phases, () => true));
      if (c.setup !== 'mixed') continue;
      for (const subj of ['rxswim', 'serf'] as const) {
        for (const obsImpl of ['rxswim', 'serf'] as const) {
          const ps = phases.filter((p) => p.subjectImpl === subj);
          out.push(fig(c.setup, c.n, kind, `${obsImpl}←${subj}`, ps, (x) => x.impl === obsImpl));
        }
      }
    }
  }
  return out;
}

/** the issue's goal: no member misses a join or a leave for longer than the bound, in at least this many phases */
export const GOAL_PHASES = 48;

export interface SetupTotals {
  setup: Setup;
  sizes: number[];
  phases: number;
  observations: number;
  /** observers over the bound (never included) */
  overBound: number;
  never: number;
  /** leave phases: observers that listed the leaver failed, and in how many phases */
  listedFailed: number;
  failedPhases: number;
  /** the slowest observer that did see it (ms), and its phase kind */
  worstMs: number | null;
  worstKind: Kind | null;
}

/** one setup's figures summed over its sizes and both phase kinds */
export function setupTotals(r: PhasesResult, setup: Setup): SetupTotals {
  const fs = r.figures.filter((f) => f.setup === setup && f.pair === 'all');
  const obs = r.clusters.filter((c) => c.setup === setup).flatMap((c) => c.phases.filter((p) => p.error === null).flatMap((p) => p.observers.map((o) => ({ kind: p.kind, ms: o.ms }))));
  const seen = obs.filter((o) => o.ms !== null) as Array<{ kind: Kind; ms: number }>;
  const worst = seen.reduce<{ kind: Kind; ms: number } | null>((w, o) => (w === null || o.ms > w.ms ? o : w), null);
  const sum = (k: 'phases' | 'observations' | 'overBound' | 'never' | 'listedFailed' | 'failedPhases') => fs.reduce((a, f) => a + f[k], 0);
  return { setup, sizes: [...new Set(fs.map((f) => f.n))], phases: sum('phases'), observations: sum('observations'), overBound: sum('overBound'), never: sum('never'), listedFailed: sum('listedFailed'), failedPhases: sum('failedPhases'), worstMs: worst?.ms ?? null, worstKind: worst?.kind ?? null };
}

/** the phase whose slowest observer was slowest (never = slowest of all) */
export function worstPhase(clusters: readonly ClusterPhases[], pred: (p: PhaseRecord) => boolean): PhaseRecord | null {
  let worst: PhaseRecord | null = null;
  let worstMs = -1;
  for (const p of clusters.flatMap((c) => c.phases).filter(pred)) {
    const ms = Math.max(...p.observers.map((x) => x.ms ?? Infinity), -1);
    if (ms > worstMs) {
      worst = p;
      worstMs = ms;
    }
  }
  return worst;
}

// ---------------------------------------------------------------- markdown

const sec = (ms: number | null | undefined, d = 2): string => (ms === null || ms === undefined ? '–' : (ms / 1000).toFixed(d));
const x = (r: number | null): string => (r === null ? '–' : `${r.toFixed(2)}×`);

function timeline(p: PhaseRecord): string[] {
  const out: string[] = [];
  out.push(`${p.setup} N = ${p.n}, phase ${p.index + 1}: ${p.kind} of ${p.subject} (${p.subjectImpl})${p.via ? ` via ${p.via}` : ''}; ${p.kind === 'join' ? `join call ${p.callMs} ms, joiner listed all N alive at ${p.joinerCompleteMs ?? 'never'} ms` : `process exited ${p.callMs} ms after its signal`}; bound ${p.boundMs} ms; load ${p.load}; poll gap p50 ${p.poll?.gapMsMedian ?? '–'} / p99 ${p.poll?.gapMsP99 ?? '–'} / max ${p.poll?.gapMsMax ?? '–'} ms. Each observer's states for ${p.subject} (ms since the ${p.kind}: state), slowest first:`);
  out.push('');
  const obs = [...p.observers].sort((a, b) => (b.ms ?? Infinity) - (a.ms ?? Infinity));
  for (const o of obs.slice(0, 12)) out.push(`- ${o.observer} (${o.impl}): ${o.transitions.map(([t, s]) => `${t}: ${s}`).join(' → ')}${o.ms === null ? ' (never within the phase)' : ''}`);
  if (obs.length > 12) out.push(`- … ${obs.length - 12} more, all within ${sec(obs[12]!.ms)} s`);
  return out;
}

export function renderPhases(r: PhasesResult): string {
  const o = r.options;
  const out: string[] = [];
  const sizes = (s: Setup) => (o.sizes[s].length ? o.sizes[s].join(', ') : '–');
  const tot = (t: SetupTotals) =>
    `${t.overBound} of ${t.observations} observations over the bound (${t.never} never within the phase) in ${t.phases} phases at N = ${t.sizes.join(', ') || '–'}; ${t.listedFailed} observers listed a leave failed (in ${t.failedPhases} leave phases); slowest observer that saw its change: ${sec(t.worstMs)} s${t.worstKind ? ` (a ${t.worstKind})` : ''}`;
  const rx = setupTotals(r, 'rxswim');
  const sf = setupTotals(r, 'serf');
  const mx = setupTotals(r, 'mixed');
  out.push(`**Summary** (goal: no member misses a join or a leave for longer than a few gossip rounds, in ≥ ${GOAL_PHASES} phases): **rxswim only**: ${tot(rx)}. **serf only**: ${tot(sf)}. **mixed**: ${tot(mx)}.`);
  out.push('');
  out.push(
    `Clusters of real agents on loopback (${o.ipBases.map((b) => `${b}.x`).join(', ')}), \`lan\` profile: rxswim only at N = ${sizes('rxswim')}, serf only at N = ${sizes('serf')}, and mixed (half rxswim, half serf) at N = ${sizes('mixed')}. Each cluster forms (every agent joins the first at once, a failed join retried twice through a random member, until every agent lists N alive), then runs ${o.pairs} leave + join pairs (${2 * o.pairs} phases): one agent at a time (each in turn, the seed last) **leaves** gracefully (rxswim SIGTERM, serf SIGINT: what an operator sends; the process leaves and exits), then **joins** again: restarted under the same name and address, and once its API answers, told to join a random other member (rxswim \`POST /v1/join\`, serf the \`join\` RPC). The delay is from the signal / the join call to the first answer of each other member that lists the subject left (serf: \`leaving\` or \`left\`; rxswim: \`left\`, or no longer listed) / alive. A leave is **listed failed** by an observer that showed it failed (rxswim \`dead\`) at any time in the phase. A join phase ends when every observer lists the joiner alive and the joiner lists all N alive (or after 2 push-pull intervals + 10 s: ${sec(joinTimeoutMs(8), 0)} s up to N = 32, ${sec(joinTimeoutMs(64), 0)} s at 64); a leave phase when every observer lists it left, or left or failed for ${FAILED_GRACE_MS / 1000} s (serf turns a failed member left on a late leave intent), or after ${LEAVE_TIMEOUT_MS / 1000} s. 1 s between phases.`,
  );
  out.push('');
  out.push(
    `**Bound ("a few gossip rounds")**: the time a broadcast needs to reach every member when nothing is lost, (ceil(log_${r.profile.gossipNodes} N) + RetransmitMult × ceil(log10(N + 1))) × gossipInterval = ${[...new Set(SETUPS.flatMap((s) => o.sizes[s]))].sort((a, b) => a - b).map((n) => `N = ${n}: ${gossipRounds(n)} rounds, ${sec(boundMs(n), 1)} s`).join('; ')} (gossipInterval ${r.profile.gossipIntervalMs} ms, gossipNodes ${r.profile.gossipNodes}, RetransmitMult ${r.profile.retransmitMult}). An observer is **over** when its delay exceeds the bound + one polling interval (${o.pollMs} ms); **never**: it did not list the change before its phase ended.`,
  );
  out.push('');
  out.push(
    `**Polling**: each observer is asked again ${o.pollMs} ms after its previous request started (rxswim \`GET /v1/members\` over kept-alive HTTP, serf the \`members\` RPC over a kept-open connection), at most ${o.concurrency} requests in flight; the delay is when the answer arrived. The resolution achieved (gaps between one observer's answers) and the bench process's own CPU are in the polling table below. Convergence before the phases is polled every ${CONVERGE_POLL_MS} ms.`,
  );
  out.push('');
  const figs = r.figures.filter((f) => f.pair === 'all');
  const get = (setup: Setup, n: number, kind: Kind) => figs.find((f) => f.setup === setup && f.n === n && f.kind === kind);
  out.push('### rxswim beside serf (each cluster of one implementation)');
  out.push('');
  out.push('| N | phase | bound s | phases rx / serf | observations rx / serf | median s rx / serf | p99 s rx / serf | worst s rx / serf | worst rx / serf | over the bound rx / serf | never rx / serf | listed failed rx / serf (phases) | failed at the end rx / serf |');
  out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const ns = [...new Set(figs.filter((f) => f.setup !== 'mixed').map((f) => f.n))].sort((a, b) => a - b);
  for (const n of ns) {
    for (const kind of ['join', 'leave'] as const) {
      const a = get('rxswim', n, kind);
      const b = get('serf', n, kind);
      if (!a && !b) continue;
      const pair = (k: keyof PhaseFigures, fmt: (v: number | null) => string) => `${fmt((a?.[k] as number | null) ?? null)} / ${fmt((b?.[k] as number | null) ?? null)}`;
      const num = (v: number | null) => (v === null ? '–' : String(v));
      const lf = kind === 'leave' ? `${a ? `${a.listedFailed} (${a.failedPhases})` : '–'} / ${b ? `${b.listedFailed} (${b.failedPhases})` : '–'}` : '';
      out.push(`| ${n} | ${kind} | ${sec(boundMs(n), 1)} | ${pair('phases', num)} | ${pair('observations', num)} | ${pair('medianMs', (v) => sec(v))} | ${pair('p99Ms', (v) => sec(v))} | ${pair('worstMs', (v) => sec(v))} | **${x(ratio(a?.worstMs, b?.worstMs))}** | **${pair('overBound', num)}** | ${pair('never', num)} | ${lf} | ${kind === 'leave' ? pair('failedAtEnd', num) : ''} |`);
    }
  }
  out.push('');
  const mixed = r.figures.filter((f) => f.setup === 'mixed');
  if (mixed.length) {
    out.push('### Mixed clusters (half rxswim, half serf)');
    out.push('');
    out.push('Rows by observer ← subject: e.g. serf ← rxswim is what the serf agents listed for an rxswim agent joining or leaving.');
    out.push('');
    out.push('| N | phase | observer ← subject | phases | observations | median s | p99 s | worst s | over the bound | never | listed failed (phases) | failed at the end |');
    out.push('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const f of mixed) {
      out.push(`| ${f.n} | ${f.kind} | ${f.pair === 'all' ? '**all**' : f.pair.replace('←', ' ← ')} | ${f.phases} | ${f.observations} | ${sec(f.medianMs)} | ${sec(f.p99Ms)} | ${f.never ? `never (${f.never})` : sec(f.worstMs)} | **${f.overBound}** | ${f.never} | ${f.kind === 'leave' ? `${f.listedFailed} (${f.failedPhases})` : ''} | ${f.kind === 'leave' ? f.failedAtEnd : ''} |`);
    }
    out.push('');
  }
  out.push('### Polling and clusters');
  out.push('');
  out.push('| setup | N | agents | up s | failed joins forming (retried) | converged s | phases | poll gap p50 / p99 / max ms (phases) | poller CPU % of a core (phases, mean) | load avg | error |');
  out.push('|---|---:|---|---:|---:|---:|---:|---|---:|---|---|');
  for (const c of r.clusters) {
    const polls = c.phases.map((p) => p.poll).filter((p): p is PollStats => p !== null);
    const gp = (k: 'gapMsMedian' | 'gapMsP99') => round(medianOf(polls.map((p) => p[k])), 0);
    const gmax = polls.length ? Math.max(...polls.map((p) => p.gapMsMax ?? 0)) : null;
    const cpu = polls.length ? round(polls.reduce((s, p) => s + (p.pollerCpuPct ?? 0) * p.windowMs, 0) / polls.reduce((s, p) => s + p.windowMs, 0), 1) : null;
    out.push(`| ${c.setup} | ${c.n} | ${Object.entries(c.counts).map(([k, v]) => `${v} ${k}`).join(' + ')} | ${sec(c.readyMs, 1)} | ${c.formationJoinErrors?.length ?? '–'} | ${sec(c.convergeMs, 1)} | ${c.phases.length} | ${gp('gapMsMedian') ?? '–'} / ${gp('gapMsP99') ?? '–'} / ${gmax === null ? '–' : Math.round(gmax)} | ${cpu ?? '–'} | ${c.load[0]} → ${c.load[1]} | ${c.error ?? ''} |`);
  }
  out.push('');
  out.push('Poll gap: the median over phases of each phase\'s median and p99 gap between one observer\'s consecutive answers, and the largest gap of any phase; a delay is known to within about one gap.');
  out.push('');
  out.push('### The worst phases');
  out.push('');
  out.push('Per setup and phase kind, the phase whose slowest observer was slowest (never counts as slowest), with every observer\'s states for the subject as the polls saw them.');
  out.push('');
  for (const setup of SETUPS) {
    for (const kind of ['join', 'leave'] as const) {
      const w = worstPhase(r.clusters, (p) => p.setup === setup && p.kind === kind);
      if (!w) continue;
      out.push(`**${setup === 'mixed' ? 'mixed' : `${setup} only`}, slowest ${kind}**: ${timeline(w).join('\n')}`);
      out.push('');
    }
  }
  const failedLeaves = r.clusters.flatMap((c) => c.phases).filter((p) => p.kind === 'leave' && p.observers.some((o2) => o2.failedMs !== null));
  if (failedLeaves.length) {
    out.push('Leaves listed failed (phase: observers that listed it failed, at ms):');
    out.push('');
    for (const p of failedLeaves.slice(0, 20)) {
      const f = p.observers.filter((o2) => o2.failedMs !== null);
      out.push(`- ${p.setup} N = ${p.n} #${p.index + 1}, ${p.subject} (${p.subjectImpl}) left: ${f.length} of ${p.observers.length} listed it failed: ${f.slice(0, 8).map((o2) => `${o2.observer} (${o2.impl}) at ${o2.failedMs}${o2.failedAtEnd ? ', still at the end' : `, left at ${o2.ms ?? 'never'}`}`).join('; ')}${f.length > 8 ? '; …' : ''}`);
    }
    if (failedLeaves.length > 20) out.push(`- … ${failedLeaves.length - 20} more phases (JSON)`);
    out.push('');
  }
  if (r.errors.length) {
    out.push('Errors:');
    out.push('');
    for (const e of r.errors) out.push(`- ${e}`);
    out.push('');
  }
  return out.join('\n');
}
