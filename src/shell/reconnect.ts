// Serf's reconnect, which memberlist lacks: every ReconnectInterval, maybe try to
// join one random failed member again. After a partition heals, this is what merges
// the two halves, each of which has declared the other dead. Like Serf, each node
// tries with probability failed/alive, so a big cluster does not stampede a
// returning member.
import { catchError, concat, defer, EMPTY, exhaustMap, ignoreElements, interval, type Observable, of, type SchedulerLike } from 'rxjs';
import type { Member } from '../api.js';

export interface ReconnectDeps {
  scheduler: SchedulerLike;
  interval: number;
  random: () => number;
  failed(): Member[];
  aliveCount(): number;
  /** one join attempt; completes (or is empty) whether it worked or not */
  attempt(m: Member): Observable<unknown>;
}

/**
 * Emits each member it tries to reconnect to. One attempt at a time: ticks that come
 * while an attempt is still running are skipped, not queued (like Serf's ticker, which
 * drops ticks while reconnect() blocks), so a slow join cannot build a backlog.
 */
export function reconnect$(deps: ReconnectDeps): Observable<Member> {
  return interval(deps.interval, deps.scheduler).pipe(
    exhaustMap(() =>
      defer(() => {
        const failed = deps.failed();
        if (failed.length === 0) return EMPTY;
        const prob = failed.length / Math.max(1, deps.aliveCount());
        if (deps.random() >= prob) return EMPTY;
        const m = failed[Math.min(failed.length - 1, Math.floor(deps.random() * failed.length))]!;
        // An attempt that errors anyway must not end reconnecting for good.
        return concat(of(m), deps.attempt(m).pipe(ignoreElements(), catchError(() => EMPTY)));
      }),
    ),
  );
}
