// The figures against the issue's goals, one row per figure, computed from a run's
// results (nothing here is a measured figure of its own, and no goal is met by default:
// a figure that was not measured is "not measured").
import type { Results } from '../run.js';
import { median } from './stats.js';
import { GOAL_PHASES, setupTotals } from './phases.js';
import type { Steady } from './steady.js';

export interface GoalRow {
  /** the report section the figure comes from */
  section: string;
  figure: string;
  unit: string;
  rxswim: number | null;
  serf: number | null;
  /** rxswim / serf */
  ratio: number | null;
  /** the issue's goal, in words ('–': the issue sets none for this figure) */
  goal: string;
  /** what the goal was checked on, e.g. "0.85× serf", "1.06× the floor (62.3 MB)" */
  against: string;
  /** null: no goal, or not measured */
  met: boolean | null;
}

/** the sizes the issue sets idle-CPU and RSS goals at */
export const GOAL_SIZES = [8, 32, 64];
export const GOALS = { idleCpuVsSerf: 1.0, rssVsFloor: 1.1, startCpuMs: 300, sim500WallS: 60, sim2000WallS: 600, joinsAtN: 64, convergeN: 128 };

const r2 = (v: number): number => Math.round(v * 100) / 100;
const rat = (a: number | null | undefined, b: number | null | undefined): number | null => (a === null || a === undefined || b === null || b === undefined || b === 0 ? null : r2(a / b));
const num = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

