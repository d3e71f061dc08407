// The agent's event handlers wired to its node: member events named and coalesced as
// Serf's agent does (3 s, quiet 1 s), user events coalesced when their sender allowed
// it (the same periods), queries as they come, then queued for the scripts. The metrics are registered
// even without handlers, so that every agent exports the same families.
import type { Registry } from 'prom-client';
import { Subject, type Subscription } from 'rxjs';
import type { Logger, Member } from '../api.js';
import { decodeTags } from '../membership/tags.js';
import { EventHandlerMetrics } from '../metrics/event-handler-metrics.js';
import type { RxSwimNode } from '../node.js';
import { coalesceSerfEvents, SERF_AGENT_COALESCE } from '../serf/coalesce.js';
import { coalesceMemberEvents, SERF_AGENT_MEMBER_COALESCE, type SerfMemberEvent } from '../serf/coalesce-members.js';
import { serfMemberEventType, type EventHandlerSpec } from './event-handlers.js';
import { HandlerRunner } from './handler-runner.js';

export interface AgentEventHandlers {
  /** undefined when no handler is configured */
  readonly runner: HandlerRunner | undefined;
  /** Serf emits its own join to its handlers: call once the node has started */
  started(): void;
  /** unsubscribe, kill a running script, drop the queue */
  stop(): Promise<void>;
}

export interface AgentEventHandlerOptions {
  handlers: readonly EventHandlerSpec[];
  timeoutMs: number;
  log: Logger;
  registry: Registry;
  /** coalescing periods; Serf's agent's unless a test wants shorter ones */
  coalesce?: { periodMs: number; quiescentMs: number };
}

/** localMember does not carry its tags decoded; remote members do */
function withTags(m: Member): Member {
  if (m.tags) return m;
  const tags = decodeTags(m.meta);
  return tags ? { ...m, tags } : m;
}

export function attachEventHandlers(node: RxSwimNode, o: AgentEventHandlerOptions): AgentEventHandlers {
  let runner: HandlerRunner | undefined;
  const metrics = new EventHandlerMetrics(o.registry, () => runner?.queueDepth ?? 0);
  if (o.handlers.length === 0) return { runner, started: () => undefined, stop: async () => undefined };
  const r = new HandlerRunner({
    handlers: o.handlers,
    timeoutMs: o.timeoutMs,
    log: o.log,
    metrics,
    self: () => ({ name: node.name, tags: withTags(node.localMember).tags ?? {} }),
  });
  runner = r;
  o.log.info({ event: 'event_handlers', handlers: o.handlers.map((h) => h.spec), timeoutMs: o.timeoutMs }, `${o.handlers.length} event handler(s)`);
  const members = new Subject<SerfMemberEvent>();
  const subs: Subscription[] = [
    members.pipe(coalesceMemberEvents(o.coalesce ?? SERF_AGENT_MEMBER_COALESCE)).subscribe((e) => r.push({ kind: 'member', ...e })),
    node.events$.subscribe((e) => {
      const type = serfMemberEventType(e.type);
      if (type) members.next({ type, members: [e.member] });
    }),
    node.serfEvents$.pipe(coalesceSerfEvents(o.coalesce ?? SERF_AGENT_COALESCE)).subscribe((e) => r.push({ kind: 'user', name: e.name, payload: e.payload, ltime: e.ltime })),
    // Serf does not coalesce queries: each runs its handlers, in turn with the events.
    node.serfQueries$.subscribe((q) => r.push({ kind: 'query', name: q.name, payload: q.payload, ltime: q.ltime, respond: (b) => q.respond(b) })),
  ];
  return {
    runner,
    started: () => members.next({ type: 'member-join', members: [withTags(node.localMember)] }),
    stop: async () => {
      for (const s of subs) s.unsubscribe();
      await r.stop();
    },
  };
}
