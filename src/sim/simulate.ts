// A whole-cluster experiment in virtual time: boot N real nodes on the in-memory
// network, let one node join late (dissemination), crash K nodes (detection), and
// measure what SWIM promises: detection time, dissemination in gossip rounds, false
// positives, and per-member load. The same options and seed give the same report.
import type { Profile, ProtocolOverrides } from '../config.js';
import { resolveConfig } from '../config.js';
import { detectionBoundMs } from '../swim/formulas.js';
import { createRandom } from './random.js';
import { VirtualCluster } from './virtual-cluster.js';

/** The scenario's timetable, in protocol time after convergence (and settling). */
export const SCENARIO = {
  /** the late node joins (its dissemination is measured) */
  joinAtMs: 5_000,
  /** the crashes happen (their detection is measured) */
  crashAtMs: 10_000,
  /** the least protocol time a run keeps after its last event, to see it land */
  observeMs: 1_000,
} as const;

/**
 * The least `durationMs` for which the scenario's join, and its crash when `crash > 0`,
 * happen inside the run (and a second of protocol time follows the last of them).
 */
export function minDurationMs(crash: number, joinAtMs: number = SCENARIO.joinAtMs, crashAtMs: number = SCENARIO.crashAtMs): number {
  return Math.max(joinAtMs, crash > 0 ? crashAtMs : 0) + SCENARIO.observeMs;
}

/**
 * The most nodes a run can crash: node-0 (everyone's seed) and the late joiner are never
 * crashed, so that members survive to observe the crash; every other node may be.
 */
export function maxCrash(nodes: number): number {
  return nodes - 1;
}

export interface SimulateOptions {
  nodes: number;
  seed: number;
  profile: Profile;
  /** probability each datagram is lost */
  loss: number;
  /** nodes crashed (kill -9) at crashAtMs; at most maxCrash(nodes) */
  crash: number;
  /** protocol time measured after the cluster has converged */
  durationMs: number;
  config?: ProtocolOverrides;
  latencyMs?: number;
  /**
   * when, after convergence, a new node joins (its dissemination is measured); a time at
   * or past durationMs means no join in this run (the report's joinAtMs is then null)
   */
  joinAtMs?: number;
  /** when, after convergence, the crashes happen; at or past durationMs: no crash (crashAtMs null) */
  crashAtMs?: number;
  /** protocol time to let the boot's gossip drain before measuring (default 0) */
  settleMs?: number;
  /** called every simulated second with progress in [0, 1] */
  onProgress?: (done: number, phase: string) => void;
  /**
   * stop every node once the report is made (default true). A process that exits right
   * after may skip it: stopping N² member actors costs seconds (3 s at 500 nodes) and
   * changes nothing in the report.
   */
  stopAtEnd?: boolean;
}

export interface SimulateReport {
  options: Omit<SimulateOptions, 'onProgress' | 'stopAtEnd'>;
  /** virtual ms the cluster took to converge (all alive everywhere) */
  convergeMs: number;
  /** when the late node joined, ms after the measurement start; null: no join was scheduled in the run */
  joinAtMs: number | null;
  /** when the crashes happened, ms after the measurement start; null: no crash was scheduled in the run */
  crashAtMs: number | null;
  crashed: string[];
  /** from the crash to the first member declaring a crashed node failed */
  firstDetectionMs: number | null;
  /** from the crash to every live member holding every crashed node failed */
  fullDetectionMs: number | null;
  /** what the configuration guarantees for full detection (see README) */
  detectionBoundMs: number;
  joiner: string;
  /** from the late join to every member holding the joiner alive */
  disseminationMs: number | null;
  disseminationRounds: number | null;
  /** measured rounds / ln(N) */
  disseminationC: number | null;
  /** healthy members declared failed / suspected (observer, member, time) */
  falseFailures: number;
  falseSuspicions: number;
  messagesPerNodePerSec: number;
  bytesPerNodePerSec: number;
  peakBroadcastQueue: number;
  /**
   * [seconds since measurement start, fewest members alive seen by any live member, mean],
   * sampled every whole second from 0 (and at the end); the late joiner counts as an
   * observer once its join has returned
   */
  aliveSeries: Array<[number, number, number]>;
  wall: { bootMs: number; runMs: number; nodeSecondsPerWallSecond: number; heapMB: number };
}

function detectionBound(profile: Profile, overrides: ProtocolOverrides | undefined, n: number): number {
  return detectionBoundMs(resolveConfig(profile, overrides ?? {}), n);
}

