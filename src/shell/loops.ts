// The protocol's periodic work, wired to the core: the prober (with the buddy system,
// indirect pings and the TCP fallback), gossip, periodic push-pull and Serf's
// reconnect. One subscription holds them all; unsubscribing stops every timer.
import { catchError, EMPTY, type Observable, Subscription } from 'rxjs';
import { addrFromString } from '../membership/address.js';
import { encodeMessage } from '../wire/messages.js';
import type { ShellContext } from './context.js';
import { gossip$ } from './gossip.js';
import type { Outbound } from './outbound.js';
import { prober$ } from './prober.js';
import type { PushPullSync } from './push-pull.js';
import { reconnect$ } from './reconnect.js';
import { tcpPing } from './tcp-ping.js';

/** suspects reminded per probe tick under `adaptive` */
const REMIND_SUSPECTS = 3;

export function startLoops(ctx: ShellContext, out: Outbound, sync: PushPullSync, nacks$: Observable<{ seqNo: number }>, random: () => number): Subscription {
  const { core, config: cfg, metrics, log, name } = ctx;
  const subs = new Subscription();
  /**
   * `adaptive` only (lan keeps memberlist's traffic): each probe tick, up to
   * REMIND_SUSPECTS members we hold as suspect also get a ping carrying our suspicion
   * (the buddy system's message, outside the round robin). A live one answers with its
   * refutation, or with its current alive if it refuted already and we missed it: its
   * shorter suspicion timeout then cannot run out on a member that is merely slow.
   */
  const remindSuspects = () => {
    // randomMembers scans every member: skip it when the counts say no one is suspect.
    if (core.countByState().suspect === 0) return;
    for (const m of core.randomMembers(REMIND_SUSPECTS, ['suspect'])) {
      const ping = encodeMessage({ type: 'ping', seqNo: ctx.nextSeqNo(), node: m.name, ...out.source() });
      out.sendRaw(m, [ping, encodeMessage({ type: 'suspect', incarnation: m.incarnation, node: m.name, from: name })]);
    }
  };
  subs.add(
    prober$({
      scheduler: ctx.scheduler,
      probeInterval: cfg.probeInterval,
      probeTimeout: () => core.probeTimeout(),
      ...(core.adaptive ? { probeDeadline: () => core.adaptive!.probeDeadline() } : {}),
      awareness: core.awareness,
      now: () => ctx.rttClock(),
      initialDelayMs: Math.floor(random() * cfg.probeInterval),
      nextTarget: () => {
        if (core.adaptive) remindSuspects();
        return core.nextProbeTarget();
      },
      helpers: (target) => core.randomMembers(cfg.indirectChecks, ['alive'], new Set([target.name])),
      nextSeqNo: () => ctx.nextSeqNo(),
      acks$: ctx.acks$,
      nacks$,
      sendPing: (target, seqNo) => {
        const ping = encodeMessage({ type: 'ping', seqNo, node: target.name, ...out.source() });
        // Buddy system: tell a suspect member it is suspected so it can refute at once.
        if (target.state !== 'suspect') return out.sendTo(target, [ping]);
        out.sendRaw(target, [ping, encodeMessage({ type: 'suspect', incarnation: target.incarnation, node: target.name, from: name })]);
      },
      sendIndirectPing: (helper, target, seqNo) => {
        // Lifeguard: helpers speaking protocol 4 or later answer a silent target with a nack.
        const nack = core.protocolMax(helper.name) >= 4;
        const req = { type: 'indirectPing' as const, seqNo, target: addrFromString(target.address), port: target.port, node: target.name, nack };
        out.sendTo(helper, [encodeMessage({ ...req, ...out.source() })]);
        metrics.indirectProbesSent.inc();
        return nack;
      },
      tcpPing: (target, seqNo, deadline) => tcpPing(ctx, out, target, seqNo, deadline),
      onFailed: (target) => {
        metrics.suspicionsRaised.inc();
        log.info({ node: name, member: target.name }, 'probe failed; suspecting member');
        core.probeFailed(target.name);
      },
    }).subscribe((r) => {
      metrics.probes.inc({ outcome: r.outcome });
      if (r.outcome === 'indirect') metrics.indirectProbesAnswered.inc();
      if (r.rttMs !== undefined) metrics.probeRtt.observe(r.rttMs / 1000);
      if (r.outcome === 'direct' && r.rttMs !== undefined) core.adaptive?.observeRtt(r.rttMs);
      // memberlist's NotifyPingComplete: direct acks only, the relayed ones carry no payload.
      if (r.outcome === 'direct' && r.rttMs !== undefined && r.ackPayload?.length) ctx.ping?.notifyPingComplete(r.target.name, r.rttMs, r.ackPayload);
    }),
  );
  subs.add(
    gossip$({
      scheduler: ctx.scheduler,
      gossipInterval: cfg.gossipInterval,
      gossipNodes: cfg.gossipNodes,
      pending: () => ctx.packets.hasGossip(),
      queued$: ctx.gossipQueued$,
      targets: (k) => core.gossipTargets(k),
      fill: (target) => ctx.packets.gossip(core.protocolMax(target.name)),
      send: (target, msgs) => out.sendRaw(target, msgs),
    }).subscribe(),
  );
  if (cfg.pushPullInterval > 0) subs.add(sync.periodic$(random).subscribe());
  if (cfg.reconnectInterval > 0) {
    const attempt = (m: { name: string; address: string; port: number }) =>
      sync.exchange({ host: m.address, port: m.port }, true).pipe(
        catchError((e: unknown) => {
          log.debug({ node: name, member: m.name, err: String(e) }, 'reconnect attempt failed');
          return EMPTY;
        }),
      );
    subs.add(
      reconnect$({
        scheduler: ctx.scheduler,
        interval: cfg.reconnectInterval,
        random,
        failed: () => core.failedMembers(),
        aliveCount: () => core.aliveCount,
        attempt,
      }).subscribe((m) => log.info({ node: name, member: m.name }, 'reconnecting to failed member')),
    );
  }
  return subs;
}
