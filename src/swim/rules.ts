// The rules that sit around the member machine in memberlist (wire spec §11, state.go):
// messages about unknown names, messages about ourselves (refutation), address
// conflicts and reclaim, and how a push-pull record becomes a message. Pure functions
// of (view, message) that return a verdict; the core carries the verdict out. The
// machine then decides incarnation order: nothing here repeats its guards.
import type { MemberState } from '../api.js';
import type { Alive, Dead, GossipMessage, PushNodeState, Suspect } from '../wire/types.js';
import { WireState } from '../wire/types.js';

export interface LocalView {
  name: string;
  addr: Uint8Array;
  port: number;
  meta: Uint8Array;
  vsn: Uint8Array;
  incarnation: number;
  leaving: boolean;
}

/** what the rules need of a member, read from its actor's snapshot */
export interface MemberView {
  state: MemberState;
  incarnation: number;
  addr: Uint8Array;
  port: number;
  stateChangedAt: number;
  /** forgotten by memberlist, still listed for Serf: treated as unknown */
  reaped: boolean;
}

export interface View {
  local: LocalView;
  member(name: string): MemberView | undefined;
  now: number;
  /** 0 = never reclaim a dead member's name for a new address */
  deadNodeReclaimTime: number;
}

export type AliveVerdict =
  | { action: 'ignore'; why: 'leaving' | 'invalid_vsn' | 'old_self' | 'own_announcement' | 'unknown_at_incarnation_0' }
  /** another node claims our name from another address */
  | { action: 'name_conflict' }
  /** a known member's name from another address, and the member may not be replaced */
  | { action: 'address_conflict' }
  | { action: 'refute'; accused: number }
  | { action: 'create' }
  /** hand it to the member's actor; `replace`: accept at any incarnation */
  | { action: 'deliver'; replace: boolean };

export type AccusationVerdict =
  | { action: 'ignore'; why: 'old_self' | 'leaving' | 'unknown' }
  | { action: 'refute'; accused: number }
  | { action: 'deliver' };

const EMPTY = new Uint8Array(0);

export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  const x = a ?? EMPTY;
  const y = b ?? EMPTY;
  if (x.length !== y.length) return false;
  // A loop, not every(): this runs for every alive received (addresses), and the callback costs more than the compare.
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** memberlist ignores an alive whose Vsn is malformed (§10.2); we also refuse short ones. */
export function vsnIsValid(vsn: Uint8Array | null): boolean {
  if (!vsn || vsn.length === 0) return true;
  if (vsn.length !== 6) return false;
  // Indexed, not destructured: a typed array's iterator is slow on this path (every alive).
  const pmin = vsn[0]!;
  const pmax = vsn[1]!;
  return !(pmin === 0 || pmax === 0 || pmin > pmax);
}

/** an alive as we store it: no nulls, port 0 meaning "the port we use" */
export function normalizeAlive(a: Alive, localPort: number): Alive & { addr: Uint8Array; meta: Uint8Array; vsn: Uint8Array } {
  return { type: 'alive', incarnation: a.incarnation, node: a.node, addr: a.addr ?? EMPTY, port: a.port === 0 ? localPort : a.port, meta: a.meta ?? EMPTY, vsn: a.vsn ?? EMPTY };
}

/** the incarnation that refutes an accusation at `accused`: above both it and ours */
export function refutingIncarnation(current: number, accused: number): number {
  return Math.max(current + 1, accused + 1);
}

/** memberlist's aliveNode, before the incarnation check the machine makes */
export function judgeAlive(view: View, raw: Alive): AliveVerdict {
  return judgeNormalizedAlive(view, normalizeAlive(raw, view.local.port));
}

