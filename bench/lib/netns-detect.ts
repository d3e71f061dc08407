// Crash detection and false failures on the real network-namespace bed
// (test/helpers/netns.ts), one agent per host: Serf 0.8 (`serf agent`, lan), rxswim
// `--profile lan` and rxswim `--profile adaptive`. Used by bench/netns-detect.ts.
//
// Everything is measured from outside the agents: each stdout/stderr line is stamped
// with performance.now() as it arrives, and a failure (or suspicion) is the first line
// that says so — Serf's `EventMemberFailed: <name>` and memberlist's `Suspect <name> has
// failed, no acks received` (info level), rxswim's JSON event lines (`"event":"failed"`,
// `"event":"suspected"`). Views (who lists whom alive) are polled only to wait for a
// converged cluster: rxswim through the bed's control proxy, Serf with `serf members`
// run inside the host's namespace against its RPC on that namespace's 127.0.0.1.
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { NetnsBed } from '../../test/helpers/netns.js';
import { kill, type MemberRow, type Proc } from '../../test/helpers/procs.js';
import { median, sleep } from './stats.js';

export type Impl = 'serf' | 'rxswim-lan' | 'rxswim-adaptive';
export const IMPLS: readonly Impl[] = ['serf', 'rxswim-lan', 'rxswim-adaptive'];

const GOSSIP_PORT = 7946;
const HTTP_PORT = 8946;
const SERF_RPC = '127.0.0.1:7373';
const POLL_MS = 500;

export interface Report {
  /** performance.now() when the line arrived */
  at: number;
  observer: string;
  subject: string;
  kind: 'failed' | 'suspected';
}

interface Agent {
  name: string;
  host: number;
  proc: Proc;
}

const SERF_FAILED = /EventMemberFailed: (\S+)/;
const SERF_SUSPECT = /memberlist: Suspect (\S+) has failed, no acks received/;

/** the failure or suspicion a log line reports, if any */
export function parseLine(impl: Impl, line: string): { subject: string; kind: Report['kind'] } | undefined {
  if (impl === 'serf') {
    const f = SERF_FAILED.exec(line);
    if (f) return { subject: f[1]!, kind: 'failed' };
    const s = SERF_SUSPECT.exec(line);
    return s ? { subject: s[1]!, kind: 'suspected' } : undefined;
  }
  if (!line.startsWith('{')) return undefined;
  try {
    const e = JSON.parse(line) as { event?: string; member?: { name?: string } };
    if ((e.event === 'failed' || e.event === 'suspected') && typeof e.member?.name === 'string') return { subject: e.member.name, kind: e.event };
  } catch {
    // not a log line
  }
  return undefined;
}

/** one cluster of one implementation on the bed, an agent per host */
export class Cluster {
  readonly agents: Agent[] = [];
  readonly reports: Report[] = [];
  /** `serf members` processes in flight, killed by PID on stop() */
  private readonly polls = new Set<ChildProcess>();

  constructor(
    private readonly bed: NetnsBed,
    readonly impl: Impl,
    private readonly cli: string,
  ) {}

  get n(): number {
    return this.bed.hosts.length;
  }

  nameOf(host: number): string {
    return `${{ serf: 'sf', 'rxswim-lan': 'rl', 'rxswim-adaptive': 'ra' }[this.impl]}-${host}`;
  }

  private startAgent(host: number, joins: readonly number[]): Agent {
    const name = this.nameOf(host);
    const ip = this.bed.host(host).ip;
    const proc =
      this.impl === 'serf'
        ? this.bed.exec(host, name, 'serf', ['agent', `-node=${name}`, `-bind=${ip}:${GOSSIP_PORT}`, `-rpc-addr=${SERF_RPC}`, '-log-level=info', ...joins.map((j) => `-join=${this.bed.host(j).ip}:${GOSSIP_PORT}`)])
        : this.bed.exec(host, name, process.execPath, [
            this.cli, 'agent', '--node', name, '--bind', `${ip}:${GOSSIP_PORT}`, '--http', `${ip}:${HTTP_PORT}`, '--log-format', 'json',
            '--profile', this.impl === 'rxswim-lan' ? 'lan' : 'adaptive', ...joins.flatMap((j) => ['--join', `${this.bed.host(j).ip}:${GOSSIP_PORT}`]),
          ]);
    // A second reader on the same pipes: ProcGroup keeps the text, this one the arrival time.
    const stamp = (line: string) => {
      const at = performance.now();
      const r = parseLine(this.impl, line);
      if (r) this.reports.push({ at, observer: name, ...r });
    };
    createInterface({ input: proc.child.stdout! }).on('line', stamp);
    createInterface({ input: proc.child.stderr! }).on('line', stamp);
    const a = { name, host, proc };
    this.agents[host] = a;
    return a;
  }

