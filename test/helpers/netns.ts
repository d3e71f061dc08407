// A test bed of N hosts, each a network namespace with a veth into a bridge that
// lives in a namespace of its own, and faults injected with nftables inside the host
// namespaces (random loss, one-way loss, partitions, heal). For the fault tests and
// for bench/. Needs root, `ip` (iproute2) and `nft` (nftables).
//
//   rxs-<pid>-sw    bridge br0 (10.231.0.254: the control address) + the control proxy
//   rxs-<pid>-h<i>  lo up, eth0 = 10.231.0.(i+1)/24, table inet rxs
//
// Nothing touches the root namespace: the test process reaches the hosts through a
// small HTTP proxy that runs in the bridge namespace and listens on a unix socket
// (filesystem paths are not namespaced). Packets from the control address are exempt
// from every fault, so polling an agent never perturbs it and never gets lost.
//
// Everything made here (namespaces, and with them the veths and the bridge; processes,
// killed by PID) is removed by destroy(), which is idempotent and synchronous so that
// it also runs from a process 'exit' handler. create() first removes what an earlier
// run left behind: namespaces named rxs-<pid>-* whose <pid> is no longer running.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive, ProcGroup, type Proc } from './procs.js';
import { sleep } from './wait.js';

export const SUBNET = '10.231.0';
export const CONTROL_IP = `${SUBNET}.254`;
const PREFIX = 'rxs-';
const OWNED = /^rxs-(\d+)-/;

export interface Host {
  index: number;
  /** namespace name */
  ns: string;
  /** 10.231.0.(index+1) */
  ip: string;
}

/** why the netns tests cannot run here, or false when they can */
export function netnsSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, veth, nftables): run as root, e.g. in CI via .ci/run';
  for (const [bin, pkg] of [['ip', 'iproute2'], ['nft', 'nftables']] as const) {
    if (spawnSync(bin, ['-V']).error) return `needs \`${bin}\` (Debian package ${pkg})`;
  }
  return false;
}

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

function tryRun(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: 'ignore' });
}

function listNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/** kill every process in a namespace (by PID), then delete it; veths and bridges in it go with it */
function removeNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
  for (const p of pids.split('\n').map(Number).filter((p) => p > 0)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tryRun('ip', ['netns', 'del', ns]);
}

