// Serf's member intents, the first piece of Serf's layer over memberlist. Serf marks
// a member as left only when memberlist's leave follows Serf's own leave intent
// (messageLeave, with a Lamport time above the last it accepted for that member);
// without one it records the leave as a failure. So an rxswim node that leaves a
// cluster holding Serf agents sends the intent first, and an rxswim node that hears
// Serf's intent treats the member's coming failure as its leave (as Serf does), and
// passes new intents on as Serf does. The Lamport clock is kept from every intent and
// push-pull state Serf sends, so that our intents are never older than Serf's view.
// A node that joins says so with a join intent (so an old leave of its name is older
// than its new life), and a force-leave is a leave intent sent on another's behalf.
import type { MemberState } from '../api.js';
import type { DecodeErrorReason } from '../errors.js';
import { LamportClock } from './lamport.js';
import { decodeSerfMessage, encodeSerfIntent, type SerfIntent, type SerfPushPull } from './messages.js';

export interface SerfIntentDeps {
  name: string;
  /**
   * Serf says `node` is leaving on purpose (the core's leaveIntent); `prune`: a
   * force-leave -prune, which erases the member once it is gone
   */
  leaving(node: string, prune: boolean): void;
  /** Serf's join intent for `node` beat its leave intent: it stays (the core's joinIntent) */
  staying?(node: string): void;
  /** gossip a Serf message on; a newer one with the same key replaces it */
  rebroadcast(key: string, message: Uint8Array): void;
  /** an intent was new to us and applied (for the metric) */
  applied?(type: SerfIntent['type']): void;
  /** how the member list shows `node` now (undefined: not listed); shapes statusTimes() as Serf's LocalState */
  listed?(node: string): MemberState | undefined;
  /** whether we are up and not leaving: an intent saying we leave is then stale, and refuted */
  running(): boolean;
}

/** intents remembered per member, as Serf keeps a status time per member */
const MAX_TRACKED = 8192;

export class SerfIntents {
  readonly clock = new LamportClock();
  /** the Lamport time of the last intent accepted per member (Serf's statusLTime) */
  private readonly status = new Map<string, { ltime: bigint; type: SerfIntent['type'] }>();

  constructor(private readonly deps: SerfIntentDeps) {}

  /**
   * A memberlist user message whose first byte is one of Serf's types. Returns why it
   * was dropped (to be counted), or undefined. Events, queries and key messages are
   * not handled yet and are ignored.
   */
  receive(bytes: Uint8Array): DecodeErrorReason | undefined {
    const d = decodeSerfMessage(bytes);
    if (!d.ok) return d.reason;
    const m = d.message;
    if (m.type === 'leave' || m.type === 'join') {
      if (this.apply(m)) this.deps.rebroadcast(`serf:${m.node}`, bytes.slice());
    } else if (m.type === 'pushPull') this.mergeState(m);
    return undefined;
  }

  /** a push-pull user state that starts with Serf's push-pull type (Serf's LocalState) */
  receiveState(bytes: Uint8Array): DecodeErrorReason | undefined {
    const d = decodeSerfMessage(bytes);
    if (!d.ok) return d.reason;
    if (d.message.type !== 'pushPull') return 'unknown_type';
    this.mergeState(d.message);
    return undefined;
  }

  /** our leave intent, at a time above everything we have seen */
  leaveIntent(): Uint8Array {
    const ltime = this.clock.increment();
    this.status.set(this.deps.name, { ltime, type: 'leave' });
    return encodeSerfIntent({ type: 'leave', ltime, node: this.deps.name });
  }

  /**
   * Serf's broadcastJoin: our join intent at the clock's time (after a join's
   * push-pull has moved it past every status time the cluster holds), so that a leave
   * of ours from an earlier life, still in someone's state, is older than this life.
   */
  joinIntent(): Uint8Array {
    const ltime = this.clock.time();
    this.clock.witness(ltime);
    this.status.set(this.deps.name, { ltime, type: 'join' });
    return encodeSerfIntent({ type: 'join', ltime, node: this.deps.name });
  }

  /**
   * Serf's forceLeave: a leave intent for another member at the clock's time (the
   * clock then moves on), applied here as if received. Returns it, and the bytes to gossip.
   */
  forceLeave(node: string, prune: boolean): { ltime: bigint; message: Uint8Array } {
    const intent: SerfIntent = { type: 'leave', ltime: this.clock.time(), node, prune };
    this.clock.increment();
    this.apply(intent, false);
    return { ltime: intent.ltime, message: encodeSerfIntent(intent) };
  }

  /**
   * What Serf's LocalState says of members: the status time of each member it lists
   * (ourselves included), and which of them are left (Serf's leftMembers, which a
   * receiver replays as a leave one past the status time). With `listed`, as Serf: a
   * name we do not list (pruned, or only heard of in an intent) is not in it, and a
   * member is in leftMembers only while it is listed left, not while it is merely
   * leaving or back alive (its new life's join intent may not have reached us yet).
   */
  statusTimes(): { statusLTimes: Map<string, bigint>; leftMembers: string[] } {
    const statusLTimes = new Map<string, bigint>();
    const leftMembers: string[] = [];
    const listed = this.deps.listed;
    for (const [node, s] of this.status) {
      const state = listed && node !== this.deps.name ? listed(node) : undefined;
      if (listed && node !== this.deps.name && state === undefined) continue;
      statusLTimes.set(node, s.ltime);
      if (s.type === 'leave' && (listed ? state === 'left' : true)) leftMembers.push(node);
    }
    return { statusLTimes, leftMembers };
  }

  /** Serf's MergeRemoteState, for what we use: its clock, and who left */
  mergeState(s: SerfPushPull): void {
    // Serf witnesses LTime − 1: no message with that time has been sent yet.
    if (s.ltime > 0n) this.clock.witness(s.ltime - 1n);
    // As Serf does: a left member's leave went one past its last status time, and
    // every other status time is an artificial join (it undoes an older leave intent).
    const left = new Set(s.leftMembers);
    for (const node of left) this.apply({ type: 'leave', ltime: (s.statusLTimes.get(node) ?? 0n) + 1n, node, prune: false });
    const clock = this.clock;
    for (const [node, ltime] of s.statusLTimes) {
      if (left.has(node)) continue;
      // Most of a push-pull repeats what we hold. apply() would refuse such a time, and
      // witnessing one below our clock changes nothing: skip it before building an intent.
      const known = this.status.get(node);
      if (known && ltime <= known.ltime && ltime < clock.time()) continue;
      this.apply({ type: 'join', ltime, node, prune: false });
    }
  }

  /** Serf's handleNodeJoinIntent / handleNodeLeaveIntent; true when the intent was new to us */
  private apply(i: SerfIntent, received = true): boolean {
    this.clock.witness(i.ltime);
    const known = this.status.get(i.node);
    if (known && i.ltime <= known.ltime) return false;
    if (i.node === this.deps.name) {
      // An old intent about us (from before a restart, or forged): Serf refutes a
      // leave while alive with a join at its now-later clock.
      if (i.type === 'leave' && this.deps.running()) this.deps.rebroadcast(`serf:${i.node}`, this.joinIntent());
      return false;
    }
    this.status.delete(i.node);
    this.status.set(i.node, { ltime: i.ltime, type: i.type });
    if (this.status.size > MAX_TRACKED) this.status.delete(this.status.keys().next().value!);
    if (received) this.deps.applied?.(i.type);
    if (i.type === 'leave') this.deps.leaving(i.node, i.prune);
    else this.deps.staying?.(i.node);
    return true;
  }
}