export async function simulate(opts: SimulateOptions): Promise<SimulateReport> {
  const n = opts.nodes;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`simulate: nodes must be an integer ≥ 2, got ${n}`);
  if (!Number.isInteger(opts.crash) || opts.crash < 0 || opts.crash > maxCrash(n)) {
    throw new RangeError(`simulate: crash must be an integer in [0, ${maxCrash(n)}] with ${n} nodes (node-0 and the late joiner survive to observe), got ${opts.crash}`);
  }
  if (!(opts.durationMs > 0)) throw new RangeError(`simulate: durationMs must be > 0, got ${opts.durationMs}`);
  const wall0 = performance.now();
  const c = new VirtualCluster({
    size: n,
    seed: opts.seed,
    profile: opts.profile,
    ...(opts.config ? { config: opts.config } : {}),
    latencyMs: opts.latencyMs ?? 1,
  });
  const progress = opts.onProgress ?? (() => {});
  // Boot: every node joins node-0, a few at a time, then wait for full convergence.
  // The report reads only events after the boot: the boot's N² joins are not kept.
  c.recordEvents = false;
  for (let i = 0; i < n; i++) await c.add(i);
  const seed = `${VirtualCluster.hostOf(0)}:7946`;
  for (let i = 1; i < n; i++) {
    const joined = c.nodes.get(`node-${i}`)!.join([seed]);
    await c.advance(10);
    await joined;
    if (i % 10 === 0) progress((0.3 * i) / n, 'booting');
  }
  const converged = await c.until(() => [...c.nodes.values()].every((x) => x.countByState().alive === n), 600_000, 100);
  const convergeMs = converged ?? c.now;
  const wallBoot = performance.now() - wall0;

  if (opts.settleMs) await c.advance(opts.settleMs);
  c.recordEvents = true;
  c.network.setLoss(opts.loss);
  const t0 = c.now;
  const statsAt0 = { ...c.network.stats };
  const rand = createRandom(opts.seed ^ 0x5eed);
  const joinAt = opts.joinAtMs ?? SCENARIO.joinAtMs;
  const crashAt = opts.crashAtMs ?? SCENARIO.crashAtMs;
  const crashed = new Set<string>();
  const joiner = `node-${n}`;
  let joinedAt: number | undefined;
  let joinerIn = false;
  let disseminatedAt: number | undefined;
  let crashTime: number | undefined;
  let fullDetection: number | undefined;
  let peakQueue = 0;
  const aliveSeries: Array<[number, number, number]> = [];
  const sample = (at: number) => {
    // The joiner sees only itself until its join returns: it is no observer before.
    const live = [...c.nodes.values()].filter((x) => x.name !== joiner || joinerIn);
    let min = Infinity;
    let sum = 0;
    for (const x of live) {
      const a = x.countByState().alive;
      min = Math.min(min, a);
      sum += a;
      peakQueue = Math.max(peakQueue, x.queueDepth);
    }
    aliveSeries.push([Math.round(at) / 1000, min, Math.round((sum / live.length) * 10) / 10]);
  };
  const wallRun0 = performance.now();

  sample(0);
  for (let t = 0; t < opts.durationMs; t += 100) {
    // `>=`, not `===`: an event time between two 100 ms steps still happens.
    if (joinedAt === undefined && t >= joinAt) {
      const node = await c.add(n);
      joinedAt = c.now;
      void node.join([seed]).then(() => { joinerIn = true; }, () => {});
    }
    if (crashTime === undefined && opts.crash > 0 && t >= crashAt) {
      const candidates = [...c.nodes.keys()].filter((k) => k !== 'node-0' && k !== joiner);
      while (crashed.size < opts.crash) crashed.add(candidates[Math.floor(rand() * candidates.length)]!);
      crashTime = c.now;
      for (const k of crashed) await c.crash(k);
    }
    await c.advance(100);
    const live = [...c.nodes.values()];
    if (joinedAt !== undefined && disseminatedAt === undefined && live.every((x) => x.name === joiner || x.member(joiner)?.state === 'alive')) {
      disseminatedAt = c.now;
    }
    if (crashTime !== undefined && fullDetection === undefined) {
      const done = live.every((x) => [...crashed].every((k) => { const s = x.member(k)?.state; return s === 'dead' || s === undefined; }));
      if (done) fullDetection = c.now;
    }
    const elapsed = t + 100;
    if (elapsed % 1000 === 0 || elapsed >= opts.durationMs) sample(c.now - t0);
    if (elapsed % 1000 === 0) progress(0.3 + (0.7 * elapsed) / opts.durationMs, 'running');
  }
  const wallRun = performance.now() - wallRun0;
  const seconds = (c.now - t0) / 1000;
  const stats = c.network.stats;
  const events = c.events.filter((e) => e.at >= t0);
  const firstFail = crashTime === undefined ? undefined : events.find((e) => e.type === 'failed' && crashed.has(e.member.name))?.at;
  const healthy = (name: string, observer: string) => !crashed.has(name) && !crashed.has(observer);
  const gossipInterval = resolveConfig(opts.profile, opts.config ?? {}).gossipInterval;
  const rounds = disseminatedAt !== undefined && joinedAt !== undefined ? (disseminatedAt - joinedAt) / gossipInterval : null;
  const report: SimulateReport = {
    options: { nodes: n, seed: opts.seed, profile: opts.profile, loss: opts.loss, crash: opts.crash, durationMs: opts.durationMs, ...(opts.config ? { config: opts.config } : {}) },
    convergeMs,
    joinAtMs: joinedAt === undefined ? null : joinedAt - t0,
    crashAtMs: crashTime === undefined ? null : crashTime - t0,
    crashed: [...crashed],
    firstDetectionMs: firstFail !== undefined && crashTime !== undefined ? firstFail - crashTime : null,
    fullDetectionMs: fullDetection !== undefined && crashTime !== undefined ? fullDetection - crashTime : null,
    detectionBoundMs: detectionBound(opts.profile, opts.config, n + 1),
    joiner,
    disseminationMs: rounds === null ? null : disseminatedAt! - joinedAt!,
    disseminationRounds: rounds,
    disseminationC: rounds === null ? null : Math.round((rounds / Math.log(n + 1)) * 100) / 100,
    falseFailures: events.filter((e) => e.type === 'failed' && healthy(e.member.name, e.observer)).length,
    falseSuspicions: events.filter((e) => e.type === 'suspected' && healthy(e.member.name, e.observer)).length,
    messagesPerNodePerSec: Math.round(((stats.sent - statsAt0.sent) / (n + 1) / seconds) * 100) / 100,
    bytesPerNodePerSec: Math.round((stats.bytes - statsAt0.bytes) / (n + 1) / seconds),
    peakBroadcastQueue: peakQueue,
    aliveSeries,
    wall: {
      bootMs: Math.round(wallBoot),
      runMs: Math.round(wallRun),
      nodeSecondsPerWallSecond: Math.round(((n + 1) * seconds) / (wallRun / 1000)),
      heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    },
  };
  if (opts.stopAtEnd ?? true) await c.stopAll();
  progress(1, 'done');
  return report;
}

