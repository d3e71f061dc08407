// The soak's processes: rxswim agents (the built CLI) and, optionally, serf agents, one
// loopback IP each, and the faults done to them, each with its proof read back from the
// kernel: a kill -9'd PID has exited on SIGKILL and /proc/PID is gone, a SIGSTOPped one is
// in state T in /proc/PID/stat (and no longer after SIGCONT), a graceful leave exited 0.
// Every process is started through one ProcGroup and killed by PID at the end.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kill, ProcGroup, type Proc } from '../../test/helpers/procs.js';
import { agentCli, HTTP_PORT, PORT, readView, rxswimArgs, SERF_RPC_PORT, type Impl, type View } from './cluster.js';
import type { SerfRpc } from './serf-rpc.js';
import { sleep } from './stats.js';

export interface FleetMember {
  name: string;
  impl: Extract<Impl, 'rxswim' | 'serf'>;
  ip: string;
  bind: string;
  api: string;
  /** never churned: the seeds every (re)start joins, and the long-lived memory series */
  anchor: boolean;
  /** rxswim: its --data-dir (name and incarnation across restarts) */
  dataDir: string | null;
  proc: Proc | null;
  rpc?: SerfRpc;
  /** set while an action on it is under way */
  busy: boolean;
  life: 'running' | 'paused' | 'crashed' | 'left' | 'starting';
}

/** process state letter from /proc/PID/stat (R, S, T, Z, ...); undefined when gone */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export class Fleet {
  readonly group = new ProcGroup();
  readonly members: FleetMember[] = [];
  /** `rxswim leave` client processes, tracked like the agents */
  private readonly clients = new ProcGroup();

  constructor(
    readonly profile: string,
    readonly dataRoot: string,
  ) {}

  add(name: string, impl: FleetMember['impl'], ip: string, anchor: boolean): FleetMember {
    const m: FleetMember = {
      name,
      impl,
      ip,
      bind: `${ip}:${PORT}`,
      api: `${ip}:${impl === 'serf' ? SERF_RPC_PORT : HTTP_PORT}`,
      anchor,
      dataDir: impl === 'rxswim' ? join(this.dataRoot, name) : null,
      proc: null,
      busy: false,
      life: 'starting',
    };
    if (m.dataDir) mkdirSync(m.dataDir, { recursive: true });
    this.members.push(m);
    return m;
  }

  pid(m: FleetMember): number | null {
    return m.proc?.child.pid ?? null;
  }

  exited(m: FleetMember): boolean {
    return m.proc === null || m.proc.child.exitCode !== null || m.proc.child.signalCode !== null;
  }

  /** starts `m` joining `seeds` (none for the first anchor) */
  start(m: FleetMember, seeds: string[]): Proc {
    m.rpc?.close();
    m.rpc = undefined;
    if (m.impl === 'rxswim') {
      const join = seeds.length > 0 ? ['--join', ...seeds] : [];
      m.proc = this.group.start(m.name, process.execPath, rxswimArgs(m.name, m.bind, m.api, ['--profile', this.profile, '--data-dir', m.dataDir!, ...join]));
    } else {
      m.proc = this.group.serf(m.name, m.bind, m.api, [`-profile=${this.profile}`, ...seeds.map((s) => `-join=${s}`)]);
    }
    m.life = 'starting';
    return m.proc;
  }

  view(m: FleetMember, timeoutMs = 2000): Promise<Map<string, View> | undefined> {
    return readView(m.impl, m, timeoutMs);
  }

  /** until `m` answers and lists itself alive; throws when it exits first or `timeoutMs` passes */
  async waitUp(m: FleetMember, timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    for (;;) {
      if (this.exited(m)) throw new Error(`${m.name} exited (${m.proc?.child.exitCode ?? m.proc?.child.signalCode}) while starting: ${m.proc?.lines.slice(-3).join(' | ')}`);
      const v = await this.view(m, 1000);
      if (v?.get(m.name) === 'alive') return;
      if (performance.now() - t0 > timeoutMs) throw new Error(`${m.name} did not answer within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** kill -9; the proof: it exited on SIGKILL and /proc/PID is gone */
  async crash(m: FleetMember): Promise<{ pid: number; signal: string | null; procGone: boolean }> {
    const pid = this.pid(m)!;
    m.rpc?.close();
    await kill(m.proc!, 'SIGKILL');
    m.life = 'crashed';
    return { pid, signal: m.proc!.child.signalCode, procGone: !existsSync(`/proc/${pid}`) };
  }

  /** SIGSTOP or SIGCONT; the proof: the state letter /proc/PID/stat shows after it (T when stopped) */
  async signalStop(m: FleetMember, stop: boolean): Promise<{ pid: number; state: string | undefined }> {
    const pid = this.pid(m)!;
    process.kill(pid, stop ? 'SIGSTOP' : 'SIGCONT');
    let state = procState(pid);
    for (let i = 0; i < 50 && (state === 'T') !== stop; i++) {
      await sleep(20);
      state = procState(pid);
    }
    m.life = stop ? 'paused' : 'running';
    return { pid, state };
  }

  /**
   * A graceful leave: rxswim by SIGTERM or by `rxswim leave --http ...` (the CLI), serf by
   * SIGINT (serf leaves on an interrupt, not on SIGTERM). Returns at once with a promise
   * of the proof (the exit code, and the agent's own log of the leave).
   */
  leave(m: FleetMember, via: 'sigterm' | 'cli'): Promise<{ pid: number; via: string; exitCode: number | null; signal: string | null; logged: boolean }> {
    const proc = m.proc!;
    const pid = proc.child.pid!;
    m.life = 'left';
    const exited = new Promise<void>((r) => (proc.child.exitCode !== null || proc.child.signalCode !== null ? r() : proc.child.once('exit', () => r())));
    let how: string;
    if (m.impl === 'serf') {
      how = 'SIGINT';
      proc.child.kill('SIGINT');
    } else if (via === 'sigterm') {
      how = 'SIGTERM';
      proc.child.kill('SIGTERM');
    } else {
      how = 'rxswim leave';
      const c = this.clients.start(`leave-${m.name}`, process.execPath, [agentCli(), 'leave', '--http', m.api]);
      c.child.on('error', () => {});
    }
    // a leave that hangs is cut at 20 s (the CLI's own wait), and said so by its exit signal
    const cut = setTimeout(() => proc.child.kill('SIGKILL'), 20_000);
    return exited.then(() => {
      clearTimeout(cut);
      m.rpc?.close();
      const logged = proc.lines.some((l) => (m.impl === 'serf' ? /graceful|leave/i.test(l) : l.includes('"event":"leaving"') && l.includes('"graceful":true')));
      return { pid, via: how, exitCode: proc.child.exitCode, signal: proc.child.signalCode, logged };
    });
  }

  /** every process this fleet started, killed by PID (stopped ones too: SIGKILL ends them) */
  async stopAll(): Promise<void> {
    for (const m of this.members) m.rpc?.close();
    await Promise.all([this.group.killAll(), this.clients.killAll()]);
  }

  /** synchronous last resort for process.on('exit'): SIGKILL every PID still running */
  killAllSync(): void {
    for (const p of [...this.group.procs, ...this.clients.procs]) {
      if (p.child.exitCode === null && p.child.signalCode === null && p.child.pid) {
        try {
          process.kill(p.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
}
