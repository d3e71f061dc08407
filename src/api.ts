// Public types of a running node. Kept apart from the implementation so that the
// CLI, the HTTP API and applications depend on the contract, not on internals.
import type { Observable } from 'rxjs';
import type { ProtocolConfig } from './config.js';
import type { NodeMetrics } from './metrics/metrics.js';
import type { SendOptions, UserMessage } from './messaging/user-messages.js';
import type { RawMessage, RawSendOptions } from './messaging/raw-messages.js';
import type { Keyring } from './security/keyring.js';
import type { Address } from './transport/transport.js';
import type { Coordinate } from './serf/coordinate.js';

export type { SendOptions, UserMessage };
export type { RawMessage, RawSendOptions };

/** Structured logger; pino's Logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/**
 * One member as it is now. Remote members are frozen and shared: every read (members(),
 * member(), members$, events) returns the same object until that member changes, then a
 * new one; compare by identity to see whether a member changed since you last looked.
 */
export interface Member {
  name: string;
  /** textual IP address the member advertises */
  address: string;
  port: number;
  state: MemberState;
  incarnation: number;
  /** opaque metadata (Serf puts its tags here), empty when none */
  meta: Uint8Array;
  /** the metadata decoded as Serf tags; absent when it is not in Serf's tag encoding */
  tags?: Readonly<Record<string, string>>;
  /** memberlist protocol/delegate versions: [PMin, PMax, PCur, DMin, DMax, DCur] */
  vsn: readonly number[];
  /** scheduler time (ms) of the last state change */
  stateChangedAt: number;
}

/**
 * `reaped`: the member is no longer listed (Serf's EventMemberReap): pruned by a
 * force-leave, or dead/left past ReconnectTimeout/TombstoneTimeout. Its `member` is
 * the last state it was listed in.
 */
export type MemberEventType = 'joined' | 'suspected' | 'recovered' | 'failed' | 'left' | 'updated' | 'reaped';

export interface MemberEvent {
  type: MemberEventType;
  member: Member;
  /** scheduler time (ms) when the node observed it */
  at: number;
}

/** one of Serf's user events, as serfEvents$ delivers it */
export interface SerfUserEvent {
  name: string;
  payload: Uint8Array;
  /** the event clock (Lamport) time it was sent at */
  ltime: bigint;
  /** whether the sender let Serf's handlers coalesce it (CC); rxswim delivers every event */
  coalesce: boolean;
}

/**
 * One of Serf's queries addressed to us (it passed its node and tag filters), as
 * serfQueries$ delivers it; our own queries included.
 */
export interface SerfQuery {
  readonly name: string;
  readonly payload: Uint8Array;
  /** the query clock (Lamport) time it was sent at */
  readonly ltime: bigint;
  /** the querier's random ID for it */
  readonly id: number;
  /** the querier's node name */
  readonly from: string;
  /** node clock ms: the querier stops listening then */
  readonly deadline: number;
  /**
   * Serf's Query.Respond: the answer, straight to the querier's address (and through
   * its relay factor of other members). At most once: StateError a second time or
   * after the deadline; RangeError when the encoded response is over Serf's 1024-byte
   * QueryResponseSizeLimit.
   */
  respond(payload: Uint8Array | string): Promise<void>;
}

/** what a query of ours collects: each member's ack and response, once each */
export type SerfQueryReply = { type: 'ack'; from: string } | { type: 'response'; from: string; payload: Uint8Array };

export interface SerfQueryOptions {
  /** how long to collect replies; Serf's default: gossipInterval × 16 × ceil(log10(N+1)) */
  timeoutMs?: number;
  /** only these members answer */
  nodes?: string[];
  /** only members whose tag matches the regular expression (unanchored, as Go's regexp.MatchString) answer */
  tags?: Record<string, string>;
  /** ask every member that passes the filters for an ack; default true */
  ack?: boolean;
  /** every answer also through this many other members (0-255), for lossy paths */
  relayFactor?: number;
}

