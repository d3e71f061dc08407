// `rxswim cluster`: a local demo cluster of agents on loopback, one child process
// each. On a terminal it opens a live view (src/cli/cluster-view.ts) with keys to
// kill, pause, resume, restart and add agents; otherwise it prints one line per
// membership event, as before. Either way, quitting makes every agent leave.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { formatHostPort } from '../membership/address.js';
import { isWildcard } from './address.js';

export interface ClusterOptions {
  size: number;
  host: string;
  basePort: number;
  profile: string;
  /** force the plain line output even on a terminal */
  plain?: boolean;
}

export type ProcStatus = 'starting' | 'running' | 'paused' | 'killed' | 'exited' | 'leaving';

export interface DemoNode {
  index: number;
  name: string;
  bind: string;
  http: string;
  status: ProcStatus;
  pid?: number;
  child?: ChildProcess;
  exitCode?: number | null;
}

/** One line of the demo's event log. */
export interface LogLine {
  time: number;
  /** the agent that reported it, or 'demo' for our own actions */
  source: string;
  event: string;
  /** member name, state, incarnation when it is a membership event */
  member?: { name: string; state: string; incarnation: number };
  text?: string;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * `--host` as the agents will bind it: an IP address of this host (any 127.x, ::1,
 * or an interface's address; `localhost` means 127.0.0.1). Checked before anything
 * starts, so that a typo is a usage error and not a row of agents failing to bind.
 */
export function demoHost(host: string): string {
  if (host === 'localhost') return '127.0.0.1';
  if (isIP(host) === 0) throw new ConfigError('--host', `must be an IP address of this host, such as 127.0.0.1 (got ${JSON.stringify(host)})`);
  if (isWildcard(host)) throw new ConfigError('--host', `must be one address of this host, not the wildcard ${host}`);
  const local = (isIP(host) === 4 && host.startsWith('127.')) || host === '::1' || Object.values(networkInterfaces()).some((ifs) => ifs?.some((i) => i.address === host));
  if (!local) throw new ConfigError('--host', `${host} is not an address of this host (a loopback address such as 127.0.0.1 always works)`);
  return host;
}

/** The agents of the demo and what can be done to them. */
export class DemoCluster {
  readonly nodes: DemoNode[] = [];
  /** the agents' data dirs; removed by dispose(), at the latest when the process exits */
  readonly dataRoot: string;
  private quitting = false;
  private disposed = false;
  private readonly onExit = () => this.dispose();
  /** called when every agent has ended without being asked to */
  onIdle?: () => void;

  constructor(
    readonly opts: ClusterOptions,
    private readonly onLog: (l: LogLine) => void,
    private readonly onChange: () => void = () => {},
  ) {
    this.dataRoot = mkdtempSync(join(tmpdir(), 'rxswim-demo-'));
    // Whatever path the process takes out (an error, process.exit), the folder goes.
    process.once('exit', this.onExit);
  }

  /** Removes the temporary folder (idempotent). Agents still running keep running. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    rmSync(this.dataRoot, { recursive: true, force: true });
  }

  private log(source: string, event: string, text?: string): void {
    this.onLog({ time: Date.now(), source, event, ...(text !== undefined ? { text } : {}) });
  }

  /** Adds agent number `nodes.length + 1` and starts it. */
  add(): DemoNode {
    const index = this.nodes.length;
    const port = this.opts.basePort + index;
    const node: DemoNode = {
      index,
      name: `node-${index + 1}`,
      bind: formatHostPort(this.opts.host, port),
      http: formatHostPort(this.opts.host, port + 1000),
      status: 'starting',
    };
    this.nodes.push(node);
    this.start(node);
    return node;
  }

  private start(node: DemoNode): void {
    // Retry-join every other agent: whichever is up answers, and a seed that is
    // killed, paused or still booting does not keep this one out.
    const seeds = this.nodes.filter((n) => n !== node && n.status !== 'killed' && n.status !== 'exited').map((n) => n.bind);
    const args = [
      MAIN, 'agent',
      '--node', node.name,
      '--bind', node.bind,
      '--http', node.http,
      '--profile', this.opts.profile,
      '--log-format', 'json',
      // Keeps the incarnation across a restart, so the old death is refuted at once.
      '--data-dir', join(this.dataRoot, node.name),
      '--retry-interval', '1s',
      ...seeds.flatMap((s) => ['--retry-join', s]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.pid = child.pid;
    node.status = 'starting';
    delete node.exitCode;
    createInterface({ input: child.stdout! }).on('line', (line) => this.onAgentLine(node, line));
    createInterface({ input: child.stderr! }).on('line', (line) => this.log(node.name, 'stderr', line));
    child.once('exit', (code, signal) => {
      if (node.child !== child) return;
      node.exitCode = code;
      node.status = signal === 'SIGKILL' ? 'killed' : 'exited';
      delete node.pid;
      this.log(node.name, node.status, signal ? `process ended by ${signal}` : `process exited with code ${code}`);
      this.onChange();
      if (!this.quitting && this.nodes.every((n) => n.status === 'killed' || n.status === 'exited')) this.onIdle?.();
    });
    this.onChange();
  }

  private onAgentLine(node: DemoNode, line: string): void {
    let rec: { time?: number; event?: string; msg?: string; member?: { name: string; state: string; incarnation: number } };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      this.log(node.name, 'output', line);
      return;
    }
    if (rec.event === 'started' && node.status === 'starting') node.status = 'running';
    if (!rec.event || rec.event === 'started' && !rec.member) return;
    this.onLog({
      time: rec.time ?? Date.now(),
      source: node.name,
      event: rec.event,
      ...(rec.member ? { member: rec.member } : {}),
      ...(rec.msg && !rec.member ? { text: rec.msg } : {}),
    });
    this.onChange();
  }

  private signal(node: DemoNode, sig: NodeJS.Signals): boolean {
    if (!node.child || node.child.exitCode !== null || node.child.signalCode !== null) return false;
    node.child.kill(sig);
    return true;
  }

  kill(node: DemoNode): void {
    if (this.signal(node, 'SIGKILL')) this.log('demo', 'kill', `kill -9 ${node.name} (pid ${node.pid})`);
  }

  pause(node: DemoNode): void {
    if (node.status !== 'running' && node.status !== 'starting') return;
    if (this.signal(node, 'SIGSTOP')) {
      node.status = 'paused';
      this.log('demo', 'pause', `SIGSTOP ${node.name}: it stops answering and will be suspected`);
      this.onChange();
    }
  }

  resume(node: DemoNode): void {
    if (node.status !== 'paused') return;
    if (this.signal(node, 'SIGCONT')) {
      node.status = 'running';
      this.log('demo', 'resume', `SIGCONT ${node.name}: it refutes any suspicion of itself`);
      this.onChange();
    }
  }

  /** Kill (if running) and start again with the same name, address and data dir. */
  async restart(node: DemoNode): Promise<void> {
    const child = node.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    if (this.quitting) return;
    this.log('demo', 'restart', `starting ${node.name} again`);
    this.start(node);
  }

  /** Every agent leaves gracefully (paused ones are woken first); SIGKILL after 10 s. */
  async stop(): Promise<number> {
    this.quitting = true;
    const waits = this.nodes.map((n) => {
      const c = n.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve(n.exitCode === 0 || n.status === 'killed');
      const exited = new Promise<boolean>((r) => c.once('exit', (code) => r(code === 0)));
      if (n.status === 'paused') c.kill('SIGCONT');
      n.status = 'leaving';
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
      return exited.finally(() => clearTimeout(t));
    });
    this.onChange();
    const ok = await Promise.all(waits);
    this.dispose();
    return ok.every(Boolean) ? 0 : 1;
  }
}

/** `12:00:01.123 [node-1] failed node-2 (dead, inc 1)` */
export function formatLogLine(l: LogLine): string {
  const t = new Date(l.time).toISOString().slice(11, 23);
  if (l.member) return `${t} [${l.source}] ${l.event} ${l.member.name} (${l.member.state}, inc ${l.member.incarnation})`;
  return `${t} [${l.source}] ${l.event}${l.text ? `: ${l.text}` : ''}`;
}

export async function runCluster(given: ClusterOptions): Promise<number> {
  const opts = { ...given, host: demoHost(given.host) };
  if (process.stdout.isTTY && process.stdin.isTTY && !opts.plain) {
    const { runClusterView } = await import('./cluster-view.js');
    return runClusterView(opts);
  }
  const cluster = new DemoCluster(opts, (l) => process.stdout.write(`${formatLogLine(l)}\n`));
  try {
    return await runPlain(cluster, opts);
  } finally {
    cluster.dispose();
  }
}

async function runPlain(cluster: DemoCluster, opts: ClusterOptions): Promise<number> {
  process.stdout.write(
    `rxswim demo: ${opts.size} agents on ${opts.host}:${opts.basePort}-${opts.basePort + opts.size - 1}; ` +
      `try: node ${MAIN} members --http ${formatHostPort(opts.host, opts.basePort + 1000)}   (Ctrl-C to stop)\n`,
  );
  for (let i = 0; i < opts.size; i++) {
    cluster.add();
    // Give the first agent a moment to listen, so the others' first join attempt finds it.
    if (i === 0) await new Promise((r) => setTimeout(r, 300));
  }
  return new Promise<number>((resolve) => {
    const stop = () => void cluster.stop().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Nothing left to show once every agent has gone by itself (a port in use, say).
    cluster.onIdle = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write('rxswim demo: every agent has exited (see the lines above)\n');
      resolve(1);
    };
  });
}
