// The SWIM + Lifeguard core, sans IO (after foca and swift-cluster-membership): inputs
// are method calls (a gossip message that arrived, a probe that failed, a push-pull
// that came in, the probe tick asking for its next target), outputs go to a narrow
// port (queue this gossip, emit this member event, the view changed). No socket, no
// Subject, no process, no wall clock: time comes from the injected `now` and the
// actors' injected clock, so the same code runs on UDP and under virtual time.
import type { InspectionEvent, Observer } from 'xstate';
import type { Member, MemberEvent, MemberState } from '../api.js';
import type { XStateClock } from '../clock.js';
import type { ProtocolConfig } from '../config.js';
import { addrToString, formatHostPort } from '../membership/address-text.js';
import type { MemberChange } from '../../machines/member.js';
import type { Alive, Dead, GossipMessage, PushNodeState, Suspect } from '../wire/types.js';
import { AdaptiveTimeouts } from './adaptive.js';
import { Awareness } from './awareness.js';
import { suspicionBounds, type SuspicionBounds } from './formulas.js';
import { LocalNode, type LocalNodeInit } from './local-node.js';
import { protocolIncompatibility } from './push-pull.js';
import { Registry } from './registry.js';
import { judgeNormalizedAlive, judgeDead, judgeSuspect, normalizeAlive, pushRecordToMessage, type View } from './rules.js';

export type LogLevel = 'debug' | 'info' | 'warn';

/** under `adaptive`, live members the declarer of a death tells directly */
export const ANNOUNCE_DEATH_MAX = 64;

/** about how many members pass a refutation they heard on to each accuser */
export const REFUTE_FAN_IN = 4;

/** under `adaptive`, how much longer a suspicion we only heard of lasts than one we raised */
export const SECOND_HAND_MULT = 2;

/** Where the core's decisions go. The shell implements it. */
export interface CorePort {
  /** queue a gossip message about node `key`; a newer one about the same node replaces it */
  gossip(key: string, msg: GossipMessage, onDone?: (why: 'transmitted' | 'replaced' | 'dropped') => void): void;
  /**
   * send one gossip message straight to a member (a packet of its own, not queued): an
   * accuser that missed news gets it first hand. `kind`: the leave of a member it
   * accused ('leave'), or our own alive that refutes its accusation of us ('refute').
   */
  tell(member: string, msg: GossipMessage, kind: 'leave' | 'refute' | 'death'): void;
  /** a membership change of a remote member */
  event(e: MemberEvent): void;
  /** the member view changed (a member, or our own incarnation); once per change */
  viewChanged(): void;
  /** we refuted an accusation of ourselves: Lifeguard counts it, our incarnation rose */
  refuted(): void;
  /** an independent confirmation of a suspicion we hold */
  confirmed(): void;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export interface CoreOptions {
  config: ProtocolConfig;
  local: LocalNodeInit;
  /** protocol time in ms (the scheduler's clock) */
  now: () => number;
  /** the same time, as XState's clock for the member actors' timers */
  clock: XStateClock;
  random: () => number;
  port: CorePort;
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
}

const CHANGE_TO_EVENT: Record<MemberChange, MemberEvent['type']> = {
  suspected: 'suspected',
  recovered: 'recovered',
  failed: 'failed',
  left: 'left',
  joined: 'joined',
  updated: 'updated',
};

export class SwimCore {
  readonly local: LocalNode;
  readonly awareness: Awareness;
  /** the adaptive profile's measured timeouts; undefined under memberlist's fixed ones */
  readonly adaptive: AdaptiveTimeouts | undefined;
  private readonly registry: Registry;
  private readonly cfg: ProtocolConfig;
  private readonly port: CorePort;
  private readonly now: () => number;
  private readonly random: () => number;

  /** when we last answered an accusation of a member with its leave, by member: at most one per probe interval */
  private readonly leaveAnswered = new Map<string, number>();
  /** when we last answered a stale accusation of ourselves, by accuser: at most one per probe interval */
  private readonly refuteAnswered = new Map<string, number>();

  /** what the rules see, read live: built once, not per message (LocalNode is a LocalView) */
  private readonly view: View;

