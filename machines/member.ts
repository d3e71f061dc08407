// The member machine: one actor per remote member, and the only copy of that
// member's state. It holds memberlist's incarnation rules (wire spec §11): which
// alive/suspect/dead message wins and what is stale, and Lifeguard's suspicion timer,
// whose length shrinks with each independent confirmation. Only definitions live
// here: no sockets, no globals, so the inspector, the generated diagrams and the
// tests see exactly what runs.
//
// Whether an event was accepted is visible from outside without asking: a refused
// event leaves the snapshot object as it was, an accepted one replaces it. What a
// change means for users (joined, suspected, …) is emitted as `changed`.
import { and, assign, emit, setup, type Snapshot } from 'xstate';
import { suspicionTimeoutMs, type SuspicionBounds } from '../src/swim/formulas.js';

export interface MemberInfo {
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  vsn: Uint8Array;
}

export interface Suspicion {
  bounds: SuspicionBounds;
  startedAt: number;
  /** accusers already counted (the first accuser included) */
  from: string[];
  /** when the current timer was armed; the delay is what is left of the total */
  armedAt: number;
}

export interface MemberContext extends MemberInfo {
  name: string;
  incarnation: number;
  stateChangedAt: number;
  suspicion: Suspicion | null;
  /**
   * Dead or left for longer than GossipToTheDeadTime: memberlist has forgotten it (not
   * counted, probed or gossiped to), Serf still lists it (failed ones until
   * ReconnectTimeout, and retried meanwhile; left ones until TombstoneTimeout).
   */
  reaped: boolean;
  /**
   * Serf said this member is leaving (its leave intent, which Serf sends before
   * memberlist's leave): a failure that follows is its leave, as Serf records it.
   * Cleared by a newer alive (a new life).
   */
  leaving: boolean;
}

export interface MemberInput extends MemberInfo {
  name: string;
  incarnation: number;
  at: number;
}

export type MemberEvent =
  /** `replace`: the core decided an address replacement or a forgotten member's return, accepted at any incarnation */
  | ({ type: 'ALIVE'; incarnation: number; at: number; replace?: boolean } & MemberInfo)
  /** `bounds`: suspicion timeout bounds for the cluster size now, used if this starts a suspicion */
  | { type: 'SUSPECT'; incarnation: number; from: string; at: number; bounds: SuspicionBounds }
  | { type: 'DEAD'; incarnation: number; from: string; at: number }
  /** Serf's leave intent for this member (Serf's messageLeave): it is going, on purpose */
  | { type: 'LEAVING'; at: number }
  /** Serf's join intent for this member, newer than its leave intent: it stays (Serf's Leaving → Alive) */
  | { type: 'STAYING' }
  /** memberlist forgets a member dead for GossipToTheDeadTime */
  | { type: 'REAP' };

/** what a transition means to users of members$/events$ */
export type MemberChange = 'suspected' | 'recovered' | 'failed' | 'left' | 'joined' | 'updated';

/**
 * What the machine tells its owner. `changed`: the member's state (or, for `updated`,
 * its metadata or address) changed. `suspicionExpired`: the timer ran out; the owner
 * declares the member dead with a dead message from itself (memberlist does the same,
 * so it is gossiped).
 */
export type MemberEmitted =
  /** `from`: the state the member left (so owners can keep counts from events alone) */
  | { type: 'changed'; change: MemberChange; from: MemberStateName }
  | { type: 'suspicionExpired'; incarnation: number };

/** the machine's top-level states, as users see them */
export type MemberStateName = 'alive' | 'suspect' | 'dead' | 'left';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const changed = (change: MemberChange, from: MemberStateName) => ({ type: 'emitChanged' as const, params: { change, from } });

/** a new member's context: alive since `at`, no suspicion, not reaped, not leaving */
export function memberContext(input: MemberInput): MemberContext {
  return {
    name: input.name,
    addr: input.addr,
    port: input.port,
    meta: input.meta,
    vsn: input.vsn,
    incarnation: input.incarnation,
    stateChangedAt: input.at,
    suspicion: null,
    reaped: false,
    leaving: false,
  };
}

