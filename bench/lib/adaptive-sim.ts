// The adaptive profile against memberlist's lan timing, in the simulator (virtual time,
// the real protocol code on the in-memory network): how long until every member holds a
// crashed member as failed, and how many members are declared failed that were not,
// under 10 % random loss, a node that stalls for most of each second (its event loop
// blocked 800 ms of every 1000, inbound packets waiting in its socket, as in Lifeguard's
// slow-member experiments), and both at once. Shared by bench/adaptive-sim.ts and
// test/sim/adaptive.test.ts.
import type { Profile } from '../../src/config.js';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

/**
 * Virtual time runs on microtasks only; a macrotask turn now and then lets timers and
 * signal handlers run (the bench's hard deadline, SIGINT), which a long run would starve.
 */
const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

export interface CrashRun {
  profile: Profile;
  n: number;
  seed: number;
  /** crash → every member lists the victim dead, ms of protocol time */
  detectionMs: number | null;
}

/** boot n nodes, settle (the adaptive estimates fill in), crash one, time full detection */
export async function crashRun(profile: Profile, n: number, seed: number, settleMs = 30_000): Promise<CrashRun> {
  const c = new VirtualCluster({ size: n, seed, profile });
  try {
    await c.boot();
    await c.advance(settleMs);
    const victim = `node-${n - 1}`;
    const t0 = c.now;
    await c.crash(victim);
    const seen = () => [...c.nodes.values()].every((x) => x.member(victim)?.state === 'dead');
    let t: number | undefined;
    for (let waited = 0; waited < 180_000 && t === undefined; waited += 1000) {
      t = await c.until(seen, 1000, 10);
      await yieldTurn();
    }
    return { profile, n, seed, detectionMs: t === undefined ? null : t - t0 };
  } finally {
    await c.stopAll();
  }
}

export interface FaultRun {
  profile: Profile;
  n: number;
  seed: number;
  loss: number;
  /** ms of each second node-0's event loop is blocked; 0: no slow node */
  stallMs: number;
  durationMs: number;
  /** a healthy member (not node-0) declared failed, per observer other than node-0 */
  healthyFailed: number;
  healthySuspected: number;
  /** the stalled node itself declared failed, per observer */
  slowFailed: number;
  slowSuspected: number;
}

export async function faultRun(profile: Profile, n: number, seed: number, loss: number, stallMs: number, durationMs = 120_000): Promise<FaultRun> {
  const c = new VirtualCluster({ size: n, seed, profile });
  try {
    await c.boot();
    await c.advance(10_000);
    c.network.setLoss(loss);
    const t0 = c.now;
    for (let t = 0; t < durationMs; t += 1000) {
      if (stallMs > 0) c.block(0, stallMs);
      await c.advance(1000);
      await yieldTurn();
    }
    const ev = c.events.filter((e) => e.at > t0);
    const healthy = ev.filter((e) => e.member.name !== 'node-0' && e.observer !== 'node-0');
    const slow = ev.filter((e) => e.member.name === 'node-0');
    return {
      profile, n, seed, loss, stallMs, durationMs,
      healthyFailed: healthy.filter((e) => e.type === 'failed').length,
      healthySuspected: healthy.filter((e) => e.type === 'suspected').length,
      slowFailed: slow.filter((e) => e.type === 'failed').length,
      slowSuspected: slow.filter((e) => e.type === 'suspected').length,
    };
  } finally {
    await c.stopAll();
  }
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
