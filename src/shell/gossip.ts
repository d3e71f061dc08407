// Infection-style dissemination as an RxJS pipeline (wire spec §11.8): every
// GossipInterval, up to GossipNodes random members (the recently dead included, so
// they hear they were declared dead and can refute) each get a packet filled from
// the transmit-limited broadcast queue.
import { interval, map, type Observable, type SchedulerLike, EMPTY } from 'rxjs';
import type { Member } from '../api.js';

export interface GossipDeps {
  scheduler: SchedulerLike;
  gossipInterval: number;
  gossipNodes: number;
  /** whether any gossip is queued: a dry tick then costs no target sampling */
  pending(): boolean;
  targets(k: number): Member[];
  /** messages that fit one packet for this target; empty when the queue is dry */
  fill(target: Member): Uint8Array[];
  send(target: Member, messages: Uint8Array[]): void;
}

/** Emits, per tick, how many packets were sent. */
export function gossip$(deps: GossipDeps): Observable<number> {
  if (deps.gossipInterval <= 0 || deps.gossipNodes <= 0) return EMPTY;
  return interval(deps.gossipInterval, deps.scheduler).pipe(
    map(() => {
      // memberlist samples its targets first and then finds nothing to send; the result
      // is the same, and an idle cluster's ticks are mostly dry.
      if (!deps.pending()) return 0;
      let sent = 0;
      for (const target of deps.targets(deps.gossipNodes)) {
        const msgs = deps.fill(target);
        if (msgs.length === 0) break;
        deps.send(target, msgs);
        sent++;
      }
      return sent;
    }),
  );
}
