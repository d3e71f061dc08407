// XState's clock on top of the node's RxJS scheduler, so member actors' delayed
// transitions (the suspicion timer) run in virtual time in simulation exactly as
// the prober and gossip do.
import type { SchedulerLike, Subscription } from 'rxjs';

export interface XStateClock {
  setTimeout(fn: (...args: unknown[]) => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export function clockFromScheduler(scheduler: SchedulerLike): XStateClock {
  return {
    setTimeout: (fn, ms) => scheduler.schedule(() => fn(), Math.max(0, ms)),
    clearTimeout: (id) => (id as Subscription | undefined)?.unsubscribe(),
  };
}
