// The processes behind `rxswim agent --event-handler`: each event runs every handler
// that takes it, one script at a time and in the order given, as Serf's agent does,
// so that a script never races an older event's script. Unlike Serf's, the queue in
// front is bounded (when a script is slow and events keep coming, the oldest waiting
// event is dropped and counted) and a run is bounded in time: a script still running
// after the timeout is killed with its process group (each script is started as the
// leader of a group of its own, so what it started in the background goes too).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../api.js';
import type { EventHandlerMetrics, HandlerRunResult } from '../metrics/event-handler-metrics.js';
import { handlerEnv, handlerStdin, handlerTakes, serfEventName, type EventHandlerSpec, type HandlerEvent, type HandlerSelf } from './event-handlers.js';

/** events waiting at most; beyond, the oldest is dropped */
export const HANDLER_QUEUE_LIMIT = 1024;
/** Serf's QueryResponseSizeLimit default: a longer answer is not sent */
export const QUERY_RESPONSE_SIZE_LIMIT = 1024;
/** output kept per stream and run (Serf keeps the last 8 KiB of a script's output) */
const MAX_OUTPUT = 8 * 1024;
/** Serf warns when a script runs longer than this */
const WARN_SLOW_MS = 1000;
/**
 * After a kill, how long to wait for the output pipes to close: a process that left the
 * group (setsid) may hold them open, and must not hold up the queue or stop().
 */
const KILL_GRACE_MS = 1000;

export interface HandlerRunnerOptions {
  handlers: readonly EventHandlerSpec[];
  /** per run; the script is killed after this long */
  timeoutMs: number;
  queueLimit?: number;
  /** our name and tags, read when a script starts */
  self(): HandlerSelf;
  log: Logger;
  metrics: EventHandlerMetrics;
  /** the environment scripts inherit, before Serf's variables; default process.env */
  env?: NodeJS.ProcessEnv;
}

/** the bounded tail of a stream */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  total = 0;
  add(b: Buffer): void {
    this.total += b.length;
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0]!.length >= MAX_OUTPUT) this.size -= this.chunks.shift()!.length;
  }
  bytes(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.length > MAX_OUTPUT ? all.subarray(all.length - MAX_OUTPUT) : all;
  }
}

export class HandlerRunner {
  private readonly queue: HandlerEvent[] = [];
  private readonly limit: number;
  private draining: Promise<void> | undefined;
  private current: { child: ChildProcess; kill(): void } | undefined;
  private stopped = false;

  constructor(private readonly o: HandlerRunnerOptions) {
    this.limit = o.queueLimit ?? HANDLER_QUEUE_LIMIT;
  }

  /** events waiting (not the one whose scripts are running) */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** the PID of the script running now, if one is */
  get runningPid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Queue an event for the handlers that take it; false when none does or the runner is stopped. */
  push(e: HandlerEvent): boolean {
    if (this.stopped || !this.o.handlers.some((h) => handlerTakes(h, e))) return false;
    if (this.queue.length >= this.limit) {
      const old = this.queue.shift()!;
      this.o.metrics.dropped.inc({ reason: 'overflow' });
      this.o.log.warn({ event: 'event_handler_dropped', reason: 'overflow', dropped: serfEventName(old), queueLimit: this.limit }, `event handler queue full (${this.limit}): dropped the oldest event`);
    }
    this.queue.push(e);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return true;
  }