  constructor(opts: CoreOptions) {
    this.cfg = opts.config;
    this.port = opts.port;
    this.now = opts.now;
    this.random = opts.random;
    this.local = new LocalNode(opts.local);
    const now = opts.now;
    this.view = {
      local: this.local,
      member: (name) => this.registry.view(name),
      get now() {
        return now();
      },
      deadNodeReclaimTime: opts.config.deadNodeReclaimTime,
    };
    this.awareness = new Awareness(opts.config.awarenessMaxMultiplier);
    this.adaptive = opts.config.adaptiveTimeouts ? new AdaptiveTimeouts(opts.config) : undefined;
    this.registry = new Registry({
      clock: opts.clock,
      random: opts.random,
      ...(opts.inspect ? { inspect: opts.inspect } : {}),
      onChange: (change, member) => this.port.event({ type: CHANGE_TO_EVENT[change], member, at: this.now() }),
      onActorError: (error) => this.port.log('warn', 'member actor failed', { err: String(error) }),
      onExpired: (name, incarnation) => {
        // The timer fired inside the actor; gossip the verdict as memberlist does.
        const dead: Dead = { type: 'dead', incarnation, node: name, from: this.local.name };
        this.port.gossip(name, dead);
        // Under `adaptive`, the first member to declare a death also tells up to
        // ANNOUNCE_DEATH_MAX live members directly: gossip needs a round or two more to
        // reach the last of them, and a member that missed it would wait out its own
        // (longer, second-hand) suspicion.
        if (this.adaptive) for (const m of this.registry.randomMembers(ANNOUNCE_DEATH_MAX, ['alive', 'suspect'], new Set([name]))) this.port.tell(m.name, dead, 'death');
        this.port.viewChanged();
      },
    });
  }

  // ---- inputs ----

  /** a gossip message (alive, suspect, dead) from the network or a push-pull */
  receive(msg: GossipMessage): void {
    if (msg.type === 'alive') this.onAlive(msg);
    else if (msg.type === 'suspect') this.onSuspect(msg);
    else this.onDead(msg);
  }

  /**
   * Serf's leave intent for `name` (Serf sends it before memberlist's leave, and every
   * Serf agent passes it on): the member is going on purpose, so a failure that follows
   * is recorded as its leave, and a failure already recorded becomes one. True when it
   * changed what we hold.
   */
  leaveIntent(name: string, prune = false): boolean {
    if (name === this.local.name) return false;
    const ok = this.registry.deliver(name, { type: 'LEAVING', at: this.now() });
    // Serf's force-leave -prune erases a member that is gone. One that still answers
    // only becomes leaving: it refutes, and erasing it would hide a live member.
    const gone = this.registry.view(name)?.state === 'left';
    if (prune && gone) return this.prune(name);
    if (ok) this.port.viewChanged();
    return ok;
  }

  /**
   * Serf's join intent for `name`, newer than the leave intent we hold: the member
   * refuted it (Serf's Leaving → Alive), so a failure that follows is a failure again.
   */
  joinIntent(name: string): boolean {
    if (name === this.local.name) return false;
    return this.registry.deliver(name, { type: 'STAYING' });
  }

  /** take a member out of the list at once (Serf's eraseNode), as a `reaped` event */
  private prune(name: string): true {
    const member = this.registry.member(name)!;
    this.registry.forget(name);
    this.port.event({ type: 'reaped', member, at: this.now() });
    this.port.viewChanged();
    return true;
  }

  /**
   * memberlist's leave message of a member we know left (a dead about it, from it), to
   * hand to whoever still thinks it is alive; undefined unless it left.
   */
  leaveOf(name: string): Dead | undefined {
    const m = this.registry.view(name);
    return m?.state === 'left' ? { type: 'dead', incarnation: m.incarnation, node: name, from: name } : undefined;
  }

  /** our own probe of `name` failed: suspect it as if we had received the message */
  probeFailed(name: string): void {
    const m = this.registry.view(name);
    if (!m) return;
    this.onSuspect({ type: 'suspect', incarnation: m.incarnation, node: name, from: this.local.name });
  }