export const memberMachine = setup({
  types: {
    context: {} as MemberContext,
    events: {} as MemberEvent,
    input: {} as MemberInput,
    emitted: {} as MemberEmitted,
  },
  guards: {
    // An alive wins only with a strictly newer incarnation, unless the core decided
    // an address replacement (memberlist accepts those at any incarnation).
    aliveIsNewer: ({ context, event }) =>
      event.type === 'ALIVE' && (event.replace === true || event.incarnation > context.incarnation),
    // An accepted alive that changes what users see of a member that stays alive.
    changesInfo: ({ context, event }) =>
      event.type === 'ALIVE' && (!sameBytes(context.meta, event.meta) || !sameBytes(context.addr, event.addr) || context.port !== event.port),
    notStale: ({ context, event }) => (event.type === 'SUSPECT' || event.type === 'DEAD') && event.incarnation >= context.incarnation,
    // A dead message sent by the member about itself is memberlist's graceful leave.
    isOwnLeave: ({ context, event }) =>
      event.type === 'DEAD' && event.incarnation >= context.incarnation && event.from === context.name,
    // A confirmation is a suspect from an accuser not yet counted, while fewer than k
    // have been counted. Its incarnation must not be stale.
    isNewConfirmation: ({ context, event }) => {
      if (event.type !== 'SUSPECT' || event.incarnation < context.incarnation) return false;
      const s = context.suspicion;
      if (!s || s.bounds.k < 1 || s.from.includes(event.from)) return false;
      return s.from.length - 1 < s.bounds.k;
    },
    notReaped: ({ context }) => !context.reaped,
    notLeaving: ({ context }) => !context.leaving,
    // A failure of a member whose leave intent we hold is its leave (Serf's StatusLeaving).
    isAnnouncedExit: ({ context, event }) => event.type === 'DEAD' && event.incarnation >= context.incarnation && context.leaving,
    isLeaving: ({ context }) => context.leaving,
  },
  actions: {
    applyAlive: assign(({ event }) => {
      if (event.type !== 'ALIVE') return {};
      return {
        incarnation: event.incarnation,
        addr: event.addr,
        port: event.port,
        meta: event.meta,
        vsn: event.vsn,
        suspicion: null,
        reaped: false,
        leaving: false,
      };
    }),
    markChanged: assign(({ event }) => ('at' in event ? { stateChangedAt: event.at } : {})),
    // The timer event carries no time; it fired exactly when the armed delay ran out.
    markExpired: assign(({ context }) => {
      const s = context.suspicion;
      if (!s) return {};
      const total = suspicionTimeoutMs(s.bounds, s.from.length - 1);
      return { stateChangedAt: Math.max(s.armedAt, s.startedAt + total), suspicion: null };
    }),
    startSuspicion: assign(({ event }) => {
      if (event.type !== 'SUSPECT') return {};
      return {
        incarnation: event.incarnation,
        stateChangedAt: event.at,
        suspicion: { bounds: event.bounds, startedAt: event.at, from: [event.from], armedAt: event.at },
      };
    }),
    addConfirmation: assign(({ context, event }) => {
      if (event.type !== 'SUSPECT' || !context.suspicion) return {};
      const s = context.suspicion;
      return { suspicion: { ...s, from: [...s.from, event.from], armedAt: event.at } };
    }),
    applyDead: assign(({ event }) => {
      if (event.type !== 'DEAD') return {};
      return { incarnation: event.incarnation, stateChangedAt: event.at, suspicion: null };
    }),
    markReaped: assign({ reaped: true }),
    markLeaving: assign({ leaving: true }),
    clearLeaving: assign({ leaving: false }),
    emitChanged: emit((_, params: { change: MemberChange; from: MemberStateName }) => ({ type: 'changed' as const, change: params.change, from: params.from })),
    emitExpired: emit(({ context }) => ({ type: 'suspicionExpired' as const, incarnation: context.incarnation })),
  },
  delays: {
    // What is left of the (possibly shrunk) total timeout, measured from suspicion start.
    suspicionTimeout: ({ context }) => {
      const s = context.suspicion;
      if (!s) return 0;
      const total = suspicionTimeoutMs(s.bounds, s.from.length - 1);
      return Math.max(0, total - (s.armedAt - s.startedAt));
    },
  },
}).createMachine({
  id: 'member',
  context: ({ input }) => memberContext(input),
  initial: 'alive',
  states: {
    alive: {
      on: {
        ALIVE: [
          { guard: and(['aliveIsNewer', 'changesInfo']), actions: ['applyAlive', changed('updated', 'alive')] },
          { guard: 'aliveIsNewer', actions: 'applyAlive' },
        ],
        SUSPECT: { guard: 'notStale', target: 'suspect', actions: ['startSuspicion', changed('suspected', 'alive')] },
        DEAD: [
          { guard: 'isOwnLeave', target: 'left', actions: ['applyDead', changed('left', 'alive')] },
          { guard: 'isAnnouncedExit', target: 'left', actions: ['applyDead', changed('left', 'alive')] },
          { guard: 'notStale', target: 'dead', actions: ['applyDead', changed('failed', 'alive')] },
        ],
        LEAVING: { guard: 'notLeaving', actions: 'markLeaving' },
        STAYING: { guard: 'isLeaving', actions: 'clearLeaving' },
      },
    },
    suspect: {
      after: {
        suspicionTimeout: [
          { guard: 'isLeaving', target: 'left', actions: ['markExpired', 'emitExpired', changed('left', 'suspect')] },
          { target: 'dead', actions: ['markExpired', 'emitExpired', changed('failed', 'suspect')] },
        ],
      },
      on: {
        ALIVE: { guard: 'aliveIsNewer', target: 'alive', actions: ['applyAlive', 'markChanged', changed('recovered', 'suspect')] },
        // Re-entering re-arms the timer with the shorter remaining time.
        SUSPECT: { guard: 'isNewConfirmation', target: 'suspect', reenter: true, actions: ['addConfirmation'] },
        DEAD: [
          { guard: 'isOwnLeave', target: 'left', actions: ['applyDead', changed('left', 'suspect')] },
          { guard: 'isAnnouncedExit', target: 'left', actions: ['applyDead', changed('left', 'suspect')] },
          { guard: 'notStale', target: 'dead', actions: ['applyDead', changed('failed', 'suspect')] },
        ],
        LEAVING: { guard: 'notLeaving', actions: 'markLeaving' },
        STAYING: { guard: 'isLeaving', actions: 'clearLeaving' },
      },
    },
    dead: {
      on: {
        ALIVE: { guard: 'aliveIsNewer', target: 'alive', actions: ['applyAlive', 'markChanged', changed('joined', 'dead')] },
        // The member's own leave, or Serf's leave intent, arriving after we declared it
        // dead: it left, and users should see a leave, not a failure (Serf's "forced" leave).
        DEAD: { guard: and(['isOwnLeave', 'notReaped']), target: 'left', actions: ['applyDead', changed('left', 'dead')] },
        // Serf's intent counts even once memberlist has forgotten the member: Serf still
        // lists it failed, and `serf force-leave` is mostly run long after the failure.
        LEAVING: { target: 'left', actions: ['markLeaving', 'markChanged', changed('left', 'dead')] },
        REAP: { guard: 'notReaped', actions: 'markReaped' },
      },
    },
    left: {
      on: {
        ALIVE: { guard: 'aliveIsNewer', target: 'alive', actions: ['applyAlive', 'markChanged', changed('joined', 'left')] },
        REAP: { guard: 'notReaped', actions: 'markReaped' },
      },
    },
  },
});

// Read, never kept, by restoreSnapshot (it builds the restored snapshot's own): shared.
const NO_CHILDREN = Object.freeze({});

/**
 * The snapshot of a member just created from `input`, as `createActor(memberMachine,
 * { snapshot })` restores it: the same state and context as `createActor(memberMachine,
 * { input })` reaches, without running the initial transition (its context assignment
 * and macrostep). Restoring is a third to a half cheaper per actor, and most of a big
 * push-pull's cost is creating actors (bench/results/profile-issue11-s9.md). The actor
 * keeps this object among its options, so it holds only what restoring reads.
 */
export function newMemberSnapshot(input: MemberInput): Snapshot<unknown> {
  const persisted = { status: 'active', value: 'alive' satisfies MemberStateName, children: NO_CHILDREN, context: memberContext(input) };
  // XState types a persisted snapshot only as Snapshot<unknown> (status, output, error);
  // output and error are left out here, undefined either way.
  return persisted as unknown as Snapshot<unknown>;
}
