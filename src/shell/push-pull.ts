// Push-pull anti-entropy over TCP (wire spec §8.1): the client side (join, periodic
// sync, reconnect), the reply the stream server gives, and memberlist's periodic
// schedule, slower beyond 32 nodes. The merge rules are the core's.
import { catchError, defer, EMPTY, firstValueFrom, from, map, mergeMap, type Observable, of, repeat, switchMap, take, takeUntil, timer, toArray } from 'rxjs';
import { JoinError, StateError } from '../errors.js';
import { formatHostPort, parseHostPort } from '../membership/address.js';
import type { UserMessaging } from '../messaging/user-messages.js';
import { pushPullScale } from '../swim/formulas.js';
import type { Address } from '../transport/transport.js';
import type { PushPull } from '../wire/types.js';
import type { ShellContext } from './context.js';
import type { Outbound } from './outbound.js';
import { readOne } from './streams.js';

/** the peer's protocol versions cannot work with ours (memberlist's verifyProtocol) */
export class IncompatibleError extends Error {
  override readonly name = 'IncompatibleError';
}

export class PushPullSync {
  constructor(
    private readonly ctx: ShellContext,
    private readonly out: Outbound,
    private readonly user: UserMessaging,
  ) {}

  /** what we send: every node we know and the user state */
  local(join: boolean): PushPull {
    return { type: 'pushPull', join, nodes: this.ctx.core.pushState(), userState: this.user.localState(join) };
  }

  /** merge what a peer sent; throws IncompatibleError when the versions rule it out */
  merge(msg: PushPull, peer: string): void {
    const why = this.ctx.core.mergePushPull(msg.nodes);
    if (why) throw new IncompatibleError(`push-pull with ${peer} refused: ${why}`);
    this.user.mergeState(msg.userState, msg.join, peer);
  }

  /** the server's side: reply now, merge after the reply was written */
  answer(msg: PushPull, peer: string): { reply: PushPull; merge: () => void } {
    return { reply: this.local(msg.join), merge: () => this.merge(msg, peer) };
  }

  /** push-pull with one address; completes after merging, errors with a reason */
  exchange(to: Address, join: boolean): Observable<void> {
    const { ctx, out } = this;
    const peer = formatHostPort(to.host, to.port);
    let started = 0;
    return defer(() => {
      if (!ctx.transport()) throw new StateError('not started');
      started = ctx.scheduler.now();
      return out.dial(to);
    }).pipe(
      ctx.connections.using((conn) => {
        out.writeStream(conn, this.local(join));
        return readOne(ctx, conn).pipe(
          take(1),
          map((msg) => {
            if (msg.type === 'err') throw new Error(`remote error: ${msg.error}`);
            if (msg.type !== 'pushPull') throw new Error(`expected a push-pull reply, got ${msg.type}`);
            this.merge(msg, peer);
            ctx.metrics.pushPulls.inc({ result: 'ok' });
            ctx.metrics.pushPullDuration.observe((ctx.scheduler.now() - started) / 1000);
          }),
        );
      }),
      catchError((e: unknown) => {
        ctx.metrics.pushPulls.inc({ result: e instanceof IncompatibleError ? 'incompatible' : 'failed' });
        throw e;
      }),
      takeUntil(ctx.stopped$),
    );
  }

  /**
   * Join: push-pull with every seed (`host:port` or `name/host:port`) at once. Resolves
   * with the addresses that answered; rejects with a JoinError naming each seed when
   * none did.
   */
  async join(seeds: readonly string[]): Promise<Address[]> {
    if (seeds.length === 0) throw new JoinError([]);
    const parsed = seeds.map((seed) => ({ seed, addr: parseHostPort(seed.includes('/') ? seed.slice(seed.indexOf('/') + 1) : seed, 'seeds') }));
    const results = await firstValueFrom(
      from(parsed).pipe(
        mergeMap(({ seed, addr }) =>
          this.exchange(addr, true).pipe(
            map(() => ({ seed, addr, reason: '' })),
            catchError((e: unknown) => of({ seed, addr, reason: (e instanceof Error ? e.message : String(e)) || 'failed' })),
          ),
        ),
        toArray(),
      ),
    );
    const failed = results.filter((r) => r.reason !== '');
    for (const r of failed) this.ctx.log.warn({ node: this.ctx.name, seed: r.seed, reason: r.reason }, 'join: seed failed');
    if (failed.length === results.length) throw new JoinError(failed.map(({ seed, reason }) => ({ seed, reason })));
    return results.filter((r) => r.reason === '').map((r) => r.addr);
  }

  /** memberlist's periodic push-pull with one random alive member, scaled with the cluster */
  periodic$(random: () => number): Observable<void> {
    const { ctx } = this;
    const interval = ctx.config.pushPullInterval;
    const once$ = defer(() => {
      const [peer] = ctx.core.randomMembers(1, ['alive']);
      if (!peer) return EMPTY;
      return this.exchange({ host: peer.address, port: peer.port }, false).pipe(
        catchError((e: unknown) => {
          ctx.log.debug({ node: ctx.name, member: peer.name, err: String(e) }, 'periodic push-pull failed');
          return EMPTY;
        }),
      );
    });
    return timer(Math.floor(random() * interval), ctx.scheduler).pipe(
      switchMap(() => once$.pipe(repeat({ delay: () => timer(pushPullScale(interval, ctx.core.size), ctx.scheduler) }))),
    );
  }
}