  /**
   * Merge a remote push-pull state (§8.1), after memberlist's version check. Returns
   * why it was refused, or null when merged.
   */
  mergePushPull(nodes: readonly PushNodeState[]): string | null {
    const why = protocolIncompatibility(nodes, this.pushState());
    if (why) return why;
    for (const r of nodes) {
      const msg = pushRecordToMessage(r, this.local.name);
      if (msg) this.receive(msg);
      else this.port.log('debug', 'ignoring push-pull record with unknown state', { member: r.name, state: r.state });
    }
    return null;
  }

  /** the probe tick: the next member to probe; memberlist reaps the dead when the order wraps */
  nextProbeTarget(): Member | undefined {
    return this.registry.nextProbeTarget(() => this.reap());
  }

  /** the address we advertise, once bound */
  setAddress(addr: Uint8Array, port: number): void {
    this.local.setAddress(addr, port);
    this.port.viewChanged();
  }

  /** new metadata, one incarnation up; gossiped when `announce` (the node is running) */
  setMeta(meta: Uint8Array, announce: boolean): void {
    const alive = this.local.setMeta(meta);
    if (announce) this.port.gossip(this.local.name, alive);
    this.port.viewChanged();
  }

  /**
   * Start leaving: from now on we let our own death stand. Returns memberlist's leave
   * message (dead about us, from us) for the shell to gossip and wait on.
   */
  leave(): Dead {
    this.local.markLeaving();
    this.port.viewChanged();
    return { type: 'dead', incarnation: this.local.incarnation, node: this.local.name, from: this.local.name };
  }

  stop(): void {
    this.registry.stop();
  }

  // ---- reads: all from the actors ----

  get size(): number {
    return this.registry.size;
  }

  get aliveCount(): number {
    return this.registry.aliveCount;
  }

  member(name: string): Member | undefined {
    return name === this.local.name ? this.local.toMember() : this.registry.member(name);
  }

  /** this node first, then every remote member still listed */
  members(): Member[] {
    return [this.local.toMember(), ...this.registry.list()];
  }

  remoteMembers(): Member[] {
    return this.registry.list();
  }

  countByState(): Record<MemberState, number> {
    const c: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
    c[this.local.leaving ? 'left' : 'alive']++;
    this.registry.countInto(c);
    return c;
  }

  /** raw protocol versions of a member, for feature checks (CRC, nack, TCP ping) */
  protocolMax(name: string): number {
    return this.registry.vsnOf(name)?.[1] ?? 0;
  }

  failedMembers(): Member[] {
    return this.registry.failed();
  }

  randomMembers(k: number, states: readonly MemberState[], exclude?: ReadonlySet<string>): Member[] {
    return this.registry.randomMembers(k, states, exclude);
  }

  /** alive, suspect, or dead/left within GossipToTheDeadTime (so they can refute) */
  gossipTargets(k: number): Member[] {
    return this.registry.gossipTargets(k, this.now(), this.cfg.gossipToTheDeadTime);
  }

  /** every node we know, self included, as push-pull records */
  pushState(): PushNodeState[] {
    return [this.local.pushState(), ...this.registry.pushState()];
  }

  /** the actor of one member, for tests and the inspector */
  actorOf(name: string) {
    return this.registry.actor(name);
  }

  // ---- the rules, carried out ----

