// A scheduler for simulating a node whose event loop is blocked (a long GC
// pause, a CPU-starved VM): Lifeguard's local health awareness exists for
// exactly this case, and testing it needs a node that stops running for a
// while and then catches up, in virtual time, while the rest of the cluster
// keeps going.
//
// Every action the node schedules is wrapped. When the inner scheduler runs a
// wrapped action during a stall, its work is queued instead of run; when the
// stall ends the queue is drained in order. The work still runs with the inner
// action as `this`, so periodic actions (`interval` calls `this.schedule(...)`)
// and self-rescheduling work keep going afterwards, and unsubscribing an action
// while its work is queued cancels it, as it would without the stall.

import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

interface Deferred {
  action: SchedulerAction<unknown>;
  work: (this: SchedulerAction<unknown>, state?: unknown) => void;
  state: unknown;
}

export class StallableScheduler implements SchedulerLike {
  private stalledUntil = -Infinity;
  private readonly deferred: Deferred[] = [];
  private drain: Subscription | undefined;

  constructor(private readonly inner: SchedulerLike) {}

  now(): number {
    return this.inner.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay: number, state: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    // `wrapped` needs its own `this` (the inner action), so this scheduler is captured by name.
    const self = this;
    const wrapped = function (this: SchedulerAction<T>, s?: T): void {
      // Not stalled and nothing deferred (nearly always): run it, without a record.
      if (self.deferred.length === 0 && !self.isStalled()) return work.call(this, s);
      self.run({
        action: this as SchedulerAction<unknown>,
        work: work as Deferred['work'],
        state: s,
      });
    };
    return this.inner.schedule(wrapped, delay, state);
  }

  /**
   * Blocks the node until the absolute scheduler time `untilMs`. Calling it
   * again replaces the end (a time not in the future ends the stall at once).
   */
  stall(untilMs: number): void {
    this.stalledUntil = untilMs;
    // A wake-up on the inner scheduler, so deferred work runs at the stall end
    // even if none of the node's own actions happens to be due then.
    this.drain?.unsubscribe();
    this.drain = this.inner.schedule(() => this.wake(), Math.max(0, untilMs - this.inner.now()));
  }

  /**
   * On a real clock a timer may fire while Date.now() still reads a millisecond short of
   * the stall end; flushing then would leave the deferred work with nothing to wake it.
   */
  private wake(): void {
    if (this.isStalled()) {
      this.drain = this.inner.schedule(() => this.wake(), Math.max(1, this.stalledUntil - this.inner.now()));
      return;
    }
    this.flush();
  }

  isStalled(): boolean {
    return this.inner.now() < this.stalledUntil;
  }

  private run(d: Deferred): void {
    if (this.isStalled()) {
      this.deferred.push(d);
      return;
    }
    // An action due exactly at the stall end may be run by the inner scheduler
    // before the wake-up: work deferred earlier was due earlier, so it goes first.
    this.flush();
    if (this.isStalled()) {
      this.deferred.push(d); // a flushed work stalled the node again
      return;
    }
    d.work.call(d.action, d.state);
  }

  /** Runs deferred work in the order it fell due, skipping work whose action was cancelled. */
  private flush(): void {
    while (this.deferred.length > 0 && !this.isStalled()) {
      const d = this.deferred.shift() as Deferred;
      if (d.action.closed) continue;
      try {
        d.work.call(d.action, d.state);
      } catch (e) {
        // RxJS unsubscribes an action whose work throws; do the same, then let it propagate.
        d.action.unsubscribe();
        throw e;
      }
    }
  }
}
