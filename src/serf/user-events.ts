// Serf's user events (serf.go handleUserEvent / UserEvent, delegate.go
// MergeRemoteState): application events gossiped through the cluster and delivered
// once to each member. They are ordered by an event clock of their own, apart from
// the member clock, and remembered in a ring of EVENT_BUFFER slots indexed by
// LTime mod EVENT_BUFFER, each slot holding the events heard at one time. That ring is
// both the de-duplication (an event is new unless its slot already holds the same
// name and payload at the same time) and the window: an event more than a buffer's
// worth behind the clock could no longer be told apart from a repeat, so it is
// dropped. Serf sends the whole ring in its push-pull state, so an event that gossip
// missed arrives within a push-pull interval.
import type { SerfUserEvent } from '../api.js';
import type { DecodeErrorReason } from '../errors.js';
import { LamportClock } from './lamport.js';
import { decodeSerfMessage, encodeSerfUserEvent, type SerfEventSlot, type SerfPushPull, type SerfUserEventMessage } from './messages.js';

/** Serf's default EventBuffer (serf/config.go): event times remembered */
export const EVENT_BUFFER = 512;
/** Serf 0.8's UserEventSizeLimit: bytes of name plus payload in one event */
export const USER_EVENT_SIZE_LIMIT = 512;

export type { SerfUserEvent };

/** why an event that decoded well was not delivered */
export type SerfEventIgnored = 'duplicate' | 'too_old' | 'before_join';

export interface SerfEventDeps {
  /** a new event, once */
  deliver(e: SerfUserEvent): void;
  /** gossip a Serf message on (each key is used once) */
  rebroadcast(key: string, message: Uint8Array): void;
  /** an event was not new, or too old (for the metric) */
  ignored?(why: SerfEventIgnored): void;
  /** the size of the ring; Serf's default unless a test wants a small one */
  bufferSize?: number;
}

export class SerfEvents {
  readonly clock = new LamportClock();
  private readonly ring: Array<{ ltime: bigint; seen: Array<{ name: string; payload: Uint8Array }> } | undefined>;
  /** events before this time are not delivered: Serf's eventMinTime, moved by a join */
  private minTime = 0n;
  private sentKeys = 0;

  constructor(private readonly deps: SerfEventDeps) {
    this.ring = new Array(deps.bufferSize ?? EVENT_BUFFER);
    // As Serf: the clock starts at 1, so the first event is sent at LTime 1.
    this.clock.increment();
  }

  /**
   * A memberlist user message of Serf's user-event type; returns a drop reason or
   * undefined. `beforeJoin`: it came from the peer we are joining through (an rxswim
   * node's push-pull carries recent Serf events): remembered as seen, not delivered.
   */
  receive(bytes: Uint8Array, beforeJoin = false): DecodeErrorReason | undefined {
    const d = decodeSerfMessage(bytes);
    if (!d.ok) return d.reason;
    if (d.message.type !== 'userEvent') return 'unknown_type';
    // Serf passes on the very bytes it received, and so do we.
    if (this.handle(d.message, beforeJoin)) this.deps.rebroadcast(this.key(), bytes.slice());
    return undefined;
  }

  /**
   * Serf's push-pull state. `joining`: we are joining through this peer, and, as a
   * Serf agent does unless told to replay, events from before our join are not ours.
   */
  receiveState(bytes: Uint8Array, joining: boolean): DecodeErrorReason | undefined {
    const d = decodeSerfMessage(bytes);
    if (!d.ok) return d.reason;
    if (d.message.type !== 'pushPull') return 'unknown_type';
    this.mergeState(d.message, joining);
    return undefined;
  }

  /**
   * Serf's UserEvent: the event at the current time, after which the clock moves on;
   * delivered here too, as Serf delivers its own events. Returns its event time.
   */
  send(name: string, payload: Uint8Array, coalesce = false): bigint {
    const size = Buffer.byteLength(name) + payload.length;
    if (size > USER_EVENT_SIZE_LIMIT) {
      throw new RangeError(`serfEvent(): name and payload are ${size} bytes, over Serf's limit of ${USER_EVENT_SIZE_LIMIT} (UserEventSizeLimit)`);
    }
    const m: SerfUserEventMessage = { type: 'userEvent', ltime: this.clock.time(), name, payload: payload.slice(), cc: coalesce };
    this.clock.increment();
    this.handle(m);
    this.deps.rebroadcast(this.key(), encodeSerfUserEvent(m));
    return m.ltime;
  }

  /** Serf's handleUserEvent; true when the event was new (delivered, to be passed on) */
  handle(m: Omit<SerfUserEventMessage, 'type'>, beforeJoin = false): boolean {
    this.clock.witness(m.ltime);
    if (m.ltime < this.minTime) return this.ignore('before_join');
    const size = BigInt(this.ring.length);
    const now = this.clock.time();
    if (now > size && m.ltime < now - size) return this.ignore('too_old');
    const idx = Number(m.ltime % size);
    let slot = this.ring[idx];
    if (slot && slot.ltime === m.ltime) {
      if (slot.seen.some((e) => e.name === m.name && bytesEqual(e.payload, m.payload))) return this.ignore('duplicate');
    } else {
      slot = { ltime: m.ltime, seen: [] };
      this.ring[idx] = slot;
    }
    slot.seen.push({ name: m.name, payload: m.payload });
    if (beforeJoin) return this.ignore('before_join');
    this.deps.deliver({ name: m.name, payload: m.payload.slice(), ltime: m.ltime, coalesce: m.cc });
    return true;
  }

  /** the event half of Serf's LocalState: the event clock and the ring's slots that hold events */
  state(): { eventLTime: bigint; events: SerfEventSlot[] } {
    const events: SerfEventSlot[] = [];
    for (const slot of this.ring) if (slot && slot.seen.length > 0) events.push({ ltime: slot.ltime, events: slot.seen.map((e) => ({ name: e.name, payload: e.payload })) });
    return { eventLTime: this.clock.time(), events };
  }

  /** Serf's MergeRemoteState, for events: witness the clock, then every buffered event */
  private mergeState(s: SerfPushPull, joining: boolean): void {
    // No event has been sent at EventLTime yet: witness the time before it.
    if (s.eventLTime > 0n) this.clock.witness(s.eventLTime - 1n);
    if (joining && s.eventLTime > this.minTime) this.minTime = s.eventLTime;
    // Serf does not pass these on (they came by anti-entropy, not gossip), nor do we.
    // Without CC: Serf's state does not carry it.
    for (const slot of s.events) for (const e of slot.events) this.handle({ ltime: slot.ltime, name: e.name, payload: e.payload, cc: false });
  }

  private ignore(why: SerfEventIgnored): false {
    this.deps.ignored?.(why);
    return false;
  }

  private key(): string {
    return `serf-event:${++this.sentKeys}`;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
