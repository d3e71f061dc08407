// Helpers for the operator tests: run one CLI command to completion, start an agent
// with arbitrary arguments and environment, and read an agent's SSE stream.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { CLI, type Proc, type ProcGroup } from './procs.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rxswim ARGS` and resolves when it exits (killed after timeoutMs). */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment without any RXSWIM_* variable, so the developer's own cannot leak into a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RXSWIM_')));
  return { ...env, ...extra };
}

/** An agent with exactly these arguments (after `agent`) and environment, tracked by the group. */
export function startAgent(g: ProcGroup, name: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Proc {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'agent', '--log-format', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const p: Proc = { name, child, lines: [] };
  createInterface({ input: child.stdout! }).on('line', (l) => p.lines.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => p.lines.push(l));
  g.procs.push(p);
  return p;
}

/** Resolves with the exit code once the process exits on its own (or null after timeoutMs). */
export function exitOf(p: Proc, timeoutMs: number): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve(p.child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), timeoutMs);
    p.child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body, headers: res.headers };
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Subscribes to an agent's /v1/events; `events` fills as they arrive; `close()` ends it. */
export async function openSse(url: string): Promise<{ events: SseEvent[]; contentType: string | null; close(): void; ended: Promise<void> }> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal, headers: { accept: 'text/event-stream' } });
  const events: SseEvent[] = [];
  const stream = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const ended = (async () => {
    try {
      for await (const e of stream) events.push({ event: e.event ?? 'message', data: e.data });
    } catch {
      // aborted
    }
  })();
  return { events, contentType: res.headers.get('content-type'), close: () => ac.abort(), ended };
}