// ---------------------------------------------------------------------------------
// The chart: members seen alive over time, drawn for reading a detection experiment.

/** The chart's canvas and plot area (SVG user units); the legend and the event labels sit outside the plot area. */
export const CHART = { width: 800, height: 440, plot: { left: 64, top: 116, right: 776, bottom: 356 } } as const;

const COLOR = { mean: '#1f77b4', min: '#ff7f0e', join: '#2ca02c', crash: '#d62728', detect: '#9467bd', grid: '#e8e8e8', axis: '#555' } as const;

/** 1, 2 or 5 × 10^k: the smallest such step that cuts `span` into at most `maxTicks` parts. */
function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0)) return 1;
  const raw = span / maxTicks;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * p >= raw * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function ticks(min: number, max: number, step: number): number[] {
  const out: number[] = [];
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + 1e-9; i++) out.push(Math.round(i * step * 1000) / 1000 + 0); // + 0: no -0
  return out;
}

/** The y axis: the data's range with a little padding, ends and ticks on integers. */
export function aliveAxis(series: ReadonlyArray<readonly [number, number, number]>): { min: number; max: number; ticks: number[] } {
  const values = series.flatMap((p) => [p[1], p[2]]).filter((v) => Number.isFinite(v));
  if (values.length === 0) return { min: 0, max: 1, ticks: [0, 1] };
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max(0.5, (hi - lo) * 0.08);
  const step = Math.max(1, niceStep(hi - lo + 2 * pad, 6));
  const min = Math.max(0, Math.floor((lo - pad) / step) * step);
  const max = Math.ceil((hi + pad) / step) * step;
  return { min, max, ticks: ticks(min, max, step) };
}

