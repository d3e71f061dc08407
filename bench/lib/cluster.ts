// A cluster of N agents of one implementation on loopback, one IP per agent, started
// without seeds so that the joins can be timed on their own (process start-up, which
// differs a lot between Node and Go, is not part of any figure).
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kill, ProcGroup, type Proc } from '../../test/helpers/procs.js';
import { httpJson } from './http.js';
import { SerfRpc } from './serf-rpc.js';
import { sleep } from './stats.js';

export type Impl = 'rxswim' | 'serf' | 'swim';
/** a member's state normalised across implementations */
export type View = 'alive' | 'suspect' | 'failed' | 'left' | 'other';

export const PORT = 7946;
export const SERF_RPC_PORT = 7373;
export const HTTP_PORT = 8946;

/** the agent's CLI: the esbuild bundle `npm run build` writes (dist/src/cli/main.js is tsc's unbundled output) */
export const BUILT_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const builtCli = (): boolean => existsSync(BUILT_CLI);

let cli = BUILT_CLI;
let snapshotDir: string | null = null;
/** the CLI the bench's rxswim agents run: BUILT_CLI, or its snapshot once `snapshotCli` made one */
export const agentCli = (): string => cli;

/**
 * Copies dist/cli/ (the bundle and its chunks) to a folder of its own for the length of
 * a run, so that every agent of the run runs the same build even when dist/ is rebuilt
 * meanwhile (the bundler deletes dist/cli/ first). The folder is under node_modules/ so
 * that anything the bundle still resolves at run time resolves as from dist/.
 */
export function snapshotCli(): { path: string; builtAt: string } {
  const builtAt = statSync(BUILT_CLI).mtime.toISOString();
  const base = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
  mkdirSync(base, { recursive: true });
  snapshotDir = mkdtempSync(join(base, 'rxswim-bench-cli-'));
  cpSync(fileURLToPath(new URL('../../dist/cli/', import.meta.url)), snapshotDir, { recursive: true });
  cli = join(snapshotDir, 'main.js');
  return { path: cli, builtAt };
}

export function dropCliSnapshot(): void {
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
  snapshotDir = null;
  cli = BUILT_CLI;
}

/**
 * Node flags for every rxswim agent a bench starts, from RXSWIM_BENCH_NODE_ARGS
 * (space-separated), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the agents
 * themselves: Node refuses --cpu-prof in NODE_OPTIONS, and the bench's own process
 * should not be profiled with them.
 */
export const agentNodeArgs = (): string[] => (process.env.RXSWIM_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

/**
 * Before a group's SIGKILL: agents started with Node flags (a profile) get a SIGTERM,
 * then a second one (stop at once, without the leave), 3 and 5 s apart, so that Node
 * writes what the flags asked for on its way out. Nothing without the flags.
 */
export async function letAgentsExit(g: ProcGroup): Promise<void> {
  if (agentNodeArgs().length === 0) return;
  await g.stopAll('SIGTERM', 3000);
  await g.stopAll('SIGTERM', 5000);
}

/** the argv of one rxswim agent, as the bench starts it */
export const rxswimArgs = (name: string, bind: string, http: string, extra: string[] = []): string[] => [...agentNodeArgs(), agentCli(), 'agent', '--node', name, '--bind', bind, '--http', http, '--log-format', 'json', ...extra];

export const SWIM_AGENT = fileURLToPath(new URL('../peers/swim/agent.cjs', import.meta.url));
export const swimInstalled = (): boolean => existsSync(fileURLToPath(new URL('../peers/swim/node_modules/swim/package.json', import.meta.url)));

/** One IP per agent from 127.0.71.1 up to 127.0.79.254 (127.0.70.x is the RTT bench's). */
export class IpPool {
  private next = 0;
  take(n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++, this.next++) {
      const third = 71 + Math.floor(this.next / 254);
      if (third > 79) throw new Error('out of loopback addresses in 127.0.71.0-127.0.79.255');
      out.push(`127.0.${third}.${1 + (this.next % 254)}`);
    }
    return out;
  }
}