/** best effort: namespaces of earlier runs whose owning process is gone */
export function cleanupLeftovers(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = OWNED.exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    removeNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

// The control proxy: GET /<ip>:<port><path> on the unix socket is fetched from
// http://<ip>:<port><path> inside the bridge namespace. Plain CommonJS for `node -e`.
const PROXY = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const m = /^\\/([0-9.]+):(\\d+)(\\/.*)$/.exec(req.url || '');
  if (!m) { res.writeHead(400); res.end('bad target'); return; }
  const up = http.get({ host: m[1], port: Number(m[2]), path: m[3], timeout: 3000, agent: false }, (r) => {
    res.writeHead(r.statusCode || 502, { 'content-type': r.headers['content-type'] || 'text/plain' });
    r.pipe(res);
  });
  up.on('timeout', () => up.destroy(new Error('timeout')));
  up.on('error', (e) => { if (!res.headersSent) res.writeHead(502); res.end(String(e.message)); });
});
server.listen(process.argv[1], () => console.log('proxy ready'));
`;

export interface BedOptions {
  /** extra namespace-name part, so two beds in one process do not collide */
  tag?: string;
}

export class NetnsBed {
  readonly hosts: Host[];
  readonly procs = new ProcGroup();
  private readonly sw: string;
  private readonly dir: string;
  private readonly socket: string;
  private destroyed = false;
  private readonly onExit = () => this.destroy();

  private constructor(n: number, opts: BedOptions) {
    const base = `${PREFIX}${process.pid}-${opts.tag ? `${opts.tag}-` : ''}`;
    this.sw = `${base}sw`;
    this.hosts = Array.from({ length: n }, (_, i) => ({ index: i, ns: `${base}h${i}`, ip: `${SUBNET}.${i + 1}` }));
    this.dir = mkdtempSync(join(tmpdir(), 'rxs-bed-'));
    this.socket = join(this.dir, 'control.sock');
  }

  /** build the namespaces, the bridge and the control proxy; cleans up after itself if that fails */
  static async create(n: number, opts: BedOptions = {}): Promise<NetnsBed> {
    if (n < 1 || n > 200) throw new RangeError(`hosts: ${n} is not in [1, 200]`);
    cleanupLeftovers();
    const bed = new NetnsBed(n, opts);
    process.once('exit', bed.onExit);
    try {
      bed.build();
      await bed.startProxy();
    } catch (e) {
      bed.destroy();
      throw e;
    }
    return bed;
  }

  private build(): void {
    const sw = this.sw;
    run('ip', ['netns', 'add', sw]);
    run('ip', ['-n', sw, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', sw, 'addr', 'add', `${CONTROL_IP}/24`, 'dev', 'br0']);
    run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const h of this.hosts) {
      run('ip', ['netns', 'add', h.ns]);
      run('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
      // Both ends are created directly in their namespaces: no name ever exists in the root namespace.
      run('ip', ['link', 'add', 'eth0', 'netns', h.ns, 'type', 'veth', 'peer', 'name', `h${h.index}`, 'netns', sw]);
      run('ip', ['-n', sw, 'link', 'set', `h${h.index}`, 'master', 'br0', 'up']);
      run('ip', ['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      run('ip', ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
      // `faults` is flushed on heal(); `input` keeps the control exemption in front of it.
      run('ip', ['netns', 'exec', h.ns, 'nft', '-f', '-'], [
        'table inet rxs {',
        '  chain faults {}',
        '  chain input {',
        '    type filter hook input priority 0; policy accept;',
        `    ip saddr ${CONTROL_IP} accept`,
        '    jump faults',
        '  }',
        '}',
      ].join('\n'));
    }
  }

  private async startProxy(): Promise<void> {
    const p = this.procs.start('control-proxy', 'ip', ['netns', 'exec', this.sw, process.execPath, '-e', PROXY, this.socket]);
    const start = Date.now();
    while (!p.lines.includes('proxy ready')) {
      if (p.child.exitCode !== null) throw new Error(`control proxy exited: ${p.lines.join('\n')}`);
      if (Date.now() - start > 10_000) throw new Error('control proxy did not start within 10 s');
      await sleep(20);
    }
  }

  host(i: number): Host {
    const h = this.hosts[i];
    if (!h) throw new RangeError(`no host ${i}`);
    return h;
  }

  /** run a command inside host i's namespace (`ip netns exec`, which keeps the PID: signals reach the command itself) */
  exec(i: number, name: string, cmd: string, args: string[]): Proc {
    return this.procs.start(name, 'ip', ['netns', 'exec', this.host(i).ns, cmd, ...args]);
  }

  /** run a shell-free command in host i's namespace and wait for it */
  execSync(i: number, cmd: string, args: string[], input?: string): string {
    return run('ip', ['netns', 'exec', this.host(i).ns, cmd, ...args], input);
  }

  /**
   * GET http://<target><path> from the bridge namespace (target `ip:port`). Resolves
   * with status and body; status 0 when the request itself failed or took over 3 s.
   */
  get(target: string, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socket, path: `/${target}${path}`, timeout: 4000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.end();
    });
  }

  /** GET and parse JSON; undefined unless 200 with valid JSON */
  async getJson<T>(target: string, path: string): Promise<T | undefined> {
    const r = await this.get(target, path);
    if (r.status !== 200) return undefined;
    try {
      return JSON.parse(r.body) as T;
    } catch {
      return undefined;
    }
  }

  private nft(i: number, args: string[]): void {
    run('ip', ['netns', 'exec', this.host(i).ns, 'nft', ...args]);
  }

  private addFault(i: number, rule: string[]): void {
    this.nft(i, ['add', 'rule', 'inet', 'rxs', 'faults', ...rule]);
  }

  /** rate as per mille for `numgen random mod 1000 < X` */
  private static perMille(percent: number): number {
    if (!(percent >= 0 && percent <= 100)) throw new RangeError(`loss ${percent} % is not in [0, 100]`);
    return Math.round(percent * 10);
  }

  /** drop `percent` % of every packet arriving at each of these hosts (default: all), UDP and TCP alike */
  loss(percent: number, hosts: readonly number[] = this.hosts.map((h) => h.index)): void {
    const x = NetnsBed.perMille(percent);
    for (const i of hosts) {
      // The first rule counts every packet arriving, so that `arrived()` can tell the rate achieved.
      this.addFault(i, ['counter']);
      this.addFault(i, ['numgen', 'random', 'mod', '1000', '<', String(x), 'counter', 'drop']);
    }
  }

  /** drop `percent` % (default all) of the packets `from` sends to `to`; the other direction is untouched */
  oneWayLoss(from: number, to: number, percent = 100): void {
    const src = this.host(from).ip;
    const x = NetnsBed.perMille(percent);
    if (x >= 1000) this.addFault(to, ['ip', 'saddr', src, 'counter', 'drop']);
    else this.addFault(to, ['ip', 'saddr', src, 'numgen', 'random', 'mod', '1000', '<', String(x), 'counter', 'drop']);
  }

  /** nothing passes between the two groups, in either direction; each group still talks within itself */
  partition(a: readonly number[], b: readonly number[]): void {
    const set = (g: readonly number[]) => `{ ${g.map((i) => this.host(i).ip).join(', ')} }`;
    for (const i of a) this.addFault(i, ['ip', 'saddr', set(b), 'counter', 'drop']);
    for (const i of b) this.addFault(i, ['ip', 'saddr', set(a), 'counter', 'drop']);
  }

  /** remove every fault on every host */
  heal(): void {
    for (const h of this.hosts) this.nft(h.index, ['flush', 'chain', 'inet', 'rxs', 'faults']);
  }

  /** the fault rules now in force on host i, one per line (for logs and assertions) */
  faults(i: number): string[] {
    const out = run('ip', ['netns', 'exec', this.host(i).ns, 'nft', 'list', 'chain', 'inet', 'rxs', 'faults']);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('table') && !l.startsWith('chain') && l !== '}');
  }

  /** packets the fault rules have dropped on host i since they were added */
  dropped(i: number): number {
    let n = 0;
    for (const rule of this.faults(i)) if (rule.endsWith(' drop')) n += Number(/counter packets (\d+)/.exec(rule)?.[1] ?? 0);
    return n;
  }

  /** packets that arrived at host i (dropped or not) since loss() was set on it; 0 without loss() */
  arrived(i: number): number {
    const rule = this.faults(i).find((r) => r.startsWith('counter '));
    return Number(/counter packets (\d+)/.exec(rule ?? '')?.[1] ?? 0);
  }

  /** give host i another address on eth0 (to restart a process "somewhere else") */
  addAddress(i: number, ip: string): void {
    run('ip', ['-n', this.host(i).ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  }

  /** kill every process and wait for it to exit, then destroy() */
  async close(): Promise<void> {
    await this.procs.killAll();
    this.destroy();
  }

  /** kill every process (by PID), delete every namespace; idempotent, synchronous */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    for (const p of this.procs.procs) {
      if (p.child.exitCode === null && p.child.signalCode === null && p.child.pid) {
        try {
          process.kill(p.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const h of this.hosts) removeNamespace(h.ns);
    removeNamespace(this.sw);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** names of this bed's namespaces still present (empty after destroy()) */
  leftovers(): string[] {
    const mine = new Set([this.sw, ...this.hosts.map((h) => h.ns)]);
    return listNamespaces().filter((n) => mine.has(n));
  }
}
