// The churn soak: real agents on loopback, a random fault every few seconds (kill -9 and a
// later restart under the same name, a short and a long SIGSTOP, a graceful leave and a
// later re-join, a new agent joining), a truth model of what each agent should be, and a
// check of every settled view against it after each change's settling bound
// (lib/soak-bounds.ts, lib/soak-truth.ts). Memory of every agent is sampled throughout
// (lib/soak-memory.ts). Used by bench/soak.ts (30 min by default) and by
// test/e2e/soak.test.ts (2 min in CI). Measures and records; asserting is the caller's.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRESETS, type Profile } from '../../src/config.js';
import { createRandom } from '../../src/sim/random.js';
import type { View } from './cluster.js';
import { httpJson, httpText } from './http.js';
import { rssMB } from './procstat.js';
import { settleBounds, type SettleBounds } from './soak-bounds.js';
import { Fleet, type FleetMember } from './soak-fleet.js';
import { promValue, trendOf, type MemorySeries, type Trend } from './soak-memory.js';
import { CATEGORIES, Checker, TruthModel, type Category, type ObserverCounts, type Violation } from './soak-truth.js';
import { medianOf, round, sleep } from './stats.js';

export interface SoakOptions {
  /** churn and drain, from the moment the initial cluster has converged */
  minutes: number;
  /** rxswim agents at the start, and the most at once (new agents join up to it) */
  agents: number;
  maxAgents: number;
  /** real serf agents mixed in (churned like the others) */
  serf: number;
  /** rxswim agents never churned: every (re)start joins them */
  anchors: number;
  /** mean seconds between two random actions (±40 %) */
  everyS: number;
  seed: number;
  profile: Profile;
  /** where the agents bind: rxswim at rxNet.rxFirst and up, serf at serfNet.201 and up */
  rxNet: string;
  rxFirst: number;
  serfNet: string;
  pollMs: number;
  sampleMs: number;
  /** minutes of each process's life left out of its memory trend */
  warmupMin: number;
  /** a memory slope above this (KB/min, and > 3 standard errors) is flagged as an upward trend */
  trendKBPerMin: number;
  /** most members down (crashed, paused, left, starting) at once; default a third of them */
  maxDown?: number;
  /** these kinds first, in this order (each when it fits), then random ones: a short run still does every fault */
  firstKinds?: Array<'kill' | 'pauseShort' | 'pauseLong' | 'leave' | 'join'>;
}

export type ActionKind = 'kill' | 'restart' | 'pauseShort' | 'pauseLong' | 'resume' | 'leave' | 'rejoin' | 'join';
export const ACTION_KINDS: readonly ActionKind[] = ['kill', 'restart', 'pauseShort', 'pauseLong', 'resume', 'leave', 'rejoin', 'join'];

export interface ActionRecord {
  id: number;
  kind: ActionKind;
  member: string;
  impl: string;
  /** ms since the start of the churn: issued, and when the truth changed (kill: exited; restart/join: answering) */
  atMs: number;
  effectiveMs: number | null;
  truth: string;
  boundMs: number;
  epoch: number | null;
  /** read back from the kernel or the agent: see lib/soak-fleet.ts */
  proof: Record<string, unknown>;
  proofOk: boolean;
  /**
   * ms from effectiveMs until every settled rxswim observer agreed (the outcome is judged
   * on these); null when they never did, or the member changed again first (superseded:
   * a member is changed again only once settled, so its bound had passed)
   */
  convergedMs: number | null;
  /** the same over every settled observer, serf agents included */
  convergedAllMs: number | null;
  outcome: 'converged' | 'late' | 'superseded' | 'never' | 'failed';
  error?: string;
}

export interface TimelineEntry {
  /** ms since the start of the churn (agent logs: their own wall clock) */
  atMs: number;
  who: string;
  what: string;
}

export interface SoakViolation extends Violation {
  timeline: TimelineEntry[];
}

export interface KindSummary {
  kind: ActionKind;
  count: number;
  converged: number;
  late: number;
  never: number;
  superseded: number;
  failed: number;
  convergedMsMedian: number | null;
  convergedMsMax: number | null;
  boundMs: number;
}