export interface SwimNode {
  readonly name: string;
  /** the protocol settings in force: the profile with overrides applied */
  readonly config: ProtocolConfig;
  /** this node's Prometheus metrics (metrics.registry to scrape) */
  readonly metrics: NodeMetrics;
  /** the encryption keyring; empty means no encryption */
  readonly keyring: Keyring;
  /** the local member as others see it (incarnation rises on refutation) */
  readonly localMember: Member;
  /**
   * The current list (this node first) on subscribe, then the full, up-to-date list
   * after each burst of changes: changes that happen together (one push-pull, one
   * packet of gossip, the same timer tick) give one list, emitted as soon as the burst is
   * over (the node scheduler's next turn). Completes on stop. For every single change,
   * subscribe to events$.
   */
  readonly members$: Observable<readonly Member[]>;
  /** membership changes of remote members; completes on stop */
  readonly events$: Observable<MemberEvent>;
  /** user messages addressed to us or broadcast to all; completes on stop */
  readonly messages$: Observable<UserMessage>;
  /**
   * User messages that are not in rxswim's envelope, as a plain memberlist
   * application's Delegate.NotifyMsg gets them (Serf's types 0-9 excluded while
   * `serfIntents` is on); completes on stop
   */
  readonly rawMessages$: Observable<RawMessage>;
  /**
   * Serf's user events (`serf event NAME PAYLOAD`, or serfEvent() on any rxswim node),
   * each delivered once, our own included; completes on stop. Apart from messages$:
   * they have no sender and are ordered by Serf's event clock.
   */
  readonly serfEvents$: Observable<SerfUserEvent>;
  /** Lifeguard local health score (0 = healthy) */
  readonly healthScore: number;
  /** messages waiting in the gossip queue */
  readonly queueDepth: number;
  /** the address actually bound (after start) */
  readonly address: Address | undefined;
  /** synchronous snapshot of the member list (local node included) */
  members(): Member[];
  /** one member by name (this node included), or undefined */
  member(name: string): Member | undefined;
  /** how many members are in each state, this node included */
  countByState(): Record<MemberState, number>;
  /** bind sockets and start probing and gossip */
  start(): Promise<void>;
  /**
   * Push-pull with every seed (`host:port`, or `name/host:port`); resolves with the
   * number of seeds that answered, rejects with a JoinError naming each seed that
   * failed when none answered. When more than one answered, each gets a second
   * push-pull with the merged view right after (in the background), so seeds that had
   * not met learn of each other.
   */
  join(seeds: readonly string[]): Promise<number>;
  /** gossip our leave, wait (bounded) for it to spread, then stop */
  leave(timeoutMs?: number): Promise<void>;
  /** stop everything now: sockets, timers, actors, subscriptions */
  stop(): Promise<void>;
  /**
   * Gossip a message to every member, piggybacked on protocol traffic and re-gossiped
   * by each receiver (delivered once each). Returns false when the queue was full and
   * the oldest, most-sent message had to be dropped for it.
   */
  broadcast(payload: Uint8Array | string, topic?: string): boolean;
  /** send to one member: best effort by UDP, or reliably by TCP */
  send(member: string, payload: Uint8Array | string, opts?: SendOptions): Promise<void>;
  /**
   * memberlist's GetBroadcasts: the bytes as they are, piggybacked on gossip at most
   * the retransmit limit, by us alone (receivers do not pass them on). False when the
   * queue was full and an older message had to be dropped for it.
   */
  broadcastRaw(payload: Uint8Array | string): boolean;
  /** memberlist's SendBestEffort (one datagram) or, `reliable`, SendReliable (a TCP userMsg stream): the bytes as they are */
  sendRaw(member: string, payload: Uint8Array | string, opts?: RawSendOptions): Promise<void>;
  /** messages and publishing on one topic */
  topic(name: string): { messages$: Observable<UserMessage>; publish(payload: Uint8Array | string): boolean };
  /**
   * Serf's UserEvent: gossip an event to every member, Serf agents included, at the
   * next event time. Name plus payload at most 512 bytes (RangeError otherwise).
   * `coalesce`: Serf's handlers may see only the latest of a burst with this name.
   * Returns the event's Lamport time.
   */
  serfEvent(name: string, payload?: Uint8Array | string, opts?: { coalesce?: boolean }): bigint;
  /**
   * Serf's force-leave (`serf force-leave NODE`, RemoveFailedNode): gossip a leave
   * intent for a member at our Serf clock and apply it here. A failed member becomes
   * `left` (event `left`); with `prune` it is then removed from the list (event
   * `reaped`). A live member is only marked leaving, and refutes with a join intent.
   * Returns the intent's Lamport time. Throws ForceLeaveError for our own name or a
   * name we do not list, StateError when not running or with `serfIntents: false`.
   */
  forceLeave(name: string, opts?: { prune?: boolean }): bigint;
  /**
   * Serf's queries addressed to us, user queries only (Serf's internal `_serf_*` ones
   * are answered by the node itself), our own included; acked already when the
   * querier asked. Completes on stop.
   */
  readonly serfQueries$: Observable<SerfQuery>;
  /**
   * Serf's Query: gossip a query to every member, Serf agents included, at the query
   * clock's time; it is handled here too. The replies (acks and responses, each
   * member once) until the timeout, then completes; replayed to late subscribers.
   * RangeError when the encoded query is over Serf's 1024-byte QuerySizeLimit or an
   * option is out of range; StateError with `serfIntents: false`.
   */
  serfQuery(name: string, payload?: Uint8Array | string, opts?: SerfQueryOptions): Observable<SerfQueryReply>;
  /** replace our metadata (at most 512 bytes) and announce it with a higher incarnation */
  setMeta(meta: Uint8Array): void;
  /** replace our tags (Serf's encoding) */
  setTags(tags: Record<string, string>): void;
  /** our Serf network coordinate; undefined with `coordinates: false` */
  readonly coordinate: Coordinate | undefined;
  /** the last coordinate a member sent in an ack (ours for our name), if it is still a member */
  coordinateOf(name: string): Coordinate | undefined;
  /** every member's known coordinate, ours first */
  coordinates(): Array<{ name: string; coordinate: Coordinate }>;
}