  private onAlive(raw: Alive): void {
    const a = normalizeAlive(raw, this.local.port);
    const verdict = judgeNormalizedAlive(this.view, a);
    switch (verdict.action) {
      case 'ignore':
        if (verdict.why === 'invalid_vsn') this.port.log('debug', 'ignoring alive with invalid vsn', { member: raw.node });
        return;
      case 'name_conflict':
        this.port.log('warn', 'another node claims our name', { member: raw.node, address: addrToString(a.addr), port: a.port });
        return;
      case 'address_conflict': {
        const known = this.registry.view(raw.node)!;
        this.port.log('warn', 'conflicting address for member', {
          member: raw.node,
          known: formatHostPort(addrToString(known.addr), known.port),
          claimed: formatHostPort(addrToString(a.addr), a.port),
        });
        return;
      }
      case 'refute':
        return this.refute(verdict.accused, this.local.name);
      case 'create': {
        const member = this.registry.create(raw.node, { addr: a.addr, port: a.port, meta: a.meta, vsn: a.vsn, incarnation: a.incarnation, at: this.now() });
        this.port.event({ type: 'joined', member, at: this.now() });
        this.port.gossip(raw.node, regossip(raw, a));
        this.port.viewChanged();
        return;
      }
      case 'deliver': {
        const before = this.registry.view(raw.node);
        // who accused it, as counted by our suspicion: told of its refutation below
        const accusers = before?.state === 'suspect' ? this.registry.actor(raw.node)?.getSnapshot().context.suspicion?.from : undefined;
        const ok = this.registry.deliver(raw.node, {
          type: 'ALIVE', incarnation: a.incarnation, at: this.now(), replace: verdict.replace, addr: a.addr, port: a.port, meta: a.meta, vsn: a.vsn,
        });
        if (!ok) return;
        // A suspect's refutation: how long refuting takes here is what the adaptive
        // suspicion timeout follows.
        if (this.adaptive && before?.state === 'suspect' && !verdict.replace) this.adaptive.observeRefutation(this.now() - before.stateChangedAt);
        const alive = regossip(raw, a);
        // Members that hear a refutation pass it straight to the accusers their
        // suspicion counted: gossip can miss one of them, and its timer would then
        // declare a live member dead (seen in the simulator under 10% loss). Each does
        // so with probability REFUTE_FAN_IN / n, so an accuser gets a few copies, not n.
        const pass = Math.min(1, REFUTE_FAN_IN / this.registry.size);
        for (const a of accusers ?? []) if (a !== this.local.name && a !== raw.node && this.random() < pass) this.port.tell(a, alive, 'refute');
        this.port.gossip(raw.node, alive);
        this.port.viewChanged();
      }
    }
  }

  /**
   * The suspicion timeout's bounds for the cluster size now: memberlist's, or measured
   * under `adaptive`. There, a suspicion we only heard of (`firstHand` false: our own
   * probe did not fail) lasts SECOND_HAND_MULT times longer: a real crash is declared
   * by the members whose probes failed and reaches us as their dead message, so our
   * own timer need not race them, while a refutation that gossip failed to bring us
   * gets more time to arrive.
   */
  suspicionBounds(firstHand = true): SuspicionBounds {
    const n = this.registry.size;
    const b = suspicionBounds(this.cfg, n);
    if (!this.adaptive) return b;
    const minMs = this.adaptive.suspicionMin(n, b.minMs) * (firstHand ? 1 : SECOND_HAND_MULT);
    return { minMs, maxMs: this.cfg.suspicionMaxTimeoutMult * minMs, k: b.k };
  }

  /** how long to wait for a direct ack: the preset's probeTimeout, or measured under `adaptive` */
  probeTimeout(): number {
    return this.adaptive ? this.adaptive.probeTimeout() : this.cfg.probeTimeout;
  }

  private onSuspect(s: Suspect): void {
    const verdict = judgeSuspect(this.view, s);
    if (verdict.action === 'refute') return this.refute(verdict.accused, s.from);
    if (verdict.action === 'ignore') {
      if (verdict.why === 'old_self') this.answerStaleAccusation(s);
      return;
    }
    const wasSuspect = this.registry.view(s.node)!.state === 'suspect';
    const bounds = this.suspicionBounds(s.from === this.local.name);
    if (!this.registry.deliver(s.node, { type: 'SUSPECT', incarnation: s.incarnation, from: s.from, at: this.now(), bounds })) {
      this.answerWithLeave(s);
      return;
    }
    if (wasSuspect) this.port.confirmed();
    this.port.gossip(s.node, s);
    this.port.viewChanged();
  }

  private onDead(d: Dead): void {
    const verdict = judgeDead(this.view, d);
    if (verdict.action === 'refute') return this.refute(verdict.accused, d.from);
    if (verdict.action === 'ignore') {
      if (verdict.why === 'old_self') this.answerStaleAccusation(d);
      return;
    }
    if (!this.registry.deliver(d.node, { type: 'DEAD', incarnation: d.incarnation, from: d.from, at: this.now() })) {
      if (d.from !== d.node) this.answerWithLeave(d);
      return;
    }
    this.port.gossip(d.node, d);
    this.port.viewChanged();
  }

