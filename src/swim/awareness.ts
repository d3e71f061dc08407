// Lifeguard's local health score (wire spec §9.4): a node that misses probes or has
// to refute suspicions of itself is probably the slow one, so it probes less eagerly
// instead of accusing healthy peers.

import { awarenessScale } from './formulas.js';

export class Awareness {
  private value = 0;

  constructor(private readonly max: number) {}

  get score(): number {
    return this.value;
  }

  /** add delta, saturating at 0 and max−1 */
  apply(delta: number): void {
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
  }

  /** stretch a duration by (score + 1) */
  scale(ms: number): number {
    return awarenessScale(ms, this.value);
  }
}
