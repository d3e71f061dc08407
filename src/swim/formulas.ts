// The protocol's arithmetic, once: suspicion bounds and Lifeguard's shrinking timeout,
// the retransmit limit, push-pull scaling, awareness scaling and the worst-case
// detection bound. Pure functions with memberlist's names; golden-tested against the
// values memberlist's own tests use (util_test.go, suspicion_test.go, awareness_test.go).
// The machine, the core, the simulator, the tests, the CLI and the docs all call these.

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

export interface SuspicionSettings {
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  probeInterval: number;
}

export function suspicionBounds(cfg: SuspicionSettings, n: number): SuspicionBounds {
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

/** memberlist retransmitLimit(): RetransmitMult × ceil(log10(n + 1)) */
export function retransmitLimit(retransmitMult: number, numNodes: number): number {
  return retransmitMult * Math.ceil(Math.log10(numNodes + 1));
}

/** memberlist pushPullScale(): the interval as is up to 32 nodes, +1× per doubling beyond */
export function pushPullScale(intervalMs: number, numNodes: number): number {
  const threshold = 32;
  if (numNodes <= threshold) return intervalMs;
  const multiplier = Math.ceil(Math.log2(numNodes) - Math.log2(threshold)) + 1;
  return intervalMs * multiplier;
}

/** Lifeguard's awareness ScaleTimeout(): stretch a duration by (health score + 1) */
export function awarenessScale(ms: number, score: number): number {
  return ms * (score + 1);
}

export interface DetectionSettings extends SuspicionSettings {
  retransmitMult: number;
  gossipInterval: number;
}

/**
 * The longest it can take, with every node healthy, until every member holds a crashed
 * member as failed: the crashed node may be probed last in a full round-robin pass
 * (n probe intervals), then the suspicion runs its full, unconfirmed course (max, or
 * min when too few members can confirm, k = 0), then the
 * death is gossiped out for its retransmit limit.
 */
export function detectionBoundMs(cfg: DetectionSettings, n: number): number {
  const longestSuspicion = suspicionTimeoutMs(suspicionBounds(cfg, n), 0);
  return n * cfg.probeInterval + longestSuspicion + retransmitLimit(cfg.retransmitMult, n) * cfg.gossipInterval;
}
