// The member machine: one actor per remote member. It holds memberlist's
// incarnation rules (wire spec §11): which alive/suspect/dead message wins and what
// is stale, and Lifeguard's suspicion timer, whose length shrinks with each
// independent confirmation. Only definitions live here: no sockets, no globals,
// so the inspector, the generated diagrams and the tests see exactly what runs.
import { assign, emit, setup } from 'xstate';
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
}

export interface MemberInput extends MemberInfo {
  name: string;
  incarnation: number;
  at: number;
}

export type MemberEvent =
  /** `replace`: the table decided an address replacement, accepted at any incarnation */
  | ({ type: 'ALIVE'; incarnation: number; at: number; replace?: boolean } & MemberInfo)
  /** `bounds`: suspicion timeout bounds for the cluster size now, used if this starts a suspicion */
  | { type: 'SUSPECT'; incarnation: number; from: string; at: number; bounds: SuspicionBounds }
  | { type: 'DEAD'; incarnation: number; from: string; at: number };

/**
 * What the machine tells its owner. `accepted`: the message changed our view and must
 * be re-gossiped. `suspicionExpired`: the timer ran out; the owner declares the member
 * dead with a dead message from itself (memberlist does the same, so it is gossiped).
 */
export type MemberEmitted =
  | { type: 'accepted'; message: 'alive' | 'suspect' | 'dead'; metaChanged: boolean; addressChanged: boolean }
  | { type: 'suspicionExpired'; incarnation: number };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const memberMachine = setup({
  types: {
    context: {} as MemberContext,
    events: {} as MemberEvent,
    input: {} as MemberInput,
    emitted: {} as MemberEmitted,
  },
  guards: {
    // An alive wins only with a strictly newer incarnation, unless the table decided
    // an address replacement (memberlist accepts those at any incarnation).
    aliveIsNewer: ({ context, event }) =>
      event.type === 'ALIVE' && (event.replace === true || event.incarnation > context.incarnation),
    notStale: ({ context, event }) => event.type !== 'ALIVE' && event.incarnation >= context.incarnation,
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
      };
    }),
    emitAliveAccepted: emit(({ context, event }) => {
      const e = event as Extract<MemberEvent, { type: 'ALIVE' }>;
      return {
        type: 'accepted' as const,
        message: 'alive' as const,
        metaChanged: !sameBytes(context.meta, e.meta),
        addressChanged: !sameBytes(context.addr, e.addr) || context.port !== e.port,
      };
    }),
    markChanged: assign(({ event }) => ({ stateChangedAt: event.at })),
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
    emitSuspectAccepted: emit({
      type: 'accepted' as const,
      message: 'suspect' as const,
      metaChanged: false,
      addressChanged: false,
    }),
    emitDeadAccepted: emit({ type: 'accepted' as const, message: 'dead' as const, metaChanged: false, addressChanged: false }),
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
  context: ({ input }) => ({
    name: input.name,
    addr: input.addr,
    port: input.port,
    meta: input.meta,
    vsn: input.vsn,
    incarnation: input.incarnation,
    stateChangedAt: input.at,
    suspicion: null,
  }),
  initial: 'alive',
  states: {
    alive: {
      on: {
        ALIVE: { guard: 'aliveIsNewer', actions: ['emitAliveAccepted', 'applyAlive'] },
        SUSPECT: { guard: 'notStale', target: 'suspect', actions: ['startSuspicion', 'emitSuspectAccepted'] },
        DEAD: [
          {
            guard: 'isOwnLeave',
            target: 'left',
            actions: ['applyDead', 'emitDeadAccepted'],
          },
          { guard: 'notStale', target: 'dead', actions: ['applyDead', 'emitDeadAccepted'] },
        ],
      },
    },
    suspect: {
      after: {
        suspicionTimeout: { target: 'dead', actions: ['markExpired', 'emitExpired'] },
      },
      on: {
        ALIVE: {
          guard: 'aliveIsNewer',
          target: 'alive',
          actions: ['emitAliveAccepted', 'applyAlive', 'markChanged'],
        },
        // Re-entering re-arms the timer with the shorter remaining time.
        SUSPECT: { guard: 'isNewConfirmation', target: 'suspect', reenter: true, actions: ['addConfirmation', 'emitSuspectAccepted'] },
        DEAD: [
          {
            guard: 'isOwnLeave',
            target: 'left',
            actions: ['applyDead', 'emitDeadAccepted'],
          },
          { guard: 'notStale', target: 'dead', actions: ['applyDead', 'emitDeadAccepted'] },
        ],
      },
    },
    dead: {
      on: {
        ALIVE: { guard: 'aliveIsNewer', target: 'alive', actions: ['emitAliveAccepted', 'applyAlive', 'markChanged'] },
      },
    },
    left: {
      on: {
        ALIVE: { guard: 'aliveIsNewer', target: 'alive', actions: ['emitAliveAccepted', 'applyAlive', 'markChanged'] },
      },
    },
  },
});
