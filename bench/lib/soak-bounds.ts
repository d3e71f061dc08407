// How long the churn soak waits after each action before every settled view must agree
// with the truth: one bound per kind of action, from the profile's timings and the
// formulas the protocol itself uses (src/swim/formulas.ts). bench/README.md ("Churn
// soak") states the same arithmetic in prose.
import type { ProtocolConfig } from '../../src/config.js';
import { detectionBoundMs, pushPullScale, retransmitLimit, suspicionBounds } from '../../src/swim/formulas.js';

export interface SettleBounds {
  /** the member count the formulas were given: the most members the run ever lists */
  n: number;
  /** a broadcast's whole retransmit life: retransmitLimit × gossipInterval */
  gossipMs: number;
  /** one periodic push-pull interval, scaled as memberlist scales it for n */
  pushPullMs: number;
  /** every member holds a crash failed: n probe intervals + the unconfirmed suspicion + the death's gossip */
  detectionMs: number;
  /** the shortest and longest suspicion timeout (Lifeguard min and max) */
  suspicionMinMs: number;
  suspicionMaxMs: number;
  /** for the machine (2 shared cores): two probe intervals and 2 s */
  slackMs: number;
  /** kill -9 → failed everywhere */
  crash: number;
  /** graceful leave → left everywhere: the leave's gossip, or, for a member that missed it, one push-pull */
  leave: number;
  /** a start, a restart (kill -9 then start, same name) or a re-join after a leave → alive everywhere, from the moment it answers */
  join: number;
  /** SIGCONT after a pause shorter than the suspicion timeout → alive everywhere (its refutation's gossip, else a push-pull) */
  resume: number;
  /** SIGCONT after a pause longer than the suspicion timeout: it first learns it was declared dead (at worst from its own push-pull), then its refutation spreads */
  resumeLong: number;
  /** an observer that was down (restarted, joined, resumed) is checked again this long after it came back: it may have to detect on its own what it missed */
  observerSettle: number;
  observerSettleShortPause: number;
  /** SIGSTOP durations: half the shortest suspicion timeout, and the longest suspicion timeout plus a quarter */
  shortPauseMs: number;
  longPauseMs: number;
}

export function settleBounds(cfg: ProtocolConfig, n: number): SettleBounds {
  const gossipMs = retransmitLimit(cfg.retransmitMult, n) * cfg.gossipInterval;
  const pushPullMs = pushPullScale(cfg.pushPullInterval, n);
  const detectionMs = detectionBoundMs(cfg, n);
  const s = suspicionBounds(cfg, n);
  const slackMs = 2 * cfg.probeInterval + 2000;
  const crash = detectionMs + slackMs;
  const leave = gossipMs + pushPullMs + slackMs;
  const join = gossipMs + pushPullMs + slackMs;
  const resume = gossipMs + pushPullMs + slackMs;
  const resumeLong = 2 * pushPullMs + gossipMs + slackMs;
  return {
    n,
    gossipMs,
    pushPullMs,
    detectionMs,
    suspicionMinMs: s.minMs,
    suspicionMaxMs: s.maxMs,
    slackMs,
    crash,
    leave,
    join,
    resume,
    resumeLong,
    observerSettle: Math.max(crash, leave, join, resumeLong),
    observerSettleShortPause: resume,
    shortPauseMs: Math.floor(s.minMs / 2),
    longPauseMs: Math.ceil(s.maxMs * 1.25),
  };
}
