// The agent's event handlers as Serf's agent defines them (cmd/serf/command/agent:
// event_handler.go, invoke.go), without the processes: parsing `[filter=]script`,
// which events a filter takes, and the environment and stdin a script gets, so that
// scripts written for a Serf agent run unchanged under `rxswim agent`. The processes
// are handler-runner.ts.
import { ConfigError } from '../errors.js';
// Types only: the config loader imports this file, and client commands must not load rxjs.
import type { SerfMemberEventType } from '../serf/coalesce-members.js';
import type { Member, MemberEventType } from '../api.js';

/** the event kinds a filter may name (Serf's EventFilter.Valid); `user:NAME` and `query:NAME` narrow the two */
export const EVENT_FILTER_KINDS = ['member-join', 'member-leave', 'member-failed', 'member-update', 'member-reap', 'user', 'query', '*'] as const;
export type EventFilterKind = (typeof EVENT_FILTER_KINDS)[number];

/** how the allowed filters are shown in errors and help */
export const EVENT_FILTER_SYNTAX = `${EVENT_FILTER_KINDS.join(', ')}, user:NAME or query:NAME, comma-separated`;

export interface EventFilter {
  kind: EventFilterKind;
  /** for user and query: only events or queries of this name; empty = any */
  name: string;
}

export interface EventHandlerSpec {
  /** what was given, for logs and metrics */
  spec: string;
  filters: EventFilter[];
  /** run as `/bin/sh -c script` */
  script: string;
}

/** an event as a handler sees it */
export type HandlerEvent =
  | { kind: 'member'; type: SerfMemberEventType; members: readonly Member[] }
  | { kind: 'user'; name: string; payload: Uint8Array; ltime: bigint }
  | { kind: 'query'; name: string; payload: Uint8Array; ltime: bigint; respond(payload: Uint8Array): Promise<void> };

/** Serf's EventType.String() of an event: SERF_EVENT, and what a filter matches */
export function serfEventName(e: HandlerEvent): string {
  return e.kind === 'member' ? e.type : e.kind;
}

/**
 * rxswim's member events as Serf names them. A suspicion and its refutation are
 * memberlist's business: Serf reports neither (a failed member that comes back is a
 * join, which rxswim also calls joined).
 */
export function serfMemberEventType(t: MemberEventType): SerfMemberEventType | undefined {
  switch (t) {
    case 'joined':
      return 'member-join';
    case 'left':
      return 'member-leave';
    case 'failed':
      return 'member-failed';
    case 'updated':
      return 'member-update';
    case 'reaped':
      return 'member-reap';
    case 'suspected':
    case 'recovered':
      return undefined;
  }
}

/**
 * `[filter=]script` (Serf's ParseEventScript: split at the first `=`; no filter means
 * `*`). Unlike Serf, whose parser takes anything and whose agent then rejects only the
 * event kind, an empty script or a `user:`/`query:` filter is checked here too: the
 * error names `label` and lists what is allowed.
 */
export function parseEventHandler(spec: string, label: string): EventHandlerSpec {
  const eq = spec.indexOf('=');
  const filterText = eq < 0 ? '' : spec.slice(0, eq);
  const script = eq < 0 ? spec : spec.slice(eq + 1);
  if (script.trim().length === 0) throw new ConfigError(label, `needs a script: [filter=]script (got ${JSON.stringify(spec)})`);
  const filters = (filterText === '' ? '*' : filterText).split(',').map((f): EventFilter => {
    let kind = f;
    let name = '';
    if (f.startsWith('user:')) [kind, name] = ['user', f.slice('user:'.length)];
    else if (f.startsWith('query:')) [kind, name] = ['query', f.slice('query:'.length)];
    if (!(EVENT_FILTER_KINDS as readonly string[]).includes(kind)) {
      throw new ConfigError(label, `event filter ${JSON.stringify(f)} must be one of ${EVENT_FILTER_SYNTAX} (got ${JSON.stringify(spec)})`);
    }
    return { kind: kind as EventFilterKind, name };
  });
  return { spec, filters, script };
}

/** Serf's EventFilter.Invoke */
export function filterMatches(f: EventFilter, e: HandlerEvent): boolean {
  if (f.kind === '*') return true;
  if (f.kind !== serfEventName(e)) return false;
  if (f.name === '' || e.kind === 'member') return true;
  return e.name === f.name;
}

/** whether any of the handler's filters takes the event (the script runs once even if several do) */
export function handlerTakes(h: EventHandlerSpec, e: HandlerEvent): boolean {
  return h.filters.some((f) => filterMatches(f, e));
}

/** who we are, as the environment tells the script */
export interface HandlerSelf {
  name: string;
  tags: Readonly<Record<string, string>>;
}

/** Serf's tag variable names: upper case, anything but A-Z 0-9 _ becomes _ */
export function tagVariable(tag: string): string {
  return `SERF_TAG_${tag.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/** The variables Serf's invokeEventScript adds to the agent's own environment. */
export function handlerEnv(self: HandlerSelf, e: HandlerEvent): Record<string, string> {
  const env: Record<string, string> = {
    SERF_EVENT: serfEventName(e),
    SERF_SELF_NAME: self.name,
    SERF_SELF_ROLE: self.tags.role ?? '',
  };
  for (const [k, v] of Object.entries(self.tags)) env[tagVariable(k)] = v;
  if (e.kind === 'user') {
    env.SERF_USER_EVENT = e.name;
    env.SERF_USER_LTIME = String(e.ltime);
  } else if (e.kind === 'query') {
    env.SERF_QUERY_NAME = e.name;
    env.SERF_QUERY_LTIME = String(e.ltime);
  }
  return env;
}

/** Serf's eventClean: a tab or newline inside a field would break the line format */
function clean(v: string): string {
  return v.replaceAll('\t', '\\t').replaceAll('\n', '\\n');
}

/**
 * What the script reads: for member events one line per member, `name\taddr\trole\ttags`
 * with tags as `k=v,k=v` (Serf's order is a map's; here sorted by name); for user events
 * and queries the payload, with a newline added when it does not end in one, as Serf does.
 */
export function handlerStdin(e: HandlerEvent): Buffer {
  if (e.kind !== 'member') {
    const p = Buffer.from(e.payload);
    return p.length > 0 && p[p.length - 1] !== 0x0a ? Buffer.concat([p, Buffer.from('\n')]) : p;
  }
  const lines = e.members.map((m) => {
    const tags = m.tags ?? {};
    const pairs = Object.keys(tags)
      .sort()
      .map((k) => `${k}=${tags[k]}`)
      .join(',');
    return `${clean(m.name)}\t${m.address}\t${clean(tags.role ?? '')}\t${clean(pairs)}\n`;
  });
  return Buffer.from(lines.join(''));
}
