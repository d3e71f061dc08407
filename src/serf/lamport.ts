// Serf's Lamport clock (serf/lamport.go): a counter that never goes backwards and
// jumps past any time it witnesses. Serf orders a member's join and leave intents by
// it, and ignores an intent whose time is not above the last it accepted for that
// member, so ours must be kept from what Serf agents send. uint64 on the wire: bigint.
export class LamportClock {
  private t = 0n;

  /** the current time */
  time(): bigint {
    return this.t;
  }

  /** the next time, for a message we are about to send */
  increment(): bigint {
    return ++this.t;
  }

  /** a time seen in a message: from now on we are past it (Serf moves to v + 1) */
  witness(v: bigint): void {
    if (v >= this.t) this.t = v + 1n;
  }
}
