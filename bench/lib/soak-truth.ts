// The churn soak's truth model and its judge. The truth says what each agent should be
// (alive, failed, left; paused and starting are not judged) since when, and how long the
// cluster has to agree after that change (its settling bound, lib/soak-bounds.ts). The
// checker is fed every polling round (each live agent's /v1/members, or serf's members
// RPC) and compares each settled observer's view of each settled member with the truth.
// Pure: times are ms since the start of the run, given by the caller.
import type { View } from './cluster.js';

export type Truth = 'alive' | 'failed' | 'left' | 'paused' | 'starting';
export type Seen = View | 'missing';
/**
 * lost: a live member missing or failed (or left); stale: a failed or left member still
 * alive or suspect; leftAsFailed: a member that left gracefully shown as failed;
 * crashAsLeft: a crashed member shown as left; shortPauseFailed: a member paused for
 * less than the shortest suspicion timeout shown as failed; other: a state the judge
 * does not know.
 */
export type Category = 'lost' | 'stale' | 'leftAsFailed' | 'crashAsLeft' | 'shortPauseFailed' | 'other';
export const CATEGORIES: readonly Category[] = ['lost', 'stale', 'leftAsFailed', 'crashAsLeft', 'shortPauseFailed', 'other'];

export interface Subject {
  name: string;
  impl: string;
  state: Truth;
  /** when the current state began */
  since: number;
  /** views must agree from since + bound */
  bound: number;
  /** bumped on every change of state: a check is about one epoch */
  epoch: number;
  /** as an observer: judged from liveAt + settle (null while it is not running) */
  liveAt: number | null;
  settle: number;
  /** this pause (or the resume after it) is shorter than the shortest suspicion timeout */
  shortPause: boolean;
  /** the last graceful leave, for the timelines */
  leftAt: number | null;
  history: Array<{ atMs: number; state: Truth; action: string }>;
}

/** what a view may show for a member in a given true state; null when the view agrees */
export function judge(truth: Truth, seen: Seen): Category | null {
  if (seen === 'other') return 'other';
  switch (truth) {
    case 'alive':
      return seen === 'alive' || seen === 'suspect' ? null : 'lost';
    case 'failed':
      // a failed member may be forgotten (memberlist reaps the dead); never shown alive
      if (seen === 'failed' || seen === 'missing') return null;
      return seen === 'left' ? 'crashAsLeft' : 'stale';
    case 'left':
      if (seen === 'left' || seen === 'missing') return null;
      return seen === 'failed' ? 'leftAsFailed' : 'stale';
    default:
      return null;
  }
}

export class TruthModel {
  readonly subjects = new Map<string, Subject>();

  /** a change of `name`'s true state at `atMs`; returns the new epoch */
  set(name: string, impl: string, state: Truth, atMs: number, bound: number, action: string, opts: { settle?: number; shortPause?: boolean } = {}): number {
    let s = this.subjects.get(name);
    if (!s) {
      s = { name, impl, state, since: atMs, bound, epoch: 0, liveAt: null, settle: 0, shortPause: false, leftAt: null, history: [] };
      this.subjects.set(name, s);
    }
    s.epoch++;
    s.state = state;
    s.since = atMs;
    s.bound = bound;
    s.shortPause = opts.shortPause ?? false;
    if (state === 'alive') {
      // an observer coming back (restart, join, resume) keeps its earlier liveAt only when it never went down
      if (s.liveAt === null || opts.settle !== undefined) {
        s.liveAt = atMs;
        s.settle = opts.settle ?? 0;
      }
    } else {
      s.liveAt = null;
    }
    if (state === 'left') s.leftAt = atMs;
    s.history.push({ atMs, state, action });
    return s.epoch;
  }

  get(name: string): Subject | undefined {
    return this.subjects.get(name);
  }
}

export interface Violation {
  observer: string;
  observerImpl: string;
  member: string;
  category: Category;
  truth: Truth;
  seen: Seen;
  /** the member's epoch and when its state began */
  epoch: number;
  truthSinceMs: number;
  /** when the view had to agree; null when it was caught before (a transition to failed of a member that left or was briefly paused) */
  dueAtMs: number | null;
  firstSeenMs: number;
  /** the first later round in which the view agreed; null if it never did */
  resolvedMs: number | null;
  /** the member's next change, when it came before the view agreed */
  supersededMs: number | null;
}

export interface ObserverCounts {
  impl: string;
  /** (observer, member) pairs judged, over all rounds */
  checks: number;
  violations: Record<Category, number>;
}

export class Checker {
  readonly violations: Violation[] = [];
  readonly perObserver = new Map<string, ObserverCounts>();
  /** `${member}#${epoch}` → ms when every settled observer first agreed; and every settled observer of one implementation (rxswim, serf) */
  readonly converged = new Map<string, number>();
  readonly convergedBy = new Map<string, Map<string, number>>();
  private readonly open = new Map<string, Violation>();
  private readonly last = new Map<string, Seen>();
  rounds = 0;

