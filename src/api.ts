// Public types of a running node. Kept apart from the implementation so that the
// CLI, the HTTP API and applications depend on the contract, not on internals.
import type { Observable } from 'rxjs';

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export interface Member {
  name: string;
  /** textual IP address the member advertises */
  address: string;
  port: number;
  state: MemberState;
  incarnation: number;
  /** opaque metadata (Serf puts its tags here), empty when none */
  meta: Uint8Array;
  /** memberlist protocol/delegate versions: [PMin, PMax, PCur, DMin, DMax, DCur] */
  vsn: readonly number[];
  /** scheduler time (ms) of the last state change */
  stateChangedAt: number;
}

export type MemberEventType = 'joined' | 'suspected' | 'recovered' | 'failed' | 'left' | 'updated';

export interface MemberEvent {
  type: MemberEventType;
  member: Member;
  /** scheduler time (ms) when the node observed it */
  at: number;
}

export interface SwimNode {
  readonly name: string;
  /** the local member as others see it (incarnation rises on refutation) */
  readonly localMember: Member;
  /** current list on subscribe, then the full list after every change; completes on stop */
  readonly members$: Observable<readonly Member[]>;
  /** membership changes of remote members; completes on stop */
  readonly events$: Observable<MemberEvent>;
  /** synchronous snapshot of the member list (local node included) */
  members(): Member[];
  /** bind sockets and start probing and gossip */
  start(): Promise<void>;
  /**
   * Push-pull with every seed (`host:port`, or `name/host:port`); resolves with the
   * number of seeds that answered, rejects with a JoinError naming each seed that
   * failed when none answered.
   */
  join(seeds: readonly string[]): Promise<number>;
  /** gossip our leave, wait (bounded) for it to spread, then stop */
  leave(timeoutMs?: number): Promise<void>;
  /** stop everything now: sockets, timers, actors, subscriptions */
  stop(): Promise<void>;
}
