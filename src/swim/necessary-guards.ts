// Refusing an event without a macrostep. Most gossip repeats what a member already knows,
// and even snapshot.can() costs microseconds per message in XState (a candidate lookup
// keyed by a freshly built string, per state node). When one named guard sits on every
// transition a machine has for an event type, in every state, an event failing that
// guard can take no transition anywhere: it is refused, by the machine's own guard
// implementation, before XState is asked. Nothing is restated here; the guards are read
// from the machine's definition.
import { and, type AnyStateMachine } from 'xstate';

type GuardFn = (args: { context: unknown; event: { type: string } }, params?: unknown) => boolean;
export type NecessaryGuard = (context: unknown, event: { type: string }) => boolean;

/** what marks a guard made by `and([...])` (or, not and the rest carry other checks) */
const CHECK_AND = (and([]) as unknown as { check: unknown }).check;

interface StateNodeLike {
  states: Record<string, StateNodeLike>;
  transitions: Map<string, Array<{ guard?: unknown }>>;
}

/** the named guards a transition needs to pass (a string guard, or the names inside an `and`) */
function guardNames(guard: unknown): string[] {
  if (typeof guard === 'string') return [guard];
  // `and([...])` carries its parts as `.guards`; only a conjunction narrows this way.
  const g = guard as { check?: unknown; guards?: unknown[] };
  if (typeof guard === 'function' && g.check === CHECK_AND && Array.isArray(g.guards)) return g.guards.flatMap((x) => guardNames(x));
  return [];
}

/**
 * For each event type of `machine`, a guard every transition on it needs, or nothing
 * when there is none. Wildcard handlers, or transitions on the root (inherited by every
 * state), make the analysis decline for the event types they could catch.
 */
export function necessaryGuards(machine: AnyStateMachine): Map<string, NecessaryGuard> {
  const common = new Map<string, Set<string> | null>();
  let wildcard = false;
  const visit = (node: StateNodeLike, depth: number): void => {
    for (const [type, ts] of node.transitions) {
      if (type.includes('*')) wildcard = true;
      for (const t of ts) {
        // Transitions on an ancestor apply in every descendant: only leaves are analysed.
        const names = depth === 0 ? [] : guardNames(t.guard);
        const prev = common.get(type);
        common.set(type, prev === undefined ? new Set(names) : prev && new Set(names.filter((n) => prev.has(n))));
      }
    }
    for (const child of Object.values(node.states)) visit(child, depth + 1);
  };
  const root = machine.root as unknown as StateNodeLike;
  visit(root, 0);
  const out = new Map<string, NecessaryGuard>();
  if (wildcard) return out;
  const impl = machine.implementations.guards as Record<string, unknown>;
  const hasNested = Object.values(root.states).some((s) => Object.keys(s.states).length > 0);
  if (hasNested) return out; // compound states: parents' transitions apply too; not analysed
  for (const [type, names] of common) {
    const name = names ? [...names][0] : undefined;
    const fn = name === undefined ? undefined : impl[name];
    if (typeof fn !== 'function' || 'check' in fn) continue;
    const guard = fn as GuardFn;
    out.set(type, (context, event) => guard({ context, event }));
  }
  return out;
}