  constructor(private readonly truth: TruthModel) {}

  private counts(o: Subject): ObserverCounts {
    let c = this.perObserver.get(o.name);
    if (!c) {
      c = { impl: o.impl, checks: 0, violations: Object.fromEntries(CATEGORIES.map((k) => [k, 0])) as Record<Category, number> };
      this.perObserver.set(o.name, c);
    }
    return c;
  }

  private record(o: Subject, x: Subject, category: Category, seen: Seen, dueAtMs: number | null, atMs: number): void {
    const key = `${o.name}|${x.name}|${x.epoch}|${category}`;
    if (this.open.has(key)) return;
    const v: Violation = { observer: o.name, observerImpl: o.impl, member: x.name, category, truth: x.state, seen, epoch: x.epoch, truthSinceMs: x.since, dueAtMs, firstSeenMs: atMs, resolvedMs: null, supersededMs: null };
    this.open.set(key, v);
    this.violations.push(v);
    this.counts(o).violations[category]++;
  }

  private resolve(o: Subject, x: Subject, atMs: number): void {
    for (const c of CATEGORIES) {
      const key = `${o.name}|${x.name}|${x.epoch}|${c}`;
      const v = this.open.get(key);
      if (v) {
        v.resolvedMs = atMs;
        this.open.delete(key);
      }
    }
  }

  /**
   * Observers that answered in one round (name → its view): asked from `startMs`, the
   * last answer in at `atMs`. A view is judged against a change only when the round was
   * asked after the change's bound, and counts for convergence only when asked after the
   * change itself (an answer may predate a change made while the round was out).
   */
  round(atMs: number, views: Map<string, Map<string, View>>, startMs = atMs): void {
    this.rounds++;
    // a violation about an epoch that has ended is closed: the member changed before the view agreed
    for (const [key, v] of this.open) {
      const x = this.truth.get(v.member);
      if (x && x.epoch !== v.epoch) {
        v.supersededMs = x.history.find((h) => h.atMs > v.truthSinceMs)?.atMs ?? x.since;
        this.open.delete(key);
      }
    }
    const settled: Array<[Subject, Map<string, View>]> = [];
    for (const [name, view] of views) {
      const o = this.truth.get(name);
      if (!o || o.state !== 'alive' || o.liveAt === null) continue;
      const isSettled = atMs >= o.liveAt + o.settle;
      if (isSettled) settled.push([o, view]);
      for (const x of this.truth.subjects.values()) {
        if (x.name === o.name) continue;
        const seen: Seen = view.get(x.name) ?? 'missing';
        const pair = `${o.name}|${x.name}`;
        const before = this.last.get(pair);
        this.last.set(pair, seen);
        const due = isSettled && x.state !== 'paused' && x.state !== 'starting' && startMs >= x.since + x.bound;
        if (due) {
          this.counts(o).checks++;
          const c = judge(x.state, seen);
          if (c) this.record(o, x, c, seen, x.since + x.bound, atMs);
          else this.resolve(o, x, atMs);
          continue;
        }
        // Caught at any time, bound or not: a view turning a member that left into failed,
        // and a member paused for less than a suspicion timeout shown as failed.
        if (seen === 'failed' && before !== undefined && before !== 'failed') {
          if (x.state === 'left') this.record(o, x, 'leftAsFailed', seen, null, atMs);
          else if (x.shortPause) this.record(o, x, 'shortPauseFailed', seen, null, atMs);
        }
      }
    }
    // convergence of each member's current epoch: every settled observer (of one implementation) agrees in one round
    if (settled.length === 0) return;
    this.converge(this.converged, settled, atMs, startMs);
    for (const impl of new Set(settled.map(([o]) => o.impl))) {
      let m = this.convergedBy.get(impl);
      if (!m) this.convergedBy.set(impl, (m = new Map()));
      this.converge(m, settled.filter(([o]) => o.impl === impl), atMs, startMs);
    }
  }

  private converge(into: Map<string, number>, settled: Array<[Subject, Map<string, View>]>, atMs: number, startMs: number): void {
    for (const x of this.truth.subjects.values()) {
      if (x.state === 'paused' || x.state === 'starting') continue;
      const key = `${x.name}#${x.epoch}`;
      if (into.has(key) || startMs < x.since) continue;
      const judged = settled.filter(([o]) => o.name !== x.name);
      if (judged.length > 0 && judged.every(([, view]) => judge(x.state, view.get(x.name) ?? 'missing') === null)) into.set(key, atMs);
    }
  }

  /** violations never resolved by the end */
  get unresolved(): Violation[] {
    return [...this.open.values()];
  }
}