  /** Kill the running script (with its process group), drop what is queued, and wait for the script to be gone. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.queue.length > 0) this.o.metrics.dropped.inc({ reason: 'stopped' }, this.queue.length);
      this.queue.length = 0;
      this.current?.kill();
    }
    await this.draining;
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const e = this.queue.shift()!;
      for (const h of this.o.handlers) {
        if (this.stopped) return;
        if (!handlerTakes(h, e)) continue;
        // Nothing a run meets may end the agent (its promise is not awaited by anyone).
        await this.run(h, e).catch((err: unknown) => {
          this.o.metrics.runs.inc({ result: 'failed' });
          this.o.log.error({ event: 'event_handler', result: 'failed', handler: h.spec, err: (err as Error).message }, 'event handler run failed');
        });
      }
    }
  }

  private async run(h: EventHandlerSpec, e: HandlerEvent): Promise<void> {
    const log = this.o.log;
    const what = serfEventName(e);
    const started = Date.now();
    const env = { ...(this.o.env ?? process.env), ...handlerEnv(this.o.self(), e) };
    const out = new Tail();
    const err = new Tail();
    let timedOut = false;
    let child: ChildProcess;
    try {
      // Its own process group (detached), so that a timeout or stop() kills everything it started.
      child = spawn('/bin/sh', ['-c', h.script], { detached: true, env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      // spawn throws at once on what an environment cannot hold: a NUL byte in an event's
      // name, which came off the network, must not end the agent.
      this.o.metrics.runs.inc({ result: 'failed' });
      log.warn({ event: 'event_handler', result: 'failed', handler: h.spec, serfEvent: what, err: (error as Error).message }, `event handler not started for ${what}`);
      return;
    }
    const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const settle = (s: { code: number | null; signal: NodeJS.Signals | null; error?: Error }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(slow);
        clearTimeout(grace);
        resolve(s);
      };
      const kill = () => {
        killGroup(child);
        grace ??= setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
          settle(exited ?? { code: null, signal: 'SIGKILL' });
        }, KILL_GRACE_MS);
      };
      this.current = { child, kill };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, this.o.timeoutMs);
      child.on('exit', (code, signal) => (exited = { code, signal }));
      const slow = setTimeout(() => log.warn({ event: 'event_handler_slow', handler: h.spec, serfEvent: what, pid: child.pid }, `event handler still running after ${WARN_SLOW_MS} ms`), WARN_SLOW_MS);
      child.on('error', (error) => settle({ code: null, signal: null, error }));
      // close: exited and its output read to the end (as Serf's cmd.Wait)
      child.on('close', (code, signal) => settle({ code, signal }));
      child.stdout!.on('data', (b: Buffer) => out.add(b));
      child.stderr!.on('data', (b: Buffer) => err.add(b));
      // A script need not read its stdin: EPIPE is not an error of ours.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(handlerStdin(e));
    });
    this.current = undefined;
    const ms = Date.now() - started;
    const result: HandlerRunResult = timedOut ? 'timeout' : status.code === 0 ? 'ok' : 'failed';
    this.o.metrics.runs.inc({ result });

    const fields = { handler: h.spec, serfEvent: what, pid: child.pid, ms };
    for (const line of lines(err.bytes())) log.warn({ event: 'event_handler_stderr', ...fields, line }, `event handler stderr: ${line}`);
    for (const line of lines(out.bytes())) log.debug({ event: 'event_handler_stdout', ...fields, line }, `event handler stdout: ${line}`);
    if (out.total > MAX_OUTPUT || err.total > MAX_OUTPUT) log.warn({ event: 'event_handler_output_truncated', ...fields, stdout: out.total, stderr: err.total }, `event handler output truncated to its last ${MAX_OUTPUT} bytes`);
    if (result === 'ok') log.debug({ event: 'event_handler', result, ...fields }, `event handler ran for ${what}`);
    else if (timedOut) log.warn({ event: 'event_handler', result, ...fields, timeoutMs: this.o.timeoutMs }, `event handler killed after ${this.o.timeoutMs} ms`);
    else log.warn({ event: 'event_handler', result, ...fields, exitCode: status.code, signal: status.signal, ...(status.error ? { err: status.error.message } : {}) }, `event handler failed for ${what}`);

    // As Serf: a query is answered with what a script that succeeded printed, if anything.
    if (e.kind === 'query' && result === 'ok' && out.total > 0 && !this.stopped) await this.answer(e, out, fields);
  }

  private async answer(e: Extract<HandlerEvent, { kind: 'query' }>, out: Tail, fields: object): Promise<void> {
    if (out.total > QUERY_RESPONSE_SIZE_LIMIT) {
      this.o.metrics.responses.inc({ result: 'too_large' });
      this.o.log.warn({ event: 'event_handler_response', result: 'too_large', ...fields, query: e.name, bytes: out.total, limit: QUERY_RESPONSE_SIZE_LIMIT }, `query ${e.name}: the handler printed ${out.total} bytes, over the response limit of ${QUERY_RESPONSE_SIZE_LIMIT}; not sent`);
      return;
    }
    try {
      await e.respond(out.bytes());
      this.o.metrics.responses.inc({ result: 'sent' });
    } catch (err) {
      // RangeError: the encoded response is over the limit (the payload and Serf's envelope)
      const result = err instanceof RangeError ? 'too_large' : 'failed';
      this.o.metrics.responses.inc({ result });
      this.o.log.warn({ event: 'event_handler_response', result, ...fields, query: e.name, err: (err as Error).message }, `query ${e.name}: response not sent`);
    }
  }
}

/** SIGKILL the script's process group (its PID is the group's ID); it may be gone already. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

function lines(b: Buffer): string[] {
  return b
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}