export interface Agent {
  name: string;
  ip: string;
  /** host:port of the gossip socket */
  bind: string;
  /** host:port of the HTTP API (rxswim, swim) or the RPC endpoint (serf) */
  api: string;
  proc: Proc;
  rpc?: SerfRpc;
}

const RX_STATE: Record<string, View> = { alive: 'alive', suspect: 'suspect', dead: 'failed', left: 'left' };
const SERF_STATE: Record<string, View> = { alive: 'alive', failed: 'failed', leaving: 'left', left: 'left' };


/** the member list as one agent sees it (rxswim and swim-js: `GET /v1/members`; serf: the members RPC); undefined when it does not answer */
export async function readView(impl: Impl, a: Pick<Agent, 'api' | 'rpc'>, timeoutMs = 2000, only?: string): Promise<Map<string, View> | undefined> {
  try {
    if (impl === 'serf') {
      if (!a.rpc || !a.rpc.isOpen) a.rpc = await SerfRpc.connect(a.api, Math.min(1000, timeoutMs));
      const ms = only === undefined ? await a.rpc.members(timeoutMs) : await a.rpc.membersNamed(`^${only.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, timeoutMs);
      return new Map(ms.map((m) => [m.name, SERF_STATE[m.status] ?? 'other']));
    }
    const rows = (await httpJson('GET', a.api, '/v1/members', undefined, timeoutMs)) as Array<{ name: string; state: string }>;
    // rxswim's states; the swim-js wrapper reports alive, suspect and dead (faulty) the same way
    return new Map(rows.map((m) => [m.name, RX_STATE[m.state] ?? 'other']));
  } catch {
    return undefined;
  }
}

export class Cluster {
  readonly agents: Agent[] = [];
  readonly group = new ProcGroup();

  constructor(
    readonly impl: Impl,
    ips: string[],
  ) {
    ips.forEach((ip, i) => {
      const bind = `${ip}:${PORT}`;
      const name = impl === 'rxswim' ? `rx-${i}` : impl === 'serf' ? `serf-${i}` : bind;
      const api = `${ip}:${impl === 'serf' ? SERF_RPC_PORT : HTTP_PORT}`;
      this.agents.push({ name, ip, bind, api, proc: this.spawn(name, bind, api) });
    });
  }

  private spawn(name: string, bind: string, api: string): Proc {
    if (this.impl === 'rxswim') return this.group.start(name, process.execPath, rxswimArgs(name, bind, api, ['--profile', 'lan']));
    if (this.impl === 'serf') return this.group.serf(name, bind, api, ['-profile=lan']);
    // memberlist's lan timings where swim-js has an equivalent (see bench/README.md)
    const args = [SWIM_AGENT, '--host', bind, '--http', api, '--interval', '1000', '--ping-timeout', '500', '--ping-req-timeout', '500', '--suspect-timeout', '4000', '--dissemination-factor', '4'];
    return this.group.start(bind, process.execPath, args);
  }

  /** starts a stopped agent again under the same name and address (a restart; it joins nobody) */
  restart(a: Agent): void {
    if (a.proc.child.exitCode === null && a.proc.child.signalCode === null) throw new Error(`${a.name} is still running`);
    a.rpc?.close();
    delete a.rpc;
    a.proc = this.spawn(a.name, a.bind, a.api);
  }

  /**
   * A graceful leave the way an operator asks for one: rxswim leaves on SIGTERM, serf on
   * SIGINT (its default, skip_leave_on_interrupt = false; SIGTERM stops it without a
   * leave). Resolves when the process has exited (SIGKILL after `graceMs`): ms taken, and
   * whether it had to be killed.
   */
  async leave(a: Agent, graceMs = 20_000): Promise<{ exitMs: number; killed: boolean }> {
    const t0 = performance.now();
    a.rpc?.close();
    delete a.rpc;
    const exited = kill(a.proc, this.impl === 'serf' ? 'SIGINT' : 'SIGTERM');
    const killed = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed) await kill(a.proc, 'SIGKILL');
    return { exitMs: performance.now() - t0, killed };
  }

  get size(): number {
    return this.agents.length;
  }

  pid(a: Agent): number {
    return a.proc.child.pid!;
  }

  /**
   * The member list as one agent sees it; undefined when it does not answer. With `only`,
   * serf answers for that member alone (`members-filtered`: at N = 64 decoding every
   * full list 10 times a second costs the bench process most of a core); rxswim has no
   * such filter and answers in full.
   */
  view(a: Agent, only?: string): Promise<Map<string, View> | undefined> {
    return readView(this.impl, a, 2000, only);
  }

  /** waits until every agent answers and lists itself */
  async waitReady(timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    const ready = new Set<string>();
    while (ready.size < this.size) {
      for (const a of this.agents) {
        if (a.proc.child.exitCode !== null || a.proc.child.signalCode !== null) {
          throw new Error(`${this.impl} agent ${a.name} exited (${a.proc.child.exitCode ?? a.proc.child.signalCode}): ${a.proc.lines.slice(-5).join(' | ')}`);
        }
      }
      await Promise.all(
        this.agents
          .filter((a) => !ready.has(a.name))
          .map(async (a) => {
            const v = await this.view(a);
            if (v?.get(a.name) === 'alive') ready.add(a.name);
          }),
      );
      if (ready.size === this.size) break;
      if (performance.now() - t0 > timeoutMs) throw new Error(`${this.impl}: only ${ready.size}/${this.size} agents ready after ${timeoutMs} ms`);
      await sleep(200);
    }
    return performance.now() - t0;
  }

  /** `a` joins `seed` (rxswim, swim: `POST /v1/join`; serf: the `join` RPC); the error message when it fails */
  async join(a: Agent, seed: string, timeoutMs = 30_000): Promise<string | null> {
    try {
      if (this.impl === 'serf') {
        if (!a.rpc || !a.rpc.isOpen) a.rpc = await SerfRpc.connect(a.api, 2000);
        await a.rpc.join([seed], timeoutMs);
      } else {
        await httpJson('POST', a.api, '/v1/join', { seeds: [seed] }, timeoutMs);
      }
      return null;
    } catch (e) {
      return `${a.name}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** every agent but the first joins the first, all at once */
  async joinAll(): Promise<string[]> {
    const seed = this.agents[0]!.bind;
    const results = await Promise.all(this.agents.slice(1).map((a) => this.join(a, seed)));
    return results.filter((e): e is string => e !== null);
  }

  /**
   * every agent but the first joins the first, one after another: each join is issued
   * once the previous one has returned. Per join: ms from issuing it to its answer.
   */
  async joinSerially(stop: () => boolean = () => false): Promise<{ errors: string[]; joinMs: number[] }> {
    const seed = this.agents[0]!.bind;
    const errors: string[] = [];
    const joinMs: number[] = [];
    for (const a of this.agents.slice(1)) {
      if (stop()) break;
      const t0 = performance.now();
      const e = await this.join(a, seed);
      joinMs.push(performance.now() - t0);
      if (e !== null) errors.push(e);
    }
    return { errors, joinMs };
  }

  /**
   * Polls `agents` every `everyMs` (each round waits for every answer) until `done`
   * says so or `timeoutMs` passes. `observe` gets each answer with its time (ms since
   * `t0`, a performance.now() value). Returns whether `done` was reached.
   */
  async poll(
    agents: Agent[],
    t0: number,
    observe: (a: Agent, v: Map<string, View> | undefined, atMs: number) => void,
    done: () => boolean,
    timeoutMs: number,
    everyMs = 100,
  ): Promise<boolean> {
    for (;;) {
      const round = performance.now();
      await Promise.all(
        agents.map(async (a) => {
          const v = await this.view(a);
          observe(a, v, performance.now() - t0);
        }),
      );
      if (done()) return true;
      if (performance.now() - t0 > timeoutMs) return false;
      await sleep(everyMs - (performance.now() - round));
    }
  }

  async killAgent(a: Agent): Promise<void> {
    a.rpc?.close();
    await kill(a.proc, 'SIGKILL');
  }

  async close(): Promise<void> {
    for (const a of this.agents) a.rpc?.close();
    await letAgentsExit(this.group);
    await this.group.killAll();
  }
}