export interface SoakResult {
  options: SoakOptions;
  bounds: SettleBounds;
  startedAt: string;
  /** from the first start to the end; and of churn + drain */
  durationS: number;
  churnS: number;
  initialConvergeMs: number | null;
  load: [number, number];
  actions: ActionRecord[];
  kinds: KindSummary[];
  observers: Record<string, ObserverCounts>;
  /** violations by category, by the observer's implementation */
  totals: Record<string, Record<Category, number>>;
  checks: number;
  rounds: number;
  /** answers missing from polling rounds (an agent too busy to answer in time) */
  unanswered: number;
  violations: SoakViolation[];
  memory: { series: MemorySeries[]; trends: Trend[]; warmupMin: number; trendKBPerMin: number };
  errors: string[];
  /** why the run was cut short, when it was */
  aborted: string | null;
}

interface FollowUp {
  at: number;
  kind: 'restart' | 'resume' | 'rejoin';
  member: FleetMember;
  pausedAt?: number;
}

const WEIGHTS: Record<'kill' | 'pauseShort' | 'pauseLong' | 'leave' | 'join', number> = { kill: 3, pauseShort: 2, pauseLong: 1, leave: 3, join: 1 };

export class Soak {
  readonly fleet: Fleet;
  readonly truth = new TruthModel();
  readonly checker: Checker;
  readonly bounds: SettleBounds;
  readonly actions: ActionRecord[] = [];
  readonly errors: string[] = [];
  private readonly series = new Map<string, MemorySeries>();
  private readonly followUps: FollowUp[] = [];
  private readonly rnd: () => number;
  private readonly dataRoot: string;
  private wallT0 = Date.now();
  private endAt = Infinity;
  private stopped = false;
  /** resolves when the run is stopped: every wait of the loops races it */
  private readonly stop: Promise<void>;
  private wake: () => void = () => {};
  private aborted: string | null = null;
  private unanswered = 0;
  private nextRx: number;
  private leaves = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly opts: SoakOptions,
    private readonly log: (s: string) => void,
  ) {
    this.rnd = createRandom(opts.seed);
    this.dataRoot = mkdtempSync(join(tmpdir(), 'rxswim-soak-'));
    this.fleet = new Fleet(opts.profile, this.dataRoot);
    this.bounds = settleBounds(PRESETS[opts.profile], opts.maxAgents + opts.serf);
    this.checker = new Checker(this.truth);
    this.nextRx = opts.agents;
    this.stop = new Promise<void>((r) => (this.wake = r));
  }

  /** sleeps `ms`, at most until the end of the run, and not past a stop */
  private wait(ms: number): Promise<void> {
    return Promise.race([sleep(Math.min(ms, this.endAt - this.now())), this.stop]);
  }

  private rxIp(i: number): string {
    if (this.opts.rxFirst + i > 200) throw new Error(`out of addresses for rxswim agents in ${this.opts.rxNet}.x (.201 and up are serf's)`);
    return `${this.opts.rxNet}.${this.opts.rxFirst + i}`;
  }

  /** ms since the start of the churn */
  now(): number {
    return Date.now() - this.wallT0;
  }

  /** stops the run where it is (deadline, signal): the loops end, run() reports what it has */
  abort(reason: string): void {
    this.aborted ??= reason;
    this.stopped = true;
    this.wake();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => {});
    return p;
  }

  private get anchorSeeds(): string[] {
    return this.fleet.members.filter((m) => m.anchor && m.impl === 'rxswim').map((m) => m.bind);
  }

  /** members down: paused, starting, crashed (restart pending or not), or left with a re-join pending */
  private downCount(): number {
    const pending = new Set(this.followUps.map((f) => f.member));
    return this.fleet.members.filter((m) => m.life === 'paused' || m.life === 'starting' || m.life === 'crashed' || (m.life === 'left' && pending.has(m))).length;
  }

  async run(): Promise<SoakResult> {
    const startedAt = new Date().toISOString();
    const tStart = Date.now();
    const load0 = round(loadavg()[0], 1)!;
    let initialConvergeMs: number | null = null;
    let churnS = 0;
    try {
      initialConvergeMs = await this.startCluster();
      this.wallT0 = Date.now();
      this.endAt = this.opts.minutes * 60_000;
      this.log(`initial cluster of ${this.fleet.members.length} converged in ${initialConvergeMs} ms; churn for ${this.opts.minutes} min`);
      for (const m of this.fleet.members) this.truth.set(m.name, m.impl, 'alive', 0, 0, 'start');
      const loops = [this.pollLoop(), this.sampleLoop(), this.churnLoop(), this.followUpLoop()];
      await Promise.all(loops);
      churnS = Math.round(this.now() / 1000);
    } catch (e) {
      this.errors.push(e instanceof Error ? e.message : String(e));
      this.stopped = true;
    }
    await Promise.allSettled([...this.pending]);
    const result = this.result(startedAt, (Date.now() - tStart) / 1000, churnS, initialConvergeMs, [load0, round(loadavg()[0], 1)!]);
    return result;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.fleet.stopAll();
    rmSync(this.dataRoot, { recursive: true, force: true });
  }

  // ------------------------------------------------------------ start-up

  private async startCluster(): Promise<number> {
    const { agents, anchors, serf, rxNet, serfNet } = this.opts;
    for (let i = 0; i < agents; i++) this.fleet.add(`rx-${i}`, 'rxswim', this.rxIp(i), i < anchors);
    for (let i = 0; i < serf; i++) this.fleet.add(`serf-${i}`, 'serf', `${serfNet}.${201 + i}`, false);
    const [first, ...rest] = this.fleet.members;
    this.fleet.start(first!, []);
    await this.fleet.waitUp(first!, 30_000);
    for (const m of rest) this.fleet.start(m, [first!.bind]);
    await Promise.all(rest.map((m) => this.fleet.waitUp(m, 60_000)));
    for (const m of this.fleet.members) {
      m.life = 'running';
      this.startSeries(m, 0);
    }
    const t0 = Date.now();
    const names = this.fleet.members.map((m) => m.name);
    for (;;) {
      const views = await Promise.all(this.fleet.members.map((m) => this.fleet.view(m)));
      if (views.every((v) => v !== undefined && names.every((n) => v.get(n) === 'alive'))) return Date.now() - t0;
      if (Date.now() - t0 > 90_000 || this.stopped) throw new Error('the initial cluster did not converge in 90 s');
      await sleep(250);
    }
  }

  private startSeries(m: FleetMember, atMs: number): void {
    const pid = this.fleet.pid(m)!;
    this.series.set(`${m.name}#${pid}`, { member: m.name, impl: m.impl, pid, startedMs: atMs, samples: [] });
  }

  // ------------------------------------------------------------ loops

  private async pollLoop(): Promise<void> {
    while (!this.stopped && this.now() < this.endAt) {
      const round = Date.now();
      const live = this.fleet.members.filter((m) => m.life === 'running' && !this.fleet.exited(m));
      const answers = await Promise.all(live.map(async (m) => [m.name, await this.fleet.view(m, 1500)] as const));
      const views = new Map<string, Map<string, View>>();
      for (const [name, v] of answers) {
        if (v) views.set(name, v);
        else this.unanswered++;
      }
      // a member whose truth changed while the round was out is judged from the next round
      const at = this.now();
      for (const [name] of answers) {
        const s = this.truth.get(name);
        if (s && s.state !== 'alive') views.delete(name);
      }
      this.checker.round(at, views, round - this.wallT0);
      await this.wait(this.opts.pollMs - (Date.now() - round));
    }
  }

  private async sampleLoop(): Promise<void> {
    while (!this.stopped && this.now() < this.endAt) {
      const round = Date.now();
      await Promise.all(
        this.fleet.members
          .filter((m) => (m.life === 'running' || m.life === 'paused') && !this.fleet.exited(m))
          .map(async (m) => {
            const pid = this.fleet.pid(m)!;
            const s = this.series.get(`${m.name}#${pid}`);
            const rss = rssMB(pid);
            if (!s || rss === undefined) return;
            let heapKB: number | null = null;
            if (m.impl === 'rxswim' && m.life === 'running') {
              try {
                const v = promValue(await httpText(m.api, '/metrics', 1500), 'nodejs_heap_size_used_bytes');
                heapKB = v === undefined ? null : v / 1024;
              } catch {
                heapKB = null;
              }
            }
            s.samples.push({ atMs: this.now(), rssKB: Math.round(rss * 1024), heapKB: heapKB === null ? null : Math.round(heapKB) });
          }),
      );
      await this.wait(this.opts.sampleMs - (Date.now() - round));
    }
  }

  private async followUpLoop(): Promise<void> {
    while (!this.stopped && this.now() < this.endAt) {
      const t = this.now();
      for (let i = this.followUps.length - 1; i >= 0; i--) {
        const f = this.followUps[i]!;
        if (f.at > t || f.member.busy) continue;
        this.followUps.splice(i, 1);
        void this.track(this.act(f.kind, f.member, f.pausedAt));
      }
      await this.wait(200);
    }
  }

  private async churnLoop(): Promise<void> {
    const done = new Map<string, number>();
    while (!this.stopped && this.now() < this.endAt) {
      await this.wait(this.opts.everyS * 1000 * (0.6 + 0.8 * this.rnd()));
      if (this.stopped) return;
      const kind = this.pickKind(done, this.opts.firstKinds?.[[...done.values()].reduce((a, x) => a + x, 0)]);
      if (!kind) continue;
      done.set(kind, (done.get(kind) ?? 0) + 1);
      let member: FleetMember;
      if (kind === 'join') {
        const i = this.nextRx++;
        member = this.fleet.add(`rx-${i}`, 'rxswim', this.rxIp(i), false);
      } else {
        const candidates = this.churnable();
        member = candidates[Math.floor(this.rnd() * candidates.length)]!;
      }
      void this.track(this.act(kind, member));
    }
  }

  /**
   * Members a fault may be done to: running, not an anchor, and settled (every view agreed
   * on its current state, or its bound has passed), so that each check starts from a
   * cluster that knew the member's last state.
   */
  private churnable(): FleetMember[] {
    const t = this.now();
    return this.fleet.members.filter((m) => {
      if (m.anchor || m.life !== 'running' || m.busy || this.followUps.some((f) => f.member === m)) return false;
      const s = this.truth.get(m.name);
      return s !== undefined && s.state === 'alive' && (t >= s.since + s.bound || this.checker.converged.has(`${m.name}#${s.epoch}`));
    });
  }

  /** a random kind among those whose checks (and follow-up) still fit before the end; kinds not done yet first */
  private pickKind(done: Map<string, number>, next?: keyof typeof WEIGHTS): keyof typeof WEIGHTS | null {
    const b = this.bounds;
    const left = this.endAt - this.now() - 2 * this.opts.pollMs;
    const maxDown = this.opts.maxDown ?? Math.max(1, Math.floor(this.fleet.members.filter((m) => m.life !== 'left').length / 3));
    const canDisturb = this.churnable().length > 0 && this.downCount() < maxDown;
    const rxActive = this.fleet.members.filter((m) => m.impl === 'rxswim' && (m.life !== 'left' || this.followUps.some((f) => f.member === m))).length;
    const fits: Record<keyof typeof WEIGHTS, boolean> = {
      kill: canDisturb && b.crash < left,
      pauseShort: canDisturb && b.shortPauseMs + b.resume < left,
      pauseLong: canDisturb && b.longPauseMs + b.resumeLong < left,
      leave: canDisturb && b.leave < left,
      join: rxActive < this.opts.maxAgents && this.downCount() < maxDown && b.join + 10_000 < left,
    };
    if (next) return fits[next] ? next : null;
    const kinds = (Object.keys(WEIGHTS) as Array<keyof typeof WEIGHTS>).filter((k) => fits[k]);
    if (kinds.length === 0) return null;
    const w = kinds.map((k) => WEIGHTS[k] * ((done.get(k) ?? 0) === 0 ? 4 : 1));
    let r = this.rnd() * w.reduce((a, x) => a + x, 0);
    for (let i = 0; i < kinds.length; i++) {
      r -= w[i]!;
      if (r <= 0) return kinds[i]!;
    }
    return kinds[kinds.length - 1]!;
  }

  // ------------------------------------------------------------ actions

  private record(kind: ActionKind, m: FleetMember, boundMs: number, truth: string): ActionRecord {
    const a: ActionRecord = { id: this.actions.length + 1, kind, member: m.name, impl: m.impl, atMs: this.now(), effectiveMs: null, truth, boundMs, epoch: null, proof: {}, proofOk: false, convergedMs: null, convergedAllMs: null, outcome: 'never' };
    this.actions.push(a);
    return a;
  }

  private async incarnationAtAnchor(name: string): Promise<number | null> {
    const anchor = this.fleet.members.find((m) => m.anchor && m.life === 'running');
    if (!anchor) return null;
    try {
      const rows = (await httpJson('GET', anchor.api, '/v1/members')) as Array<{ name: string; incarnation: number }>;
      return rows.find((r) => r.name === name)?.incarnation ?? null;
    } catch {
      return null;
    }
  }

  private async act(kind: ActionKind, m: FleetMember, pausedAt?: number): Promise<void> {
    const b = this.bounds;
    m.busy = true;
    const left = this.endAt - this.now();
    const label = `${kind} ${m.name}`;
    let a: ActionRecord | undefined;
    try {
      switch (kind) {
        case 'kill': {
          a = this.record(kind, m, b.crash, 'failed');
          const prevIncarnation = m.impl === 'rxswim' ? await this.incarnationAtAnchor(m.name) : null;
          const proof = await this.fleet.crash(m);
          a.effectiveMs = this.now();
          a.epoch = this.truth.set(m.name, m.impl, 'failed', a.effectiveMs, b.crash, `kill -9 (pid ${proof.pid})`);
          a.proof = { ...proof, prevIncarnation };
          a.proofOk = proof.signal === 'SIGKILL' && proof.procGone;
          const restartAt = a.effectiveMs + b.crash + Math.floor(this.rnd() * 10_000);
          if (restartAt + 5000 + b.join < this.endAt) this.followUps.push({ at: restartAt, kind: 'restart', member: m });
          this.log(`${label} (pid ${proof.pid}): exited on ${proof.signal}, /proc gone: ${proof.procGone}`);
          break;
        }
        case 'pauseShort':
        case 'pauseLong': {
          const pauseMs = kind === 'pauseShort' ? b.shortPauseMs : b.longPauseMs;
          a = this.record(kind, m, 0, 'paused');
          const proof = await this.fleet.signalStop(m, true);
          a.effectiveMs = this.now();
          a.epoch = this.truth.set(m.name, m.impl, 'paused', a.effectiveMs, 0, `SIGSTOP for ${pauseMs} ms`, { shortPause: kind === 'pauseShort' });
          a.proof = { ...proof, pauseMs };
          a.proofOk = proof.state === 'T';
          a.outcome = a.proofOk ? 'converged' : 'failed';
          this.followUps.push({ at: a.effectiveMs + pauseMs, kind: 'resume', member: m, pausedAt: a.effectiveMs });
          this.log(`${label} (pid ${proof.pid}) for ${pauseMs} ms: state ${proof.state}`);
          break;
        }
        case 'resume': {
          const pausedMs = this.now() - (pausedAt ?? this.now());
          const short = pausedMs < b.suspicionMinMs;
          const bound = short ? b.resume : b.resumeLong;
          a = this.record(kind, m, bound, 'alive');
          const proof = await this.fleet.signalStop(m, false);
          a.effectiveMs = this.now();
          a.epoch = this.truth.set(m.name, m.impl, 'alive', a.effectiveMs, bound, `SIGCONT after ${pausedMs} ms`, { settle: short ? b.observerSettleShortPause : b.observerSettle, shortPause: short });
          a.proof = { ...proof, pausedMs };
          a.proofOk = proof.state !== undefined && proof.state !== 'T';
          this.log(`${label} (pid ${proof.pid}) after ${pausedMs} ms: state ${proof.state}`);
          break;
        }
        case 'leave': {
          const via = this.leaves++ % 2 === 0 ? 'sigterm' : 'cli';
          a = this.record(kind, m, b.leave, 'left');
          a.effectiveMs = this.now();
          a.epoch = this.truth.set(m.name, m.impl, 'left', a.effectiveMs, b.leave, `graceful leave (${m.impl === 'serf' ? 'SIGINT' : via})`);
          const proof = await this.fleet.leave(m, via);
          a.proof = proof;
          a.proofOk = proof.exitCode === 0 && proof.logged;
          const rejoinAt = Math.max(this.now(), a.effectiveMs + b.leave) + Math.floor(this.rnd() * 10_000);
          if (rejoinAt + 5000 + b.join < this.endAt) this.followUps.push({ at: rejoinAt, kind: 'rejoin', member: m });
          this.log(`${label} via ${proof.via} (pid ${proof.pid}): exit ${proof.exitCode ?? proof.signal}, logged ${proof.logged}`);
          break;
        }
        case 'restart':
        case 'rejoin':
        case 'join': {
          if (left < b.join) return;
          a = this.record(kind, m, b.join, 'alive');
          const prev = this.actions.filter((x) => x.member === m.name && x.kind === 'kill').at(-1)?.proof.prevIncarnation as number | null | undefined;
          const prevPid = this.fleet.pid(m);
          this.truth.set(m.name, m.impl, 'starting', this.now(), 0, `${kind}: starting`);
          this.fleet.start(m, this.anchorSeeds);
          await this.fleet.waitUp(m, 30_000);
          m.life = 'running';
          a.effectiveMs = this.now();
          this.startSeries(m, a.effectiveMs);
          a.epoch = this.truth.set(m.name, m.impl, 'alive', a.effectiveMs, b.join, `${kind} (pid ${this.fleet.pid(m)})`, { settle: b.observerSettle });
          let incarnation: number | null = null;
          if (m.impl === 'rxswim') {
            try {
              incarnation = ((await httpJson('GET', m.api, '/v1/self')) as { incarnation: number }).incarnation;
            } catch {
              incarnation = null;
            }
          }
          a.proof = { pid: this.fleet.pid(m), prevPid, incarnation, ...(kind === 'restart' ? { prevIncarnation: prev ?? null } : {}) };
          a.proofOk = this.fleet.pid(m) !== prevPid && (kind !== 'restart' || m.impl === 'serf' || prev == null || (incarnation !== null && incarnation > prev));
          this.log(`${label} (pid ${this.fleet.pid(m)}) up${incarnation !== null ? `, incarnation ${incarnation}${kind === 'restart' && prev != null ? ` (was ${prev})` : ''}` : ''}`);
          break;
        }
      }
    } catch (e) {
      const msg = `${label}: ${e instanceof Error ? e.message : String(e)}`;
      this.errors.push(msg);
      if (a) {
        a.outcome = 'failed';
        a.error = msg;
      }
      this.log(`error: ${msg}`);
    } finally {
      m.busy = false;
    }
  }

  // ------------------------------------------------------------ results

  private timeline(v: Violation, endMs: number): TimelineEntry[] {
    const from = v.truthSinceMs - 30_000;
    const to = (v.resolvedMs ?? v.supersededMs ?? endMs) + 5000;
    const out: TimelineEntry[] = [];
    const x = this.truth.get(v.member);
    for (const h of x?.history ?? []) if (h.atMs >= from && h.atMs <= to) out.push({ atMs: h.atMs, who: 'truth', what: `${v.member} ${h.state}: ${h.action}` });
    for (const name of [v.observer, v.member]) {
      for (const p of this.fleet.group.procs.filter((p) => p.name === name)) {
        for (const line of p.lines) {
          const e = parseLogLine(line, v.member);
          if (!e) continue;
          const at = e.wallMs - this.wallT0;
          if (at >= from && at <= to) out.push({ atMs: at, who: name, what: e.what });
        }
      }
    }
    out.push({ atMs: v.firstSeenMs, who: 'soak', what: `${v.observer} shows ${v.member} ${v.seen} (truth ${v.truth}): ${v.category}` });
    if (v.resolvedMs !== null) out.push({ atMs: v.resolvedMs, who: 'soak', what: `${v.observer} agrees again` });
    if (v.supersededMs !== null) out.push({ atMs: v.supersededMs, who: 'soak', what: `${v.member} changed again before ${v.observer} agreed` });
    return out.sort((a, b) => a.atMs - b.atMs).slice(0, 60);
  }

  private result(startedAt: string, durationS: number, churnS: number, initialConvergeMs: number | null, load: [number, number]): SoakResult {
    const endMs = this.now();
    for (const a of this.actions) {
      if (a.outcome === 'failed' || a.kind === 'pauseShort' || a.kind === 'pauseLong' || a.epoch === null) continue;
      const key = `${a.member}#${a.epoch}`;
      const at = this.checker.convergedBy.get('rxswim')?.get(key);
      const all = this.checker.converged.get(key);
      if (all !== undefined) a.convergedAllMs = all - a.effectiveMs!;
      const s = this.truth.get(a.member);
      if (at !== undefined) {
        a.convergedMs = at - a.effectiveMs!;
        a.outcome = a.convergedMs <= a.boundMs ? 'converged' : 'late';
      } else a.outcome = s && s.epoch !== a.epoch ? 'superseded' : 'never';
    }
    const kinds: KindSummary[] = ACTION_KINDS.map((kind) => {
      const xs = this.actions.filter((a) => a.kind === kind);
      const ms = xs.map((a) => a.convergedMs).filter((x): x is number => x !== null);
      const by = (o: ActionRecord['outcome']) => xs.filter((a) => a.outcome === o).length;
      const b = this.bounds;
      const boundMs = { kill: b.crash, restart: b.join, pauseShort: 0, pauseLong: 0, resume: b.resume, leave: b.leave, rejoin: b.join, join: b.join }[kind];
      return { kind, count: xs.length, converged: by('converged'), late: by('late'), never: by('never'), superseded: by('superseded'), failed: by('failed'), convergedMsMedian: medianOf(ms), convergedMsMax: ms.length ? Math.max(...ms) : null, boundMs };
    });
    const totals: Record<string, Record<Category, number>> = {};
    for (const c of this.checker.perObserver.values()) {
      const t = (totals[c.impl] ??= Object.fromEntries(CATEGORIES.map((k) => [k, 0])) as Record<Category, number>);
      for (const k of CATEGORIES) t[k] += c.violations[k];
    }
    const trends = [...this.series.values()].map((s) => trendOf(s, this.opts.warmupMin * 60_000, Math.max(1, this.opts.warmupMin), this.opts.trendKBPerMin)).filter((t): t is Trend => t !== null);
    return {
      options: this.opts,
      bounds: this.bounds,
      startedAt,
      durationS: Math.round(durationS),
      churnS,
      initialConvergeMs,
      load,
      actions: this.actions,
      kinds,
      observers: Object.fromEntries(this.checker.perObserver),
      totals,
      checks: [...this.checker.perObserver.values()].reduce((a, c) => a + c.checks, 0),
      rounds: this.checker.rounds,
      unanswered: this.unanswered,
      violations: this.checker.violations.map((v) => ({ ...v, timeline: this.timeline(v, endMs) })),
      memory: { series: [...this.series.values()], trends, warmupMin: this.opts.warmupMin, trendKBPerMin: this.opts.trendKBPerMin },
      errors: this.errors,
      aborted: this.aborted,
    };
  }
}

/** an agent's log line about `member`: rxswim's JSON events, serf's `serf: EventMember...: name` lines */
export function parseLogLine(line: string, member: string): { wallMs: number; what: string } | null {
  if (line.startsWith('{')) {
    try {
      const e = JSON.parse(line) as { time?: number; event?: string; member?: { name?: string; incarnation?: number }; msg?: string; reason?: string };
      if (typeof e.time !== 'number') return null;
      if (e.member?.name === member) return { wallMs: e.time, what: `${e.event ?? '?'} (incarnation ${e.member.incarnation ?? '?'})` };
      if (e.event === 'leaving' || e.event === 'stopped' || e.event === 'started') return { wallMs: e.time, what: `${e.event}${e.reason ? ` (${e.reason})` : ''}` };
      return null;
    } catch {
      return null;
    }
  }
  const m = /^\s*(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) (.*)$/.exec(line);
  if (!m || !m[7]!.includes(member)) return null;
  const wallMs = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime();
  return { wallMs, what: m[7]!.trim() };
}
