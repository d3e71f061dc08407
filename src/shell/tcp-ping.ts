// memberlist's TCP fallback ping (§8.2): while helpers ping a target indirectly, we
// also try a ping over TCP, which gets through where only UDP is lost. Only for
// targets speaking protocol ≥ 3.
import { catchError, map, type Observable, of, race, take, takeUntil, timer } from 'rxjs';
import type { Member } from '../api.js';
import type { ShellContext } from './context.js';
import type { Outbound } from './outbound.js';
import { readOne } from './streams.js';

export function tcpPing(ctx: ShellContext, out: Outbound, target: Member, seqNo: number, deadlineMs: number): Observable<boolean> {
  if (ctx.config.disableTcpPings || ctx.core.protocolMax(target.name) < 3 || !ctx.transport()) return of(false);
  const attempt$ = out.dial({ host: target.address, port: target.port }).pipe(
    ctx.connections.using((conn) => {
      out.writeStream(conn, { type: 'ping', seqNo, node: target.name, ...out.source() });
      return readOne(ctx, conn).pipe(map((m) => m.type === 'ack' && m.seqNo === seqNo));
    }),
    catchError(() => of(false)),
  );
  return race(attempt$, timer(deadlineMs, ctx.scheduler).pipe(map(() => false))).pipe(take(1), takeUntil(ctx.stopped$));
}
