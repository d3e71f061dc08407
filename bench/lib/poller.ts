// Polls many agents' member lists, each on its own cadence, with a bound on the requests
// in flight. A round-based poll (everyone at once, then wait for the slowest) lets one
// slow agent stretch every observer's resolution, and 64 requests fired together on 2
// cores queue behind each other anyway; here each observer is asked again `everyMs` after
// its previous request started, and at most `concurrency` requests are out at a time.
// What the polling really achieved is measured, not assumed: the gaps between one
// observer's consecutive answers, and the bench process's own CPU while it polled.
import { percentile, round } from './stats.js';

export interface PollStats {
  /** answers received (no answer counts as an answer too: `view` undefined) */
  answers: number;
  /** ms between one observer's consecutive answers, over all observers: median, p99, max */
  gapMsMedian: number | null;
  gapMsP99: number | null;
  gapMsMax: number | null;
  /** the bench process's CPU (user + system) over the polling window, % of one core */
  pollerCpuPct: number | null;
  windowMs: number;
}

export class Poller<A, V> {
  private inFlight = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly ask: (a: A) => Promise<V | undefined>,
    private readonly everyMs: number,
    private readonly concurrency: number,
  ) {}

  private async slot<T>(f: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.concurrency) await new Promise<void>((r) => this.queue.push(r));
    this.inFlight++;
    try {
      return await f();
    } finally {
      this.inFlight--;
      this.queue.shift()?.();
    }
  }

  /**
   * Polls every observer until `done()` after an answer, or `timeoutMs` from `t0`.
   * `observe` gets each answer with its arrival time in ms since `t0`.
   * Returns whether `done` was reached, and what the polling achieved.
   */
  async run(
    observers: readonly A[],
    t0: number,
    observe: (a: A, v: V | undefined, atMs: number) => void,
    done: () => boolean,
    timeoutMs: number,
  ): Promise<{ ok: boolean; stats: PollStats }> {
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    let finished = false;
    let ok = false;
    let answers = 0;
    const gaps: number[] = [];
    const loop = async (a: A): Promise<void> => {
      let last: number | null = null;
      while (!finished) {
        const started = performance.now();
        const v = await this.slot(() => this.ask(a));
        const now = performance.now();
        if (finished) return;
        answers++;
        if (last !== null) gaps.push(now - last);
        last = now;
        observe(a, v, now - t0);
        if (done()) {
          ok = true;
          finished = true;
          return;
        }
        if (now - t0 > timeoutMs) {
          finished = true;
          return;
        }
        const wait = this.everyMs - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    await Promise.all(observers.map(loop));
    const windowMs = performance.now() - w0;
    const cpu = process.cpuUsage(cpu0);
    return {
      ok,
      stats: {
        answers,
        gapMsMedian: gaps.length ? round(percentile(gaps, 50), 1) : null,
        gapMsP99: gaps.length ? round(percentile(gaps, 99), 1) : null,
        gapMsMax: gaps.length ? round(Math.max(...gaps), 1) : null,
        pollerCpuPct: windowMs > 0 ? round(((cpu.user + cpu.system) / 1000 / windowMs) * 100, 1) : null,
        windowMs: Math.round(windowMs),
      },
    };
  }
}
