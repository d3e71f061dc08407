// Serf's user-event coalescing (serf/coalesce.go, coalesce_user.go), as an opt-in
// operator on serfEvents$: an event whose sender allowed it (coalesce: true) is held,
// and of a burst of such events only those at the latest Lamport time per name are
// passed on, once the burst has been quiet for `quiescentMs` or at most `periodMs`
// after its first event. A deploy fired three times in a second runs its handler once,
// with the latest payload. Other events pass at once. The Serf agent uses 3 s and 1 s.
import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { SerfUserEvent } from '../api.js';
import { coalesceWith, type CoalesceWindow } from './coalesce-window.js';

/** the Serf agent's UserCoalescePeriod and UserQuiescentPeriod */
export const SERF_AGENT_COALESCE = { periodMs: 3000, quiescentMs: 1000 } as const;

export function coalesceSerfEvents(
  window: CoalesceWindow = SERF_AGENT_COALESCE,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<SerfUserEvent, SerfUserEvent> {
  return coalesceWith(() => {
    let latest = new Map<string, SerfUserEvent[]>();
    return {
      hold: (e) => {
        if (!e.coalesce) return false;
        const list = latest.get(e.name);
        if (!list || list[0]!.ltime < e.ltime) latest.set(e.name, [e]);
        else if (list[0]!.ltime === e.ltime) list.push(e);
        return true;
      },
      flush: (emit) => {
        const held = latest;
        latest = new Map();
        for (const list of held.values()) for (const e of list) emit(e);
      },
    };
  }, window, scheduler);
}
