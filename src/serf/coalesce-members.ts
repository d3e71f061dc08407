// Serf's member-event coalescing (serf/coalesce_member.go) as an operator: member
// events are held while a burst lasts (until it has been quiet for `quiescentMs`, at
// most `periodMs` after its first event), then each member's latest event is passed on,
// grouped by type into one batch per type, as a Serf agent's event handlers see them: a
// join of ten nodes runs the member-join handler once with ten lines on stdin.
//
// As Serf: a member whose latest event is of the type it was last reported with is not
// reported again (a flap failed → join → failed within one burst is one failed, and
// nothing at all if failed was the last thing said), except member-update, which always
// is. Unlike serf 0.9.4, whose flush leaves its map of latest events uncleared (and so
// reports every member ever updated again at each flush), each flush starts afresh.
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { Member } from '../api.js';

/** Serf's member event types, as its agent names them (EventType.String()) */
export const SERF_MEMBER_EVENT_TYPES = ['member-join', 'member-leave', 'member-failed', 'member-update', 'member-reap'] as const;
export type SerfMemberEventType = (typeof SERF_MEMBER_EVENT_TYPES)[number];

export interface SerfMemberEvent {
  type: SerfMemberEventType;
  members: readonly Member[];
}

/** the Serf agent's CoalescePeriod and QuiescentPeriod for member events (command.go) */
export const SERF_AGENT_MEMBER_COALESCE = { periodMs: 3000, quiescentMs: 1000 } as const;

export function coalesceMemberEvents(
  { periodMs, quiescentMs }: { periodMs: number; quiescentMs: number } = SERF_AGENT_MEMBER_COALESCE,
  scheduler: SchedulerLike = asyncScheduler,
): (source: Observable<SerfMemberEvent>) => Observable<SerfMemberEvent> {
  return (source) =>
    new Observable<SerfMemberEvent>((sub) => {
      // the type each member was last reported with, across bursts
      const lastReported = new Map<string, SerfMemberEventType>();
      let latest = new Map<string, { type: SerfMemberEventType; member: Member }>();
      let quantum: Subscription | undefined;
      let quiet: Subscription | undefined;
      const flush = () => {
        quantum?.unsubscribe();
        quiet?.unsubscribe();
        quantum = quiet = undefined;
        const held = latest;
        latest = new Map();
        const batches = new Map<SerfMemberEventType, Member[]>();
        for (const [name, { type, member }] of held) {
          if (lastReported.get(name) === type && type !== 'member-update') continue;
          lastReported.set(name, type);
          const list = batches.get(type);
          if (list) list.push(member);
          else batches.set(type, [member]);
        }
        // In the order of SERF_MEMBER_EVENT_TYPES, so that a run is reproducible (Serf's is a map's).
        for (const type of SERF_MEMBER_EVENT_TYPES) {
          const members = batches.get(type);
          if (members) sub.next({ type, members });
        }
      };
      const inner = source.subscribe({
        next: (e) => {
          for (const m of e.members) latest.set(m.name, { type: e.type, member: m });
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
