// The member machine as the registry creates its actors: the same machine, with a
// cheaper `restoreSnapshot`. XState's own restore does, for every actor, work whose
// result depends only on the state's name: it resolves the state nodes, builds the
// value, a tags Set and empty children and history objects, and walks the whole
// context (typed arrays byte by byte) looking for actor references to revive. In a
// 10,000-member push-pull that was a third of the merge (bench/results/profile-issue11-s10.md).
//
// A member's persisted snapshot never holds children, history or actor references (the
// machine spawns nothing and its context is data), so the parts that depend on the
// state are built once per state and shared. XState copies them on write (a transition
// makes new ones), which test/unit/member-restore.test.ts checks against the installed
// XState along with the result: the same snapshot, field by field, as XState's restore.
// Anything else (children, history, a state this machine does not have) goes to XState's.
import type { AnyActorScope } from 'xstate';
import { memberMachine } from './member.js';

type MemberMachine = typeof memberMachine;
type MemberSnapshot = ReturnType<MemberMachine['resolveState']>;

interface Persisted {
  status?: unknown;
  output?: unknown;
  error?: unknown;
  value?: unknown;
  context?: unknown;
  children?: object;
  historyValue?: object;
}

const isEmpty = (o: object | undefined) => o === undefined || Object.keys(o).length === 0;
// XState's restore requires the children object (it lists its keys); its absence is its answer to give.
const hasNoChildren = (o: unknown) => typeof o === 'object' && o !== null && Object.keys(o).length === 0;

const xstateRestore = memberMachine.restoreSnapshot;

/**
 * What every restored snapshot of one state shares, for each of the machine's states.
 * memberMachine's, not memberLogic's: XState binds restore and transition to the
 * machine, so every snapshot an actor of memberLogic makes names memberMachine.
 */
const templates: ReadonlyMap<string, MemberSnapshot> = new Map(
  Object.keys(memberMachine.root.states).map((value) => [value, memberMachine.resolveState({ value, context: {} as MemberSnapshot['context'] })]),
);

function restoreSnapshot(persisted: unknown, scope: AnyActorScope): MemberSnapshot {
  const p = persisted as Persisted;
  const t = typeof p.value === 'string' ? templates.get(p.value) : undefined;
  if (!t || !hasNoChildren(p.children) || !isEmpty(p.historyValue)) {
    return xstateRestore(persisted as Parameters<typeof xstateRestore>[0], scope);
  }
  // Spread, then the member's own fields: the object keeps the shape XState's
  // snapshots have, so the code reading snapshots sees one hidden class.
  return { ...t, status: p.status, output: p.output, error: p.error, context: p.context } as MemberSnapshot;
}

/** the member machine, restoring its snapshots without per-actor work that depends only on the state */
export const memberLogic: MemberMachine = Object.create(memberMachine, {
  restoreSnapshot: { value: restoreSnapshot, enumerable: false, writable: false },
}) as MemberMachine;
