// Every TCP stream a node opens or accepts, in one place, so that stopping the node
// tears all of them down and nothing else has to remember to. A connection is
// tracked while some pipeline uses it and released (and closed) when that pipeline
// finalizes; close() destroys whatever is still open and refuses new ones.
import { defer, finalize, from, Observable, type ObservableInput, type OperatorFunction, switchMap, tap } from 'rxjs';
import type { StreamConn } from '../transport/transport.js';

export interface UseConnectionOptions {
  /**
   * How to close the connection when the pipeline completes: 'destroy' (default) tears
   * down both directions, 'end' half-closes after flushing our writes (an inbound
   * stream whose reply was written). An error or an unsubscribe always destroys.
   */
  onComplete?: 'destroy' | 'end';
}

export class Connections {
  private readonly open = new Set<StreamConn>();
  private closed = false;

  /** connections tracked now */
  get size(): number {
    return this.open.size;
  }

  /** true once close() was called */
  get isClosed(): boolean {
    return this.closed;
  }

  has(conn: StreamConn): boolean {
    return this.open.has(conn);
  }

  /**
   * Start tracking a connection. After close() the connection is destroyed at once
   * and false is returned.
   */
  track(conn: StreamConn): boolean {
    if (this.closed) {
      safeDestroy(conn);
      return false;
    }
    this.open.add(conn);
    return true;
  }

  /** stop tracking without closing it; false when it was not tracked (released already, or destroyed by destroyAll) */
  release(conn: StreamConn): boolean {
    return this.open.delete(conn);
  }

  /**
   * Destroy every tracked connection, each exactly once, and forget them. A destroy
   * that throws does not keep the others open. Tracking goes on afterwards.
   */
  destroyAll(): void {
    // Forget them first: destroying may synchronously error a data$ whose pipeline
    // then finalizes and releases (a no-op now) instead of destroying a second time.
    const all = [...this.open];
    this.open.clear();
    for (const c of all) safeDestroy(c);
  }

  /** destroyAll, and destroy any connection tracked from now on (the node stopped) */
  close(): void {
    this.closed = true;
    this.destroyAll();
  }

  /**
   * Track `conn` for the lifetime of the observable `body(conn)` returns: tracked on
   * subscribe, released and closed on finalize (unless destroyAll got to it first).
   * After close(), the connection is destroyed and the result completes empty.
   */
  use<T>(conn: StreamConn, body: (conn: StreamConn) => ObservableInput<T>, opts: UseConnectionOptions = {}): Observable<T> {
    return defer(() => {
      if (!this.track(conn)) return new Observable<T>((sub) => sub.complete());
      let how: 'destroy' | 'end' = 'destroy';
      return from(body(conn)).pipe(
        tap({ complete: () => (how = opts.onComplete ?? 'destroy') }),
        finalize(() => {
          if (!this.release(conn)) return;
          if (how === 'end') safeEnd(conn);
          else safeDestroy(conn);
        }),
      );
    });
  }

  /**
   * Operator for a dial: each connection emitted upstream is used as in use(); e.g.
   * `transport.dial(to).pipe(connections.using((c) => request(c)))`.
   */
  using<T>(body: (conn: StreamConn) => ObservableInput<T>, opts: UseConnectionOptions = {}): OperatorFunction<StreamConn, T> {
    return switchMap((conn) => this.use(conn, body, opts));
  }
}

function safeDestroy(conn: StreamConn): void {
  try {
    conn.destroy();
  } catch {
    // a connection that cannot even be destroyed is as closed as we can make it
  }
}

function safeEnd(conn: StreamConn): void {
  try {
    conn.end();
  } catch {
    safeDestroy(conn);
  }
}
