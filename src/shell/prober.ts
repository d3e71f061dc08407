// The SWIM failure detector as an RxJS pipeline (wire spec §9.1). One probe per
// probe interval (stretched by the local health score), targets in randomized
// round-robin order: ping directly; no ack within ProbeTimeout → ask IndirectChecks
// helpers to ping for us (and try a TCP ping); no ack by the end of the interval →
// suspect the target.
import {
  defaultIfEmpty,
  defer,
  filter,
  forkJoin,
  map,
  Observable,
  of,
  race,
  repeat,
  type SchedulerLike,
  Subscription,
  switchMap,
  take,
  tap,
  timer,
} from 'rxjs';
import type { Member } from '../api.js';
import type { Awareness } from '../swim/awareness.js';

export type ProbeOutcome = 'direct' | 'indirect' | 'tcp' | 'failed';

export interface ProbeResult {
  target: Member;
  outcome: ProbeOutcome;
  /** ping → ack round trip, for an acked probe */
  rttMs?: number;
  /** a direct ack's payload (Serf's coordinate), for the ping delegate */
  ackPayload?: Uint8Array | null;
  /** indirect phase only: nacks expected from helpers and received */
  nacksExpected?: number;
  nacksReceived?: number;
}

export interface AckSignal {
  seqNo: number;
  /** scheduler time at arrival */
  at: number;
  /** the ack's Payload, when it had one */
  payload?: Uint8Array | null;
}

export interface ProberDeps {
  scheduler: SchedulerLike;
  /**
   * Clock for RTT, the same one that stamps AckSignal.at. The scheduler's clock has
   * millisecond resolution on real time, too coarse for loopback or LAN round trips.
   */
  now?: () => number;
  probeInterval: number;
  /** how long to wait for the direct ack (read per probe: the adaptive profile moves it) */
  probeTimeout(): number;
  /**
   * From the probe's start, when an unanswered probe fails, before health scaling;
   * undefined: at the end of the probe interval, as memberlist does.
   */
  probeDeadline?(): number;
  awareness: Awareness;
  /** delay before the first probe, so nodes started together don't probe in lockstep */
  initialDelayMs: number;
  nextTarget(): Member | undefined;
  /** helpers for an indirect probe: up to IndirectChecks random alive members other than target */
  helpers(target: Member): Member[];
  nextSeqNo(): number;
  acks$: Observable<AckSignal>;
  nacks$: Observable<{ seqNo: number }>;
  sendPing(target: Member, seqNo: number): void;
  /** returns whether a nack was requested (helper's PMax ≥ 4) */
  sendIndirectPing(helper: Member, target: Member, seqNo: number): boolean;
  /** TCP fallback ping; emits once whether it was acked within deadlineMs; empty when not applicable */
  tcpPing(target: Member, seqNo: number, deadlineMs: number): Observable<boolean>;
  /** the probe failed: the owner suspects the target */
  onFailed(target: Member): void;
}

/** One probe of one target; emits its result. */
function probeTarget(deps: ProberDeps, target: Member): Observable<ProbeResult> {
  return defer(() => {
    const { scheduler } = deps;
    const seqNo = deps.nextSeqNo();
    const start = scheduler.now();
    const rttStart = (deps.now ?? (() => scheduler.now()))();
    const interval = deps.awareness.scale(deps.probeInterval);
    const window = deps.probeDeadline ? Math.min(interval, deps.awareness.scale(deps.probeDeadline())) : interval;
    const ack$ = deps.acks$.pipe(
      filter((a) => a.seqNo === seqNo),
      take(1),
    );
    // Listen before sending: a transport may deliver the ack synchronously, inside
    // sendPing (the in-memory network can), so the ack subscription and the timeout
    // must both exist before the ping leaves.
    const direct$ = new Observable<ProbeResult | null>((sub) => {
      sub.add(
        race(
          ack$.pipe(map((a): ProbeResult => ({ target, outcome: 'direct', rttMs: a.at - rttStart, ...(a.payload ? { ackPayload: a.payload } : {}) }))),
          timer(deps.probeTimeout(), scheduler).pipe(map(() => null)),
        ).subscribe({
          next: (r) => sub.next(r),
          error: (e: unknown) => sub.error(e),
          complete: () => sub.complete(),
        }),
      );
      if (!sub.closed) deps.sendPing(target, seqNo);
    });
    // The ack listener above is gone once the direct phase ends, so the indirect phase
    // listens for any ack with the same seqNo: a late direct ack or a relayed one. It
    // too listens (for acks and nacks) before the indirect pings go out, then starts
    // the deadline and the TCP fallback, in memberlist's order.
    const indirect$ = new Observable<ProbeResult>((sub) => {
      let nacksExpected = 0;
      let nacksReceived = 0;
      const remaining = Math.max(0, start + window - scheduler.now());
      // Everything this phase listens to; torn down with the subscriber, or as soon as
      // the result is in.
      const done = new Subscription();
      sub.add(done);
      const finish = (r: ProbeResult): void => {
        sub.next(r);
        sub.complete();
        done.unsubscribe();
      };
      done.add(
        deps.nacks$.pipe(filter((n) => n.seqNo === seqNo)).subscribe({
          next: () => nacksReceived++,
          error: (e: unknown) => sub.error(e),
        }),
      );
      done.add(
        ack$.subscribe({
          next: (a) => finish({ target, outcome: 'indirect', rttMs: a.at - rttStart, nacksExpected, nacksReceived }),
          error: (e: unknown) => sub.error(e),
        }),
      );
      for (const h of deps.helpers(target)) {
        if (done.closed) break;
        if (deps.sendIndirectPing(h, target, seqNo)) nacksExpected++;
      }
      if (done.closed) return;
      done.add(
        forkJoin([
          timer(remaining, scheduler),
          defer(() => deps.tcpPing(target, seqNo, remaining)).pipe(take(1), defaultIfEmpty(false)),
        ]).subscribe({
          next: ([, tcpOk]) =>
            finish(tcpOk ? { target, outcome: 'tcp', nacksExpected, nacksReceived } : { target, outcome: 'failed', nacksExpected, nacksReceived }),
          error: (e: unknown) => sub.error(e),
        }),
      );
    });
    return direct$.pipe(
      take(1),
      switchMap((r) => (r ? of(r) : indirect$)),
      tap((r) => {
        // Lifeguard: any success improves our health; a failure costs us the nacks our
        // helpers did not send (they were up, so the fault may be ours), or 1 if none
        // were expected.
        if (r.outcome !== 'failed') deps.awareness.apply(-1);
        else if ((r.nacksExpected ?? 0) > 0) deps.awareness.apply(r.nacksExpected! - (r.nacksReceived ?? 0));
        else deps.awareness.apply(1);
        if (r.outcome === 'failed') deps.onFailed(target);
      }),
    );
  });
}

/** The probe loop: a probe starts every (scaled) probe interval while subscribed. */
export function prober$(deps: ProberDeps): Observable<ProbeResult> {
  const { scheduler } = deps;
  let lastStart = 0;
  const tick$ = defer(() => {
    lastStart = scheduler.now();
    const target = deps.nextTarget();
    return target ? probeTarget(deps, target) : of();
  }).pipe(
    repeat({
      delay: () => timer(Math.max(0, lastStart + deps.awareness.scale(deps.probeInterval) - scheduler.now()), scheduler),
    }),
  );
  return timer(deps.initialDelayMs, scheduler).pipe(switchMap(() => tick$));
}
