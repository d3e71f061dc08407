// Serf's coalescing loop (serf/coalesce.go), shared by its user-event and member-event
// coalescers: an event the coalescer holds starts (or extends) a burst, which is
// flushed once it has been quiet for `quiescentMs`, and at most `periodMs` after its
// first held event; an event it does not hold passes at once. What is held when the
// source ends is flushed, as Serf does on shutdown.
import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

export interface Coalescer<T> {
  /** take an event into the burst; false: not held, pass it on now */
  hold(e: T): boolean;
  /** hand out what the burst holds, and start afresh */
  flush(emit: (e: T) => void): void;
}

export interface CoalesceWindow {
  periodMs: number;
  quiescentMs: number;
}

/** one coalescer per subscription, so subscribers never share a burst */
export function coalesceWith<T>(make: () => Coalescer<T>, { periodMs, quiescentMs }: CoalesceWindow, scheduler: SchedulerLike): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((sub) => {
      const c = make();
      let quantum: Subscription | undefined;
      let quiet: Subscription | undefined;
      const flush = () => {
        quantum?.unsubscribe();
        quiet?.unsubscribe();
        quantum = quiet = undefined;
        c.flush((e) => sub.next(e));
      };
      const inner = source.subscribe({
        next: (e) => {
          if (!c.hold(e)) return sub.next(e);
          quantum ??= scheduler.schedule(flush, periodMs);
          quiet?.unsubscribe();
          quiet = scheduler.schedule(flush, quiescentMs);
        },
        error: (err) => {
          flush();
          sub.error(err);
        },
        complete: () => {
          flush();
          sub.complete();
        },
      });
      return () => {
        inner.unsubscribe();
        quantum?.unsubscribe();
        quiet?.unsubscribe();
      };
    });
}
