// A virtual-time RxJS scheduler for large simulations. RxJS's VirtualTimeScheduler
// re-sorts its whole action list on every schedule and chains each re-scheduled
// periodic action onto the previous one (unsubscribing an interval that ran 10,000
// times recurses 10,000 deep and overflows the stack). Here pending actions sit in a
// binary heap ordered by (due time, scheduling order), and a re-scheduled action is
// the same object with a new heap entry, so cost is O(log n) per timer and nothing
// chains.
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

interface Entry {
  due: number;
  seq: number;
  action: VirtualAction<unknown>;
}

class VirtualAction<T> extends Subscription implements SchedulerAction<T> {
  state: T | undefined;
  /** seq of the heap entry that is current; older entries for this action are stale */
  seq = -1;

  constructor(
    private readonly scheduler: HeapVirtualScheduler,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.seq = this.scheduler.enqueue(this as VirtualAction<unknown>, Math.max(0, delay));
    return this;
  }

  execute(): void {
    this.seq = -1;
    this.work.call(this, this.state);
  }
}

export class HeapVirtualScheduler implements SchedulerLike {
  private heap: Entry[] = [];
  private time = 0;
  private nextSeq = 0;
  /** actions executed so far (a cost measure for the simulator report) */
  executed = 0;

  now(): number {
    return this.time;
  }

  get pending(): number {
    return this.heap.length;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay?: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new VirtualAction<T>(this, work).schedule(state, delay);
  }

  /** @internal */
  enqueue(action: VirtualAction<unknown>, delay: number): number {
    const seq = this.nextSeq++;
    this.push({ due: this.time + delay, seq, action });
    return seq;
  }

  /** run every action due up to and including time t, then set the clock to t */
  advanceTo(t: number): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.due > t) break;
      this.pop();
      const a = top.action;
      if (a.closed || a.seq !== top.seq) continue;
      this.time = top.due;
      this.executed++;
      a.execute();
    }
    if (t > this.time) this.time = t;
  }

  /** time of the next pending action, if any */
  nextDue(): number | undefined {
    return this.heap[0]?.due;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