  /** the names host `host`'s agent lists with their states (rxswim's words: alive, suspect, dead, left); undefined when it does not answer */
  async view(host: number): Promise<Map<string, string> | undefined> {
    if (this.impl !== 'serf') {
      const ms = await this.bed.getJson<MemberRow[]>(`${this.bed.host(host).ip}:${HTTP_PORT}`, '/v1/members');
      return ms ? new Map(ms.map((m) => [m.name, m.state])) : undefined;
    }
    const out = await new Promise<string | undefined>((resolve) => {
      const c = execFile('ip', ['netns', 'exec', this.bed.host(host).ns, 'serf', 'members', `-rpc-addr=${SERF_RPC}`, '-format=json'], { timeout: 5000, encoding: 'utf8' }, (err, stdout) => {
        this.polls.delete(c);
        resolve(err ? undefined : stdout);
      });
      this.polls.add(c);
    });
    if (out === undefined) return undefined;
    try {
      const rows = (JSON.parse(out) as { members: Array<{ name: string; status: string }> }).members;
      return new Map(rows.map((m) => [m.name, m.status === 'failed' ? 'dead' : m.status]));
    } catch {
      return undefined;
    }
  }

  views(): Promise<Array<Map<string, string> | undefined>> {
    return Promise.all(this.agents.map((a) => this.view(a.host)));
  }

  /** wait until every agent lists all n alive; ms it took */
  async waitAllAlive(what: string, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    const names = this.agents.map((a) => a.name);
    let last: Array<Map<string, string> | undefined> = [];
    while (Date.now() - t0 < timeoutMs) {
      last = await this.views();
      if (last.length === this.n && last.every((v) => v !== undefined && v.size === this.n && names.every((n) => v.get(n) === 'alive'))) return Date.now() - t0;
      await sleep(POLL_MS);
    }
    const bad = last.flatMap((v, i) => (v ? [...v].filter(([, s]) => s !== 'alive').map(([m, s]) => `${names[i]} sees ${m} ${s}`).concat(v.size === this.n ? [] : [`${names[i]} lists ${v.size}`]) : [`${names[i]} does not answer`]));
    throw new Error(`${this.impl}: timed out after ${timeoutMs} ms waiting for ${what}: ${bad.slice(0, 12).join('; ')}`);
  }

  /**
   * Host 0 first, then 1..n-2 joining it, then the last joining all of them (push-pull
   * both ways: everyone has the full list at once, as in test/faults). ms until every
   * agent lists n alive after the last started.
   */
  async start(): Promise<number> {
    this.startAgent(0, []);
    const t = Date.now();
    while (!(await this.view(0))) {
      if (Date.now() - t > 20_000) throw new Error(`${this.impl}: the first agent's API did not answer in 20 s`);
      await sleep(200);
    }
    for (let i = 1; i < this.n - 1; i++) this.startAgent(i, [0]);
    this.startAgent(this.n - 1, Array.from({ length: this.n - 1 }, (_, i) => i));
    return this.waitAllAlive(`all ${this.n} agents to list ${this.n} alive`, 90_000);
  }

  /** kill -9 host's agent and wait for it to exit; performance.now() just before the signal */
  async crash(host: number): Promise<number> {
    const a = this.agents[host]!;
    const exited = new Promise<void>((r) => (a.proc.child.exitCode !== null || a.proc.child.signalCode !== null ? r() : a.proc.child.once('exit', () => r())));
    const t0 = performance.now();
    a.proc.child.kill('SIGKILL');
    await exited;
    return t0;
  }

  /** start host's agent again (same name, same address), joining every other host */
  restart(host: number): void {
    this.startAgent(host, this.agents.filter((a) => a.host !== host).map((a) => a.host));
  }

  pid(host: number): number {
    return this.agents[host]!.proc.child.pid!;
  }

  reportsBetween(from: number, to: number): Report[] {
    return this.reports.filter((r) => r.at >= from && r.at <= to);
  }

  /** SIGCONT (in case), then SIGKILL every agent and wait; kills `serf members` polls in flight */
  async stop(): Promise<void> {
    for (const c of this.polls) if (c.pid) tryKill(c.pid, 'SIGKILL');
    this.polls.clear();
    for (const a of this.agents) if (a.proc.child.pid) tryKill(a.proc.child.pid, 'SIGCONT');
    await Promise.all(this.agents.map((a) => kill(a.proc, 'SIGKILL')));
  }
}

