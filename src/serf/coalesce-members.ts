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
import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Member } from '../api.js';
import { coalesceWith, type CoalesceWindow } from './coalesce-window.js';

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
  window: CoalesceWindow = SERF_AGENT_MEMBER_COALESCE,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<SerfMemberEvent, SerfMemberEvent> {
  return coalesceWith(() => {
    // the type each member was last reported with, across bursts
    const lastReported = new Map<string, SerfMemberEventType>();
    let latest = new Map<string, { type: SerfMemberEventType; member: Member }>();
    return {
      hold: (e) => {
        for (const m of e.members) latest.set(m.name, { type: e.type, member: m });
        return true;
      },
      flush: (emit) => {
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
          if (members) emit({ type, members });
        }
      },
    };
  }, window, scheduler);
}
