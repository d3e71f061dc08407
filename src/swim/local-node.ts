// The local node: our name, address, metadata, versions and incarnation. One owned
// value with one writer (the core); everything else reads it.
import type { Member } from '../api.js';
import { addrToString } from '../membership/address-text.js';
import { decodeTags } from '../membership/tags.js';
import type { Alive, PushNodeState } from '../wire/types.js';
import { WireState } from '../wire/types.js';
import { refutingIncarnation } from './rules.js';

export interface LocalNodeInit {
  name: string;
  meta: Uint8Array;
  vsn: Uint8Array;
  incarnation: number;
}

export class LocalNode {
  readonly name: string;
  readonly vsn: Uint8Array;
  #addr: Uint8Array = new Uint8Array(0);
  #port = 0;
  #meta: Uint8Array;
  #incarnation: number;
  #leaving = false;

  constructor(init: LocalNodeInit) {
    this.name = init.name;
    this.vsn = init.vsn;
    this.#meta = init.meta;
    this.#incarnation = init.incarnation;
  }

  get addr(): Uint8Array {
    return this.#addr;
  }
  get port(): number {
    return this.#port;
  }
  get meta(): Uint8Array {
    return this.#meta;
  }
  get incarnation(): number {
    return this.#incarnation;
  }
  get leaving(): boolean {
    return this.#leaving;
  }

  /** the address we advertise, known once the transport is bound */
  setAddress(addr: Uint8Array, port: number): void {
    this.#addr = addr;
    this.#port = port;
  }

  /** new metadata, announced with a higher incarnation */
  setMeta(meta: Uint8Array): Alive {
    this.#meta = meta;
    return this.bump();
  }

  /** re-announce ourselves one incarnation up */
  bump(): Alive {
    this.#incarnation++;
    return this.alive();
  }

  /** raise our incarnation above an accusation (§11.4) */
  refute(accused: number): Alive {
    this.#incarnation = refutingIncarnation(this.#incarnation, accused);
    return this.alive();
  }

  markLeaving(): void {
    this.#leaving = true;
  }

  /** the alive message that announces us */
  alive(): Alive {
    return { type: 'alive', incarnation: this.#incarnation, node: this.name, addr: this.#addr, port: this.#port, meta: this.#meta, vsn: this.vsn };
  }

  pushState(): PushNodeState {
    return { name: this.name, addr: this.#addr, port: this.#port, meta: this.#meta, incarnation: this.#incarnation, state: WireState.alive, vsn: this.vsn };
  }

  toMember(): Member {
    const tags = decodeTags(this.#meta);
    return {
      name: this.name,
      address: addrToString(this.#addr),
      port: this.#port,
      state: this.#leaving ? 'left' : 'alive',
      incarnation: this.#incarnation,
      meta: this.#meta,
      ...(tags ? { tags } : {}),
      vsn: [...this.vsn],
      stateChangedAt: 0,
    };
  }
}
