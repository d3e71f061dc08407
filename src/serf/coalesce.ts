// Serf's user-event coalescing (serf/coalesce.go, coalesce_user.go), as an opt-in
// operator on serfEvents$: an event whose sender allowed it (coalesce: true) is held,
// and of a burst of such events only those at the latest Lamport time per name are
// passed on, once the burst has been quiet for `quiescentMs` or at most `periodMs`
// after its first event. A deploy fired three times in a second runs its handler once,
// with the latest payload. Other events pass at once. The Serf agent uses 3 s and 1 s.
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { SerfUserEvent } from '../api.js';

/** the Serf agent's UserCoalescePeriod and UserQuiescentPeriod */
export const SERF_AGENT_COALESCE = { periodMs: 3000, quiescentMs: 1000 } as const;

export function coalesceSerfEvents(
  { periodMs, quiescentMs }: { periodMs: number; quiescentMs: number } = SERF_AGENT_COALESCE,
  scheduler: SchedulerLike = asyncScheduler,
): (source: Observable<SerfUserEvent>) => Observable<SerfUserEvent> {
  return (source) =>
    new Observable<SerfUserEvent>((sub) => {
      let latest = new Map<string, SerfUserEvent[]>();
      let quantum: Subscription | undefined;
      let quiet: Subscription | undefined;
      const flush = () => {
        quantum?.unsubscribe();
        quiet?.unsubscribe();
        quantum = quiet = undefined;
        const held = latest;
        latest = new Map();
        for (const list of held.values()) for (const e of list) sub.next(e);
      };
      const inner = source.subscribe({
        next: (e) => {
          if (!e.coalesce) return sub.next(e);
          const list = latest.get(e.name);
          if (!list || list[0]!.ltime < e.ltime) latest.set(e.name, [e]);
          else if (list[0]!.ltime === e.ltime) list.push(e);
          quantum ??= scheduler.schedule(flush, periodMs);
          quiet?.unsubscribe();
          quiet = scheduler.schedule(flush, quiescentMs);
        },
        error: (err) => {
          flush();
          sub.error(err);
        },
        // As Serf on shutdown: what is held is flushed.
        complete: () => {
          flush();
          sub.complete();
        },
      });
      return () => {
        inner.unsubscribe();
        quantum?.unsubscribe();
        quiet?.unsubscribe();
      };
    });
}
