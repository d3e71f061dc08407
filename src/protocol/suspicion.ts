// Lifeguard's dynamic suspicion timeout, as memberlist computes it (wire spec §9.5).
// Pure functions so the member machine and its tests share one formula.

export interface SuspicionBounds {
  minMs: number;
  maxMs: number;
  /** confirmations that bring the timeout down to min */
  k: number;
}

/** memberlist suspicionTimeout(): SuspicionMult × max(1, log10(max(1, n))) × interval */
export function suspicionMinMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  // Go multiplies by 1000 and truncates to keep precision in an integer Duration.
  return Math.floor((suspicionMult * Math.trunc(nodeScale * 1000) * probeIntervalMs) / 1000);
}

export function suspicionBounds(
  cfg: { suspicionMult: number; suspicionMaxTimeoutMult: number; probeInterval: number },
  n: number,
): SuspicionBounds {
  const minMs = suspicionMinMs(cfg.suspicionMult, n, cfg.probeInterval);
  const maxMs = cfg.suspicionMaxTimeoutMult * minMs;
  let k = cfg.suspicionMult - 2;
  // With too few nodes to ever collect k independent confirmations, don't wait for them.
  if (n - 2 < k) k = 0;
  return { minMs, maxMs, k };
}

/** Total suspicion timeout after `confirmations` independent confirmations, from suspicion start. */
export function suspicionTimeoutMs(b: SuspicionBounds, confirmations: number): number {
  if (b.k < 1) return b.minMs;
  const frac = Math.log(confirmations + 1) / Math.log(b.k + 1);
  const raw = Math.floor(b.maxMs - frac * (b.maxMs - b.minMs));
  return Math.max(b.minMs, raw);
}
