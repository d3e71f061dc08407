// Metrics that follow membership events: transitions by target state, and flaps (a
// member declared failed, then back within a minute — usually a struggling network
// or host rather than real failures). Observes; never steers.
import type { Observable, Subscription } from 'rxjs';
import type { MemberEvent } from '../api.js';
import type { NodeMetrics } from './metrics.js';

const FLAP_WINDOW_MS = 60_000;

export function countMemberEvents(events$: Observable<MemberEvent>, metrics: NodeMetrics): Subscription {
  const failedAt = new Map<string, number>();
  return events$.subscribe((e) => {
    // A reaped member leaves the list; it does not change state.
    if (e.type === 'reaped') return void failedAt.delete(e.member.name);
    metrics.memberTransitions.inc({ to: e.member.state });
    if (e.type === 'failed') failedAt.set(e.member.name, e.at);
    else if (e.type === 'joined' && failedAt.has(e.member.name)) {
      if (e.at - failedAt.get(e.member.name)! <= FLAP_WINDOW_MS) metrics.flaps.inc();
      failedAt.delete(e.member.name);
    }
  });
}