// The verdicts without a parameter are shared: nearly every alive a node hears repeats
// what it knows (deliver, to be refused by the member's machine), and a fresh verdict
// per message was garbage by the million in a simulator boot.
const DELIVER: AliveVerdict = Object.freeze({ action: 'deliver', replace: false });
const REPLACE: AliveVerdict = Object.freeze({ action: 'deliver', replace: true });
const CREATE: AliveVerdict = Object.freeze({ action: 'create' });

/** judgeAlive of an alive already normalized: the core normalizes once, to judge and to carry out */
export function judgeNormalizedAlive(view: View, a: ReturnType<typeof normalizeAlive>): AliveVerdict {
  const { local } = view;
  if (a.node === local.name && local.leaving) return { action: 'ignore', why: 'leaving' };
  // a missing vsn was normalized to empty bytes, which vsnIsValid accepts as it accepts none
  if (!vsnIsValid(a.vsn)) return { action: 'ignore', why: 'invalid_vsn' };
  if (a.node === local.name) {
    if (!sameBytes(a.addr, local.addr) || a.port !== local.port) return { action: 'name_conflict' };
    if (a.incarnation < local.incarnation) return { action: 'ignore', why: 'old_self' };
    // Our own announcement coming back to us.
    if (a.incarnation === local.incarnation && sameBytes(a.meta, local.meta) && sameBytes(a.vsn, local.vsn)) {
      return { action: 'ignore', why: 'own_announcement' };
    }
    return { action: 'refute', accused: a.incarnation };
  }
  const m = view.member(a.node);
  if (!m || m.reaped) {
    // memberlist first stores an unknown node as dead with incarnation 0, so an alive
    // with incarnation 0 never creates a member.
    if (a.incarnation === 0) return { action: 'ignore', why: 'unknown_at_incarnation_0' };
    return m ? REPLACE : CREATE;
  }
  if (sameBytes(m.addr, a.addr) && m.port === a.port) return DELIVER;
  const reclaimable = m.state === 'dead' && view.deadNodeReclaimTime > 0 && view.now - m.stateChangedAt > view.deadNodeReclaimTime;
  if (m.state === 'left' || reclaimable) return REPLACE;
  return { action: 'address_conflict' };
}

/**
 * memberlist's suspectNode and deadNode, before the machine's checks: they judge an
 * accusation the same way. About us: older than our incarnation is stale; while leaving
 * we let it stand (memberlist's own state is Left by then, and refuting would gossip
 * alive(n+1), which beats our dead(n) leave everywhere); otherwise refute. About a
 * member we do not know, or have forgotten: ignore.
 */
export function judgeAccusation(view: View, m: Suspect | Dead): AccusationVerdict {
  if (m.node === view.local.name) {
    if (m.incarnation < view.local.incarnation) return { action: 'ignore', why: 'old_self' };
    if (view.local.leaving) return { action: 'ignore', why: 'leaving' };
    return { action: 'refute', accused: m.incarnation };
  }
  const member = view.member(m.node);
  return !member || member.reaped ? { action: 'ignore', why: 'unknown' } : { action: 'deliver' };
}

/** memberlist's suspectNode (see judgeAccusation) */
export const judgeSuspect: (view: View, s: Suspect) => AccusationVerdict = judgeAccusation;
/** memberlist's deadNode (see judgeAccusation) */
export const judgeDead: (view: View, d: Dead) => AccusationVerdict = judgeAccusation;

/**
 * memberlist's mergeState (§8.1): a push-pull record as the message it stands for. A
 * remote "dead" only ever makes us suspect (we check for ourselves); "left" is the
 * member's own leave. Unknown states are skipped.
 */
export function pushRecordToMessage(r: PushNodeState, localName: string): GossipMessage | null {
  const base = { incarnation: r.incarnation, node: r.name };
  switch (r.state) {
    case WireState.alive:
      return { type: 'alive', ...base, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn };
    case WireState.left:
      return { type: 'dead', ...base, from: r.name };
    case WireState.dead:
    case WireState.suspect:
      return { type: 'suspect', ...base, from: localName };
    default:
      return null;
  }
}