export function tryKill(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export interface BuildInfo {
  /** HEAD when the run started */
  head: string | null;
  /** files of src/ and machines/ that differ from HEAD (`git status --porcelain`) */
  uncommitted: string[];
  /** files of src/ and machines/ modified after dist/cli/main.js was built: the build does not hold them */
  newerThanBuild: string[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** what the measured CLI was built from, as far as can be told: the report says so when the build is older than the source */
export function buildInfo(cli: string): BuildInfo {
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 5000 });
  const head = git(['rev-parse', '--short', 'HEAD']);
  const status = git(['status', '--porcelain', '--', 'src', 'machines']);
  const builtMs = statSync(cli).mtimeMs;
  const newerThanBuild = ['src', 'machines']
    .flatMap((d) => filesUnder(join(ROOT, d)))
    .filter((f) => statSync(f).mtimeMs > builtMs)
    .map((f) => f.slice(ROOT.length));
  return {
    head: head.status === 0 ? head.stdout.trim() : null,
    uncommitted: status.status === 0 ? status.stdout.split('\n').filter((l) => l.trim().length > 0).map((l) => l.slice(3)) : [],
    newerThanBuild,
  };
}

// ---------------------------------------------------------------- measurements

export interface CrashRep {
  rep: number;
  victim: string;
  /** ms from just before kill -9 to each observer's first failure line for the victim (null: not within the wait) */
  perObserverMs: Record<string, number | null>;
  /** the last observer (every member has it failed); null if one never did */
  everyMs: number | null;
  /** the median observer */
  medianMs: number | null;
  /** failure lines for other members during the rep (all false) */
  otherFailures: string[];
  /** ms from the restart until all n list all n alive */
  rejoinMs: number | null;
}

/** kill -9 `victim`, wait for every other agent to log it failed (up to waitMs), restart it, wait for everyone alive, settle */
export async function crashRep(c: Cluster, rep: number, victim: number, waitMs: number, settleMs: number, log: (s: string) => void): Promise<CrashRep> {
  const name = c.nameOf(victim);
  const observers = c.agents.filter((a) => a.host !== victim).map((a) => a.name);
  const t0 = await c.crash(victim);
  const first = (o: string) => c.reports.find((r) => r.at >= t0 && r.kind === 'failed' && r.subject === name && r.observer === o);
  while (performance.now() - t0 < waitMs && !observers.every((o) => first(o))) await sleep(50);
  const tEnd = performance.now();
  const perObserverMs: Record<string, number | null> = {};
  for (const o of observers) {
    const r = first(o);
    perObserverMs[o] = r ? Math.round(r.at - t0) : null;
  }
  const got = Object.values(perObserverMs).filter((v): v is number => v !== null);
  const everyMs = got.length === observers.length ? Math.max(...got) : null;
  const medianMs = got.length * 2 > observers.length ? Math.round(median(observers.map((o) => perObserverMs[o] ?? Infinity))) : null;
  const otherFailures = c
    .reportsBetween(t0, tEnd)
    .filter((r) => r.kind === 'failed' && r.subject !== name)
    .map((r) => `${r.observer}: ${r.subject} failed at +${Math.round(r.at - t0)} ms`);
  log(`${c.impl} rep ${rep}: kill -9 ${name}; every member ${everyMs ?? 'NOT all'} ms, median observer ${medianMs} ms${otherFailures.length ? `; other failures: ${otherFailures.join(', ')}` : ''}`);
  c.restart(victim);
  let rejoinMs: number | null = null;
  try {
    rejoinMs = await c.waitAllAlive(`${name} alive again everywhere`, 90_000);
  } catch (e) {
    log(String((e as Error).message));
  }
  await sleep(settleMs);
  return { rep, victim: name, perObserverMs, everyMs, medianMs, otherFailures, rejoinMs };
}

export interface FaultCounts {
  /** failure lines of healthy members, by healthy observers */
  healthyFailed: number;
  healthySuspected: number;
  /** failure / suspicion lines of the slow node, by the others (slow-node runs) */
  slowFailed: number;
  slowSuspected: number;
  /** what the slow node itself logged about the others */
  bySlowFailed: number;
  bySlowSuspected: number;
  /** every failure line, observer: subject +ms */
  failures: string[];
}

export interface LossRun extends FaultCounts {
  seconds: number;
  /** per host: packets arriving, packets the loss rule dropped (nft counters) */
  perHost: Array<{ host: number; arrived: number; dropped: number }>;
  dropRate: number;
  /** the fault rules of host 0 as nft listed them just before the heal */
  rules: string[];
  /** ms after the heal (plus grace) until everyone lists everyone alive */
  recoveredMs: number | null;
}

export interface SlowRun extends FaultCounts {
  seconds: number;
  slowNode: string;
  /** stop/continue cycles done, and the measured stopped share of the window (from the signal times) */
  cycles: number;
  stoppedShare: number;
  /** /proc/PID/status State of the slow agent right after the last SIGCONT */
  stateAfter: string;
  recoveredMs: number | null;
}

function count(c: Cluster, from: number, to: number, slow: string | null): FaultCounts {
  const rs = c.reportsBetween(from, to);
  const healthy = (r: Report) => r.observer !== slow && r.subject !== slow;
  const n = (f: (r: Report) => boolean) => rs.filter(f).length;
  return {
    healthyFailed: n((r) => healthy(r) && r.kind === 'failed'),
    healthySuspected: n((r) => healthy(r) && r.kind === 'suspected'),
    slowFailed: n((r) => r.subject === slow && r.kind === 'failed'),
    slowSuspected: n((r) => r.subject === slow && r.kind === 'suspected'),
    bySlowFailed: n((r) => r.observer === slow && r.kind === 'failed'),
    bySlowSuspected: n((r) => r.observer === slow && r.kind === 'suspected'),
    failures: rs.filter((r) => r.kind === 'failed').map((r) => `${r.observer}: ${r.subject} +${Math.round(r.at - from)} ms`),
  };
}

/** 10 % loss on every host's input for `ms`, then heal; failure lines counted from the start until `graceMs` after the heal */
export async function lossRun(bed: NetnsBed, c: Cluster, percent: number, ms: number, graceMs: number, log: (s: string) => void): Promise<LossRun> {
  const from = performance.now();
  let perHost: LossRun['perHost'] = [];
  let rules: string[] = [];
  try {
    bed.loss(percent);
    await sleep(ms);
    perHost = bed.hosts.map((h) => ({ host: h.index, arrived: bed.arrived(h.index), dropped: bed.dropped(h.index) }));
    rules = bed.faults(0);
  } finally {
    bed.heal();
  }
  await sleep(graceMs);
  const counts = count(c, from, performance.now(), null);
  const arrived = perHost.reduce((s, h) => s + h.arrived, 0);
  const dropped = perHost.reduce((s, h) => s + h.dropped, 0);
  let recoveredMs: number | null = null;
  try {
    recoveredMs = await c.waitAllAlive('everyone alive after the loss', 90_000);
  } catch (e) {
    log((e as Error).message);
  }
  const dropRate = arrived > 0 ? dropped / arrived : 0;
  log(`${c.impl} ${percent} % loss ${ms / 1000} s: nft dropped ${dropped} of ${arrived} (${(dropRate * 100).toFixed(1)} %); failed ${counts.healthyFailed}, suspected ${counts.healthySuspected}`);
  return { seconds: ms / 1000, perHost, dropRate, rules, recoveredMs, ...counts };
}

/** e.g. `S (sleeping)` or `T (stopped)`, from /proc/PID/status */
function procState(pid: number): string {
  try {
    return /State:\s+(\S+ \S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return 'gone';
  }
}

/**
 * The slow node: `host`'s agent SIGSTOPped for `stopMs` of every `periodMs`, by PID, for
 * `ms`; always SIGCONTed at the end. Failure lines counted from the start until
 * `graceMs` after the last SIGCONT.
 */
export async function slowRun(c: Cluster, host: number, stopMs: number, periodMs: number, ms: number, graceMs: number, log: (s: string) => void): Promise<SlowRun> {
  const pid = c.pid(host);
  const slow = c.nameOf(host);
  const from = performance.now();
  let cycles = 0;
  let stopped = 0;
  let stateAfter = '?';
  try {
    // An absolute schedule, so that late timers on a busy machine do not stretch the period.
    while ((cycles + 1) * periodMs <= ms) {
      const cycleAt = from + cycles * periodMs;
      await sleep(cycleAt - performance.now());
      const s = performance.now();
      if (!tryKill(pid, 'SIGSTOP')) throw new Error(`${slow} (PID ${pid}) is gone`);
      await sleep(cycleAt + stopMs - performance.now());
      tryKill(pid, 'SIGCONT');
      stopped += performance.now() - s;
      cycles++;
    }
  } finally {
    tryKill(pid, 'SIGCONT');
    stateAfter = procState(pid);
  }
  const window = performance.now() - from;
  await sleep(Math.max(0, from + ms - performance.now()) + graceMs);
  const counts = count(c, from, performance.now(), slow);
  let recoveredMs: number | null = null;
  try {
    recoveredMs = await c.waitAllAlive('everyone alive after the slow node', 90_000);
  } catch (e) {
    log((e as Error).message);
  }
  const stoppedShare = stopped / window;
  log(`${c.impl} slow node ${slow} ${cycles} cycles (stopped ${(stoppedShare * 100).toFixed(0)} % of the time, state after: ${stateAfter}): healthy failed ${counts.healthyFailed}, slow node failed ${counts.slowFailed}, by the slow node ${counts.bySlowFailed}`);
  return { seconds: ms / 1000, slowNode: slow, cycles, stoppedShare, stateAfter, recoveredMs, ...counts };
}