/** The x axis: 0 to the end of the run, in seconds, with 4 to 9 round ticks. */
export function timeAxis(endSeconds: number): { max: number; ticks: number[] } {
  const max = endSeconds > 0 ? endSeconds : 1;
  return { max, ticks: ticks(0, max, niceStep(max, 8)) };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sec(ms: number): string {
  return `${Math.round(ms / 10) / 100} s`;
}

/** A rough width of 12 px sans-serif text, enough to keep labels inside the canvas. */
function textWidth(s: string): number {
  return s.length * 7;
}

/** Put a label just right of x, or just left of it when it would run off the canvas. */
function label(x: number, y: number, text: string, color: string, cls: string): string {
  const w = textWidth(text);
  let at = x + 4;
  let anchor = 'start';
  if (at + w > CHART.width - 4) {
    anchor = 'end';
    at = x - 4 - w >= 4 ? x - 4 : CHART.width - 4;
  }
  // A white halo, so that the event lines this label crosses do not strike it through.
  return `<text class="${cls}" x="${at.toFixed(1)}" y="${y}" text-anchor="${anchor}" fill="${color}" stroke="white" stroke-width="4" stroke-linejoin="round" paint-order="stroke">${esc(text)}</text>`;
}

/**
 * An SVG line chart of members seen alive (fewest over live members, and the mean) over
 * time. The y axis spans the data, so that one member more or less is a visible step; the
 * late join and the crash are vertical lines labelled above the plot, with the dissemination
 * and the detection times (first member, all members, and the bound) beside them; the
 * legend sits under the plot.
 */
export function aliveChartSvg(r: SimulateReport): string {
  const { width: W, height: H, plot: P } = CHART;
  const series = r.aliveSeries;
  const end = Math.max(r.options.durationMs / 1000, ...series.map((p) => p[0]));
  const xa = timeAxis(end);
  const ya = aliveAxis(series);
  const x = (s: number) => P.left + ((P.right - P.left) * s) / xa.max;
  const y = (v: number) => P.bottom - ((P.bottom - P.top) * (v - ya.min)) / (ya.max - ya.min);
  const f = (v: number) => v.toFixed(1);
  const points = (i: 1 | 2) => series.map((p) => `${f(x(p[0]))},${f(y(p[i]))}`).join(' ');
  const o = r.options;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text class="title" x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(`rxswim simulate: ${o.nodes} nodes + 1 joining late, profile ${o.profile}, loss ${Math.round(o.loss * 1000) / 10} %, seed ${o.seed}`)}</text>`,
  ];
  const crashedText = r.crashed.length === 0 ? 'no crash' : `crashed: ${r.crashed.length <= 4 ? r.crashed.join(', ') : `${r.crashed.slice(0, 4).join(', ')} and ${r.crashed.length - 4} more`}`;
  out.push(`<text class="subtitle" x="${W / 2}" y="42" text-anchor="middle" fill="#444">${esc(`${crashedText}; detection bound for this configuration ${sec(r.detectionBoundMs)}`)}</text>`);

  // Grid and axes.
  out.push(`<g class="plot" data-x-max="${xa.max}" data-y-min="${ya.min}" data-y-max="${ya.max}">`);
  for (const t of ya.ticks) out.push(`<line x1="${P.left}" y1="${f(y(t))}" x2="${P.right}" y2="${f(y(t))}" stroke="${COLOR.grid}"/>`);
  for (const t of xa.ticks) out.push(`<line x1="${f(x(t))}" y1="${P.top}" x2="${f(x(t))}" y2="${P.bottom}" stroke="${COLOR.grid}"/>`);
  out.push(`<rect class="plot-area" x="${P.left}" y="${P.top}" width="${P.right - P.left}" height="${P.bottom - P.top}" fill="none" stroke="${COLOR.axis}"/>`);
  for (const t of ya.ticks) {
    out.push(`<line x1="${P.left - 5}" y1="${f(y(t))}" x2="${P.left}" y2="${f(y(t))}" stroke="${COLOR.axis}"/>`);
    out.push(`<text class="tick-y" x="${P.left - 8}" y="${f(y(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  for (const t of xa.ticks) {
    out.push(`<line x1="${f(x(t))}" y1="${P.bottom}" x2="${f(x(t))}" y2="${P.bottom + 5}" stroke="${COLOR.axis}"/>`);
    out.push(`<text class="tick-x" x="${f(x(t))}" y="${P.bottom + 19}" text-anchor="middle">${t} s</text>`);
  }
  out.push(`<text class="axis-title" x="${(P.left + P.right) / 2}" y="${P.bottom + 37}" text-anchor="middle">time after convergence</text>`);
  const midY = (P.top + P.bottom) / 2;
  out.push(`<text class="axis-title" x="18" y="${midY}" text-anchor="middle" transform="rotate(-90 18 ${midY})">members alive (suspects excluded)</text>`);

  // The events: join, crash, detection. Their lines run through the plot; their labels sit above it.
  const rowJoin = P.top - 44;
  const rowCrash = P.top - 26;
  const rowDetect = P.top - 10;
  if (r.joinAtMs !== null) {
    const jx = x(r.joinAtMs / 1000);
    const known = r.disseminationMs === null ? 'not known to all by the end' : `known to all +${sec(r.disseminationMs)}`;
    out.push(`<line class="marker marker-join" data-t="${r.joinAtMs / 1000}" x1="${f(jx)}" y1="${rowJoin - 12}" x2="${f(jx)}" y2="${P.bottom}" stroke="${COLOR.join}" stroke-width="1.5"/>`);
    out.push(label(jx, rowJoin, `${r.joiner} joins at ${sec(r.joinAtMs)}, ${known}`, COLOR.join, 'marker-label'));
  }
  if (r.crashAtMs !== null) {
    const cs = r.crashAtMs / 1000;
    const cx = x(cs);
    out.push(`<line class="marker marker-crash" data-t="${cs}" x1="${f(cx)}" y1="${rowCrash - 12}" x2="${f(cx)}" y2="${P.bottom}" stroke="${COLOR.crash}" stroke-width="1.5"/>`);
    out.push(label(cx, rowCrash, `crash of ${r.crashed.length} at ${sec(r.crashAtMs)}`, COLOR.crash, 'marker-label'));
    const at = (ms: number | null) => (ms === null ? null : x(Math.min(xa.max, cs + ms / 1000)));
    const first = at(r.firstDetectionMs);
    const all = at(r.fullDetectionMs);
    for (const [cls, px, ms] of [['first', first, r.firstDetectionMs], ['all', all, r.fullDetectionMs]] as const) {
      if (px === null) continue;
      out.push(`<line class="marker marker-detect-${cls}" data-t="${cs + ms! / 1000}" x1="${f(px)}" y1="${rowDetect + 2}" x2="${f(px)}" y2="${P.bottom}" stroke="${COLOR.detect}" stroke-dasharray="2 3"/>`);
    }
    const bracketEnd = all ?? P.right;
    out.push(`<line class="detect-span" x1="${f(cx)}" y1="${rowDetect + 6}" x2="${f(bracketEnd)}" y2="${rowDetect + 6}" stroke="${COLOR.detect}" stroke-width="2"/>`);
    const bound = `(bound ${sec(r.detectionBoundMs)})`;
    const text = r.firstDetectionMs === null
      ? `not declared failed before the end of the run ${bound}`
      : `declared failed by the first member +${sec(r.firstDetectionMs)}, ${r.fullDetectionMs === null ? 'not by all before the end' : `by all +${sec(r.fullDetectionMs)}`} ${bound}`;
    out.push(label(cx, rowDetect, text, COLOR.detect, 'detect-label'));
  }

  // The data.
  out.push(`<polyline class="series-mean" fill="none" stroke="${COLOR.mean}" stroke-width="2" points="${points(2)}"/>`);
  out.push(`<polyline class="series-min" fill="none" stroke="${COLOR.min}" stroke-width="1.5" stroke-dasharray="5 3" points="${points(1)}"/>`);
  out.push(`</g>`);

  // The legend, under the plot.
  const entries = [
    { text: 'mean members alive per member', color: COLOR.mean, dash: '' },
    { text: 'fewest alive seen by any member', color: COLOR.min, dash: ' stroke-dasharray="5 3"' },
  ];
  const entryW = entries.map((e) => 28 + textWidth(e.text) + 20);
  const boxW = entryW.reduce((a, b) => a + b, 0) + 8;
  const boxX = Math.round((W - boxW) / 2);
  const boxY = P.bottom + 48;
  out.push(`<g class="legend">`, `<rect class="legend-box" x="${boxX}" y="${boxY}" width="${Math.round(boxW)}" height="24" fill="white" stroke="#bbb"/>`);
  let ex = boxX + 10;
  entries.forEach((e, i) => {
    out.push(`<line x1="${f(ex)}" y1="${boxY + 12}" x2="${f(ex + 22)}" y2="${boxY + 12}" stroke="${e.color}" stroke-width="2"${e.dash}/>`);
    out.push(`<text x="${f(ex + 28)}" y="${boxY + 16}">${esc(e.text)}</text>`);
    ex += entryW[i]!;
  });
  out.push(`</g>`, `</svg>`);
  return out.join('\n');
}
