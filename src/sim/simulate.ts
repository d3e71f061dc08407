// A whole-cluster experiment in virtual time: boot N real nodes on the in-memory
// network, let one node join late (dissemination), crash K nodes (detection), and
// measure what SWIM promises: detection time, dissemination in gossip rounds, false
// positives, and per-member load. The same options and seed give the same report.
import type { Profile, ProtocolOverrides } from '../config.js';
import { resolveConfig } from '../config.js';
import { detectionBoundMs } from '../swim/formulas.js';
import { createRandom } from './random.js';
import { VirtualCluster } from './virtual-cluster.js';

export interface SimulateOptions {
  nodes: number;
  seed: number;
  profile: Profile;
  /** probability each datagram is lost */
  loss: number;
  /** nodes crashed (kill -9) at crashAtMs */
  crash: number;
  /** protocol time measured after the cluster has converged */
  durationMs: number;
  config?: ProtocolOverrides;
  latencyMs?: number;
  /** when, after convergence, a new node joins (its dissemination is measured) */
  joinAtMs?: number;
  /** when, after convergence, the crashes happen */
  crashAtMs?: number;
  /** protocol time to let the boot's gossip drain before measuring (default 0) */
  settleMs?: number;
  /** called every simulated second with progress in [0, 1] */
  onProgress?: (done: number, phase: string) => void;
}

export interface SimulateReport {
  options: Omit<SimulateOptions, 'onProgress'>;
  /** virtual ms the cluster took to converge (all alive everywhere) */
  convergeMs: number;
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
  /** [seconds since measurement start, min members alive seen by any live node, mean] */
  aliveSeries: Array<[number, number, number]>;
  wall: { bootMs: number; runMs: number; nodeSecondsPerWallSecond: number; heapMB: number };
}

function detectionBound(profile: Profile, overrides: ProtocolOverrides | undefined, n: number): number {
  return detectionBoundMs(resolveConfig(profile, overrides ?? {}), n);
}

export async function simulate(opts: SimulateOptions): Promise<SimulateReport> {
  const wall0 = performance.now();
  const n = opts.nodes;
  const c = new VirtualCluster({
    size: n,
    seed: opts.seed,
    profile: opts.profile,
    ...(opts.config ? { config: opts.config } : {}),
    latencyMs: opts.latencyMs ?? 1,
  });
  const progress = opts.onProgress ?? (() => {});
  // Boot: every node joins node-0, a few at a time, then wait for full convergence.
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
  c.network.setLoss(opts.loss);
  const t0 = c.now;
  const statsAt0 = { ...c.network.stats };
  const rand = createRandom(opts.seed ^ 0x5eed);
  const joinAt = opts.joinAtMs ?? 5_000;
  const crashAt = opts.crashAtMs ?? 10_000;
  const crashed = new Set<string>();
  const joiner = `node-${n}`;
  let joinedAt: number | undefined;
  let disseminatedAt: number | undefined;
  let crashTime: number | undefined;
  let fullDetection: number | undefined;
  let peakQueue = 0;
  const aliveSeries: Array<[number, number, number]> = [];
  const wallRun0 = performance.now();

  for (let t = 0; t < opts.durationMs; t += 100) {
    if (t === joinAt) {
      const node = await c.add(n);
      joinedAt = c.now;
      void node.join([seed]).catch(() => {});
    }
    if (t === crashAt && opts.crash > 0) {
      const candidates = [...c.nodes.keys()].filter((k) => k !== 'node-0' && k !== joiner);
      while (crashed.size < Math.min(opts.crash, candidates.length)) crashed.add(candidates[Math.floor(rand() * candidates.length)]!);
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
    if (t % 1000 === 0) {
      let min = Infinity;
      let sum = 0;
      for (const x of live) {
        const a = x.countByState().alive;
        min = Math.min(min, a);
        sum += a;
        peakQueue = Math.max(peakQueue, x.queueDepth);
      }
      aliveSeries.push([t / 1000, min, Math.round((sum / live.length) * 10) / 10]);
      progress(0.3 + (0.7 * t) / opts.durationMs, 'running');
    }
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
  await c.stopAll();
  progress(1, 'done');
  return report;
}

/** An SVG line chart of members seen alive (min and mean over live nodes) over time. */
export function aliveChartSvg(r: SimulateReport): string {
  const W = 720;
  const H = 320;
  const pad = 48;
  const xs = r.aliveSeries.map((p) => p[0]);
  const maxX = Math.max(1, ...xs);
  const maxY = r.options.nodes + 1;
  const x = (v: number) => pad + ((W - 2 * pad) * v) / maxX;
  const y = (v: number) => H - pad - ((H - 2 * pad) * v) / maxY;
  const line = (i: 1 | 2) => r.aliveSeries.map((p) => `${x(p[0]).toFixed(1)},${y(p[i]).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => Math.round(maxY * f));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">rxswim simulate: ${r.options.nodes} nodes, ${r.options.profile}, loss ${r.options.loss}, ${r.crashed.length} crashed (seed ${r.options.seed})</text>`,
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="black"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="black"/>`,
    ...ticks.map((t) => `<text x="${pad - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`),
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">seconds after convergence</text>`,
    `<text x="${W - pad}" y="${H - pad + 16}" text-anchor="end">${maxX}</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line(2)}"/>`,
    `<polyline fill="none" stroke="#d62728" stroke-width="1.5" stroke-dasharray="4 3" points="${line(1)}"/>`,
    `<text x="${W - pad}" y="${pad}" text-anchor="end" fill="#1f77b4">mean members alive per node</text>`,
    `<text x="${W - pad}" y="${pad + 16}" text-anchor="end" fill="#d62728">fewest alive seen by any node</text>`,
    `</svg>`,
  ].join('\n');
}