export function goalRows(r: Results): GoalRow[] {
  const rows: GoalRow[] = [];
  const steady = (impl: string, n: number): Steady | undefined => r.steady.find((s) => s.impl === impl && s.n === n);
  const lone = r.lone ?? null;
  const floorMB = num(lone?.median.floor.rssMB);

  // 1. idle CPU per agent
  for (const n of GOAL_SIZES) {
    const a = num(steady('rxswim', n)?.cpuPctMedian);
    const b = num(steady('serf', n)?.cpuPctMedian);
    const q = rat(a, b);
    const settle = steady('rxswim', n)?.settleS ?? r.plan.settleS;
    rows.push({ section: '3', figure: `idle CPU per agent, N = ${n} (median over agents, ${settle} s after convergence)`, unit: '%', rxswim: a, serf: b, ratio: q, goal: `≤ ${GOALS.idleCpuVsSerf.toFixed(1)}× serf`, against: q === null ? 'not measured' : `${q.toFixed(2)}× serf`, met: a === null || b === null ? null : a <= GOALS.idleCpuVsSerf * b });
  }
  {
    const a = num(lone?.median.rxswim.cpuPct);
    const b = num(lone?.median.serf.cpuPct);
    rows.push({ section: '0', figure: 'idle CPU, a lone agent', unit: '%', rxswim: a, serf: b, ratio: rat(a, b), goal: '–', against: '–', met: null });
  }

  // 2. event-loop wakeups
  for (const n of GOAL_SIZES) {
    const a = num(steady('rxswim', n)?.epollPerSec);
    const b = num(steady('serf', n)?.epollPerSec);
    rows.push({ section: '3', figure: `event-loop wakeups of one agent, N = ${n}`, unit: '/s', rxswim: a, serf: b, ratio: rat(a, b), goal: '–', against: '–', met: null });
  }
  {
    const a = num(lone?.median.rxswim.epollPerSec);
    const b = num(lone?.median.serf.epollPerSec);
    rows.push({ section: '0', figure: 'event-loop wakeups, a lone agent', unit: '/s', rxswim: a, serf: b, ratio: rat(a, b), goal: '–', against: '–', met: null });
  }

  // 3. RSS against the floor measured in the same run
  const rssRow = (figure: string, section: string, a: number | null, b: number | null): GoalRow => {
    const q = rat(a, floorMB);
    return { section, figure, unit: 'MB', rxswim: a, serf: b, ratio: rat(a, b), goal: `≤ ${GOALS.rssVsFloor}× an empty Node with the same dependencies`, against: q === null ? (floorMB === null ? 'floor not measured' : 'not measured') : `${q.toFixed(2)}× the floor (${floorMB} MB)`, met: a === null || floorMB === null ? null : a <= GOALS.rssVsFloor * floorMB };
  };
  for (const n of GOAL_SIZES) rows.push(rssRow(`RSS per agent, N = ${n} (median over agents)`, '3', num(steady('rxswim', n)?.rssMBMedian), num(steady('serf', n)?.rssMBMedian)));
  rows.push(rssRow('RSS, a lone agent', '0', num(lone?.median.rxswim.rssMB), num(lone?.median.serf.rssMB)));

  // 4. start-up CPU
  {
    const a = num(lone?.startMedian.rxswim.cpuMs);
    const b = num(lone?.startMedian.serf.cpuMs);
    // the ratio from schedstat: serf spends less than one 10 ms clock tick
    const q = rat(lone?.startMedian.rxswim.schedCpuMs, lone?.startMedian.serf.schedCpuMs);
    rows.push({ section: '0', figure: `start-up CPU until the API answers (median of ${lone?.startReps ?? 0}; ratio from schedstat)`, unit: 'ms', rxswim: a, serf: b, ratio: q, goal: `≤ ${GOALS.startCpuMs} ms`, against: a === null ? 'not measured' : `${a} ms`, met: a === null ? null : a <= GOALS.startCpuMs });
  }

  // 5. joins: concurrent and serial at N = 64, convergence at N = 128
  const N = GOALS.joinsAtN;
  {
    const runs = (impl: string) => r.clusters.filter((c) => c.impl === impl && c.n === N);
    const failed = (impl: string) => (runs(impl).length ? runs(impl).reduce((s, c) => s + c.joinErrors.length, 0) : null);
    const a = failed('rxswim');
    const b = failed('serf');
    const rx = runs('rxswim');
    const attempted = rx.length * (N - 1);
    rows.push({ section: '2', figure: `failed joins, ${N - 1} at once to one seed, N = ${N} (over ${rx.length} run${rx.length === 1 ? '' : 's'})`, unit: 'joins', rxswim: a, serf: b, ratio: null, goal: `all ${N - 1} succeed`, against: a === null ? 'not measured' : `${attempted - a}/${attempted} succeeded`, met: a === null ? null : a === 0 && rx.every((c) => c.readyMs !== null) });
  }
  {
    const sj = (impl: string) => (r.serialJoins ?? []).find((s) => s.impl === impl && s.n === N);
    const a = sj('rxswim');
    const b = sj('serf');
    const fa = a ? a.joinErrors.length + (N - 1 - a.joins) : null;
    const fb = b ? b.joinErrors.length + (N - 1 - b.joins) : null;
    rows.push({ section: '2', figure: `failed joins, ${N - 1} one after another to one seed, N = ${N} (not issued counted as failed)`, unit: 'joins', rxswim: fa, serf: fb, ratio: null, goal: `all ${N - 1} succeed`, against: fa === null ? 'not measured' : `${N - 1 - fa}/${N - 1} succeeded`, met: fa === null ? null : fa === 0 });
    const ta = num(a?.totalMs);
    const tb = num(b?.totalMs);
    rows.push({ section: '2', figure: `serial joins, N = ${N}: first join issued → last returned`, unit: 's', rxswim: ta === null ? null : ta / 1000, serf: tb === null ? null : tb / 1000, ratio: rat(ta, tb), goal: '–', against: '–', met: null });
  }
  {
    const M = GOALS.convergeN;
    const c = (impl: string) => r.clusters.find((x) => x.impl === impl && x.n === M);
    const a = c('rxswim');
    const b = c('serf');
    const ca = num(a?.convergeMs);
    const cb = num(b?.convergeMs);
    rows.push({
      section: '2',
      figure: `N = ${M}: ${M - 1} join one seed at once, every view complete`,
      unit: 's',
      rxswim: ca === null ? null : ca / 1000,
      serf: cb === null ? null : cb / 1000,
      ratio: rat(ca, cb),
      goal: `${M} agents converge`,
      against: a ? (ca !== null ? `converged, ${a.joinErrors.length} failed joins` : `did not converge${a.convergeTimeoutMs ? ` within ${a.convergeTimeoutMs / 1000} s` : ''}: ${a.error ?? ''}`) : 'not measured',
      met: a ? ca !== null : null,
    });
    const ja = num(a?.joinCpuSecPerAgent);
    const jb = num(b?.joinCpuSecPerAgent);
    rows.push({ section: '2', figure: `N = ${M}: CPU per agent from the joins to 99 % complete`, unit: 's', rxswim: ja, serf: jb, ratio: rat(ja, jb), goal: '–', against: '–', met: null });
  }

  // 6. simulator
  for (const [nodes, capS] of [[500, GOALS.sim500WallS], [2000, GOALS.sim2000WallS]] as const) {
    // the median over every run of this size: a run that did not finish counts as over the cap
    const runs = r.simulator.filter((x) => x.nodes === nodes && x.durationMs === 120_000);
    const errs = (r.simulatorErrors ?? []).filter((x) => x.nodes === nodes && x.durationMs === 120_000);
    const walls = [...runs.map((x) => r2((x.bootMs + x.runMs) / 1000)), ...errs.map(() => Infinity)].sort((a, b) => a - b);
    // median() interpolates; between two unfinished runs that is Infinity − Infinity (NaN)
    const m = walls.length === 0 ? null : median(walls);
    const mid = m === null ? null : Number.isNaN(m) ? Infinity : r2(m);
    const wallS = mid !== null && Number.isFinite(mid) ? mid : null;
    const each = walls.map((w) => (Number.isFinite(w) ? `${w}` : 'unfinished')).join(', ');
    rows.push({
      section: '4',
      figure: `simulator, ${nodes} nodes × 120 s: wall (boot + run)${walls.length > 1 ? `, median of ${walls.length}` : ''}`,
      unit: 's',
      rxswim: wallS,
      serf: null,
      ratio: null,
      goal: `≤ ${capS} s`,
      against: walls.length === 0 ? (nodes === 2000 ? 'not run (--sim-big runs it)' : 'not measured') : mid === Infinity ? `did not finish: ${errs[0]!.error}` : walls.length > 1 ? `${wallS} s (${each})` : `${wallS} s`,
      met: mid === null ? null : mid <= capS,
    });
  }

  // 7. the other modules' sections (no goal in the issue)
  const w = r.wireRtt?.result;
  for (const k of ['p50Us', 'p99Us'] as const) {
    const a = num(w?.median.rxswim[k]);
    const b = num(w?.median.serf[k]);
    rows.push({ section: '5', figure: `wire ping→ack RTT at SWIM's rate, N = ${w?.n ?? 8}: ${k.slice(0, 3)}`, unit: 'µs', rxswim: a, serf: b, ratio: rat(a, b), goal: '–', against: '–', met: null });
  }
  const bj = r.bigJoin?.result;
  {
    const a = num(bj?.median.rxswim.listedMs);
    const b = num(bj?.median.serf.listedMs);
    rows.push({ section: '6', figure: `one push-pull join bringing ${bj?.members ?? 10_000} members: until the member API lists them all`, unit: 's', rxswim: a === null ? null : a / 1000, serf: b === null ? null : b / 1000, ratio: rat(a, b), goal: '–', against: '–', met: null });
  }
  // 8. join and leave phases (issue 12): no member misses a join or a leave for longer than a few gossip rounds
  const ph = r.phases?.result;
  if (ph) {
    const rx = setupTotals(ph, 'rxswim');
    const sf = setupTotals(ph, 'serf');
    const mx = setupTotals(ph, 'mixed');
    const phasesOf = (t: typeof rx) => `${t.phases} phases at N = ${t.sizes.join(', ') || '–'}`;
    rows.push({ section: '7', figure: `observers over "a few gossip rounds" in join/leave phases, one-implementation clusters (${phasesOf(rx)}; serf ${phasesOf(sf)})`, unit: 'observers', rxswim: rx.overBound, serf: sf.overBound, ratio: null, goal: `0 in ≥ ${GOAL_PHASES} phases`, against: `${rx.overBound} of ${rx.observations} (${rx.never} never) in ${rx.phases} phases`, met: rx.phases >= GOAL_PHASES && rx.overBound === 0 });
    rows.push({ section: '7', figure: `observers over the bound, mixed clusters (half serf; ${phasesOf(mx)}; every observer, serf's included)`, unit: 'observers', rxswim: mx.phases ? mx.overBound : null, serf: null, ratio: null, goal: '0', against: mx.phases ? `${mx.overBound} of ${mx.observations} (${mx.never} never)` : 'not measured', met: mx.phases ? mx.overBound === 0 : null });
    rows.push({ section: '7', figure: 'observers that listed a graceful leave failed, one-implementation clusters', unit: 'observers', rxswim: rx.listedFailed, serf: sf.listedFailed, ratio: null, goal: '0', against: `${rx.listedFailed} in ${rx.failedPhases} leave phases`, met: rx.phases ? rx.listedFailed === 0 : null });
    rows.push({ section: '7', figure: 'observers that listed a graceful leave failed, mixed clusters', unit: 'observers', rxswim: mx.phases ? mx.listedFailed : null, serf: null, ratio: null, goal: '0', against: mx.phases ? `${mx.listedFailed} in ${mx.failedPhases} leave phases` : 'not measured', met: mx.phases ? mx.listedFailed === 0 : null });
    const w = (t: typeof rx) => (t.worstMs === null ? null : t.worstMs / 1000);
    rows.push({ section: '7', figure: 'slowest observer that saw its join or leave, one-implementation clusters', unit: 's', rxswim: w(rx), serf: w(sf), ratio: rat(rx.worstMs, sf.worstMs), goal: '–', against: '–', met: null });
  }
  return rows;
}
