// Infection-style dissemination as an RxJS pipeline (wire spec §11.8): every
// GossipInterval, up to GossipNodes random members (the recently dead included, so
// they hear they were declared dead and can refute) each get a packet filled from
// the transmit-limited broadcast queue.
//
// memberlist's ticker fires every interval whatever is queued; an idle cluster's
// ticks are all dry and send nothing. Here the loop sleeps, with no timer, while the
// queues are empty, and wakes when something is queued, at the next tick of the same
// grid (every interval from the start). The packets and their times are memberlist's;
// what goes is five event-loop wakeups a second per idle agent, each ~0.2 ms of CPU
// when cold (bench/results/profile-issue11-session.md, section 5).
import { defer, EMPTY, exhaustMap, filter, map, type Observable, repeat, type SchedulerLike, startWith, takeWhile, timer } from 'rxjs';
import type { Member } from '../api.js';

export interface GossipDeps {
  scheduler: SchedulerLike;
  gossipInterval: number;
  gossipNodes: number;
  /** whether any gossip is queued */
  pending(): boolean;
  /** emits when something is queued (whether or not the queues were empty before) */
  queued$: Observable<unknown>;
  targets(k: number): Member[];
  /** messages that fit one packet for this target; empty when the queue is dry */
  fill(target: Member): Uint8Array[];
  send(target: Member, messages: Uint8Array[]): void;
}

/** Emits, per tick, how many packets were sent; there are ticks only while gossip is pending. */
export function gossip$(deps: GossipDeps): Observable<number> {
  const { scheduler, gossipInterval: every } = deps;
  if (every <= 0 || deps.gossipNodes <= 0) return EMPTY;
  return defer(() => {
    const start = scheduler.now();
    const untilNextTick = () => {
      const since = scheduler.now() - start;
      return (Math.floor(since / every) + 1) * every - since;
    };
    const tick = (): number => {
      // Piggybacking on probes may have drained the queues since: no target sampling then.
      if (!deps.pending()) return 0;
      let sent = 0;
      for (const target of deps.targets(deps.gossipNodes)) {
        const msgs = deps.fill(target);
        if (msgs.length === 0) break;
        deps.send(target, msgs);
        sent++;
      }
      return sent;
    };
    // Tick after tick while anything is left; the tick that finds the queues dry
    // afterwards is the last until the next wake.
    const ticking$ = defer(() => timer(untilNextTick(), scheduler)).pipe(
      map(tick),
      repeat(),
      takeWhile(() => deps.pending(), true),
    );
    return deps.queued$.pipe(
      startWith(undefined),
      filter(() => deps.pending()),
      exhaustMap(() => ticking$),
    );
  });
}
