// Real processes for the real-parts tests: rxswim agents (the built CLI) and Debian
// serf agents on loopback. Every process started here is tracked by PID and killed
// by PID when the test ends, whatever happens.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Proc {
  name: string;
  child: ChildProcess;
  lines: string[];
}

export class ProcGroup {
  readonly procs: Proc[] = [];

  start(name: string, cmd: string, args: string[]): Proc {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const p: Proc = { name, child, lines: [] };
    createInterface({ input: child.stdout! }).on('line', (l) => p.lines.push(l));
    createInterface({ input: child.stderr! }).on('line', (l) => p.lines.push(l));
    this.procs.push(p);
    return p;
  }

  agent(name: string, bind: string, http: string, extra: string[] = []): Proc {
    return this.start(name, process.execPath, [CLI, 'agent', '--node', name, '--bind', bind, '--http', http, '--log-format', 'json', ...extra]);
  }

  serf(name: string, bind: string, rpc: string, extra: string[] = []): Proc {
    return this.start(name, 'serf', ['agent', `-node=${name}`, `-bind=${bind}`, `-rpc-addr=${rpc}`, '-log-level=info', ...extra]);
  }

  /** `signal` to every process still running; waits until they exit or `graceMs` passes */
  async stopAll(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.all(this.procs.map((p) => kill(p, signal))), grace]);
    clearTimeout(timer);
  }

  /** SIGKILL every process still running and wait for them to exit */
  async killAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => kill(p, 'SIGKILL')));
  }
}

export async function kill(p: Proc, signal: NodeJS.Signals): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
  p.child.kill(signal);
  return exited;
}

/** whether a process with this PID exists (signal 0 probes without signalling; EPERM: it exists, not ours) */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function hasSerf(): boolean {
  return spawnSync('serf', ['version']).status === 0;
}

export function builtCli(): boolean {
  return existsSync(CLI);
}

export interface MemberRow {
  name: string;
  address: string;
  port: number;
  state: string;
  incarnation: number;
  /** present when the member's meta is in Serf's tag encoding */
  tags?: Record<string, string>;
}

export async function httpMembers(http: string): Promise<MemberRow[] | undefined> {
  try {
    const res = await fetch(`http://${http}/v1/members`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as MemberRow[]) : undefined;
  } catch {
    return undefined;
  }
}

export interface SerfMemberRow {
  name: string;
  addr: string;
  status: string;
  tags: Record<string, string>;
}

export function serfMembers(rpc: string): SerfMemberRow[] {
  const r = spawnSync('serf', ['members', `-rpc-addr=${rpc}`, '-format=json'], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return [];
  const parsed = JSON.parse(r.stdout) as { members: SerfMemberRow[] };
  return parsed.members;
}

/**
 * One sample of a metric from an agent's `GET /metrics`, e.g.
 * `metricValue(http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })`.
 * 0 when the series does not exist yet (prom-client omits unlabelled-yet counters);
 * undefined when the agent does not answer.
 */
export async function metricValue(http: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  let text: string;
  try {
    const res = await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    text = await res.text();
  } catch {
    return undefined;
  }
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = (m[1] ?? '').split(',').filter((x) => x.length > 0);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[2]);
  }
  return 0;
}