  /**
   * Someone suspects or declared dead a member that we know left: memberlist would
   * ignore it, and the accuser (who missed the leave) would record a failure. Tell the
   * accuser the leave directly, and gossip it again so that others who missed it hear
   * it too, before the accuser's suspicion runs out. The leave beats the accusation at
   * the same incarnation (a dead from the member itself), so it is never stale there.
   */
  private answerWithLeave(accusation: Suspect | Dead): void {
    const leave = this.leaveOf(accusation.node);
    if (!leave || accusation.incarnation > leave.incarnation) return;
    const now = this.now();
    const last = this.leaveAnswered.get(accusation.node);
    if (last !== undefined && now - last < this.cfg.probeInterval) return;
    this.leaveAnswered.set(accusation.node, now);
    if (accusation.from !== this.local.name) this.port.tell(accusation.from, leave, 'leave');
    this.port.gossip(leave.node, leave);
    this.port.log('debug', 'answered an accusation of a member that left with its leave', { member: leave.node, accuser: accusation.from });
  }

  /**
   * Raise our incarnation above an accusation and gossip alive (§11.4); Lifeguard
   * counts it. Beyond memberlist, the accuser is also told directly: it is the member
   * whose timer runs first, and gossip alone can miss it (under loss it did, in the
   * simulator: an accuser that never heard the refutation declared a healthy member dead).
   */
  private refute(accused: number, accuser: string): void {
    const alive = this.local.refute(accused);
    this.awareness.apply(1);
    this.port.refuted();
    this.port.gossip(this.local.name, alive);
    if (accuser !== this.local.name) this.port.tell(accuser, alive, 'refute');
    this.port.viewChanged();
  }

  /**
   * An accusation of us older than our incarnation: we refuted it, but this accuser
   * (the buddy system sends its suspicion with each probe, and gossip relays it) has
   * not heard. memberlist ignores it; we tell that accuser our current alive, at most
   * once per probe interval, unless we are leaving (then our death stands).
   */
  private answerStaleAccusation(accusation: Suspect | Dead): void {
    if (this.local.leaving || accusation.from === this.local.name) return;
    const now = this.now();
    const last = this.refuteAnswered.get(accusation.from);
    if (last !== undefined && now - last < this.cfg.probeInterval) return;
    this.refuteAnswered.set(accusation.from, now);
    this.port.tell(accusation.from, this.local.alive(), 'refute');
  }

  /**
   * memberlist forgets members dead or left for GossipToTheDeadTime; Serf keeps listing
   * them (and retrying the failed) until ReconnectTimeout, the left until TombstoneTimeout.
   */
  private reap(): void {
    const now = this.now();
    for (const answered of [this.leaveAnswered, this.refuteAnswered]) {
      for (const [name, at] of answered) if (now - at >= this.cfg.probeInterval) answered.delete(name);
    }
    let changed = false;
    for (const d of this.registry.departed()) {
      let reaped = d.reaped;
      if (!reaped && now - d.since >= this.cfg.gossipToTheDeadTime) {
        this.registry.reap(d.name);
        reaped = changed = true;
      }
      const keep = d.state === 'left' ? this.cfg.tombstoneTimeout : this.cfg.reconnectTimeout;
      if (reaped && now - d.since >= keep) {
        // Serf's EventMemberReap, as for a pruned member
        const member = this.registry.member(d.name)!;
        this.registry.forget(d.name);
        this.port.event({ type: 'reaped', member, at: now });
        changed = true;
      }
    }
    if (changed) this.port.viewChanged();
  }
}

/**
 * What we pass on of an alive we took: the message as heard, with the address we
 * resolved (port 0 → ours). Built only once the alive was taken, not for the many refused.
 */
function regossip(raw: Alive, a: { addr: Uint8Array; port: number }): Alive {
  return { type: 'alive', incarnation: raw.incarnation, node: raw.node, addr: a.addr, port: a.port, meta: raw.meta, vsn: raw.vsn };
}
