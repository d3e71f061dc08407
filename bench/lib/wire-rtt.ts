// Ping→ack round trip inside a real cluster at SWIM's own rate (one probe per agent per
// second, lan profile), taken from the wire instead of from a driver: tcpdump captures
// the loopback traffic of N agents of one implementation, and each `ping` from A to B is
// paired with B's `ack` (same seqNo) by their kernel timestamps. So the figure is B's
// receive → ack path as the kernel sees it, without the bench process (or A's event loop)
// in it, and at the rate the agents really run, where an idle event loop has to wake up
// for each ping (the 2 ms hot loop of lib/rtt.ts keeps it warm). A bare Node UDP echo at
// the same rate is the floor for any Node implementation.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kill, ProcGroup, type Proc } from '../../test/helpers/procs.js';
import { decodePacket } from '../../src/wire/packet.js';
import { agentNodeArgs, letAgentsExit } from './cluster.js';
import { httpJson } from './http.js';
import { SerfRpc } from './serf-rpc.js';
import { medianOf, percentile, ratio, round, sleep } from './stats.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const GOSSIP_PORT = 7946;
export const HTTP_PORT = 8946;
export const SERF_RPC_PORT = 7373;

export type WireImpl = 'rxswim' | 'serf' | 'echo';
export const WIRE_IMPLS: readonly WireImpl[] = ['rxswim', 'serf', 'echo'];

// ---------------------------------------------------------------- processes

/**
 * Every group started by these benches, so that an entry script's deadline or signal
 * handler can kill whatever is still running (by PID, through ProcGroup).
 */
const live = new Set<ProcGroup>();

export function trackGroup(): ProcGroup {
  const g = new ProcGroup();
  live.add(g);
  return g;
}

export async function releaseGroup(g: ProcGroup): Promise<void> {
  await letAgentsExit(g);
  await g.killAll();
  live.delete(g);
}

export async function killLive(): Promise<void> {
  await Promise.all([...live].map((g) => g.killAll()));
  live.clear();
}

const exited = (p: Proc): boolean => p.child.exitCode !== null || p.child.signalCode !== null;

/** a signal, then SIGKILL if the process has not exited within `graceMs` */
export async function stop(p: Proc, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (exited(p)) return;
  const done = kill(p, signal);
  const timedOut = await Promise.race([done.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) await kill(p, 'SIGKILL');
}

/**
 * The other engineer rebuilds dist/ while benches run; a missing CLI is waited for
 * (bounded) rather than built here, so two builds never race.
 */
export async function waitForCli(timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!existsSync(CLI)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${CLI} missing for ${timeoutMs / 1000} s (npm run build)`);
    await sleep(1000);
  }
  // a rebuild may be writing it right now: give it a moment to be complete
  await sleep(500);
}

export function startRxswim(g: ProcGroup, name: string, ip: string): Proc {
  return g.start(name, process.execPath, [...agentNodeArgs(), CLI, 'agent', '--node', name, '--bind', `${ip}:${GOSSIP_PORT}`, '--http', `${ip}:${HTTP_PORT}`, '--log-level', 'warn', '--profile', 'lan']);
}

/** Serf's default profile is lan (memberlist.DefaultLANConfig) */
export function startSerf(g: ProcGroup, name: string, ip: string): Proc {
  return g.start(name, 'serf', ['agent', `-node=${name}`, `-bind=${ip}:${GOSSIP_PORT}`, `-rpc-addr=${ip}:${SERF_RPC_PORT}`, '-log-level=err']);
}

export function run(cmd: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', cwd: ROOT }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() }));
  });
}

/** names an agent lists, with their states; undefined when it does not answer */
export async function listMembers(impl: 'rxswim' | 'serf', ip: string, rpc: { c?: SerfRpc }, timeoutMs = 2000): Promise<Array<{ name: string; state: string }> | undefined> {
  try {
    if (impl === 'serf') {
      if (!rpc.c || !rpc.c.isOpen) rpc.c = await SerfRpc.connect(`${ip}:${SERF_RPC_PORT}`, 1000);
      return (await rpc.c.members(timeoutMs)).map((m) => ({ name: m.name, state: m.status }));
    }
    return (await httpJson('GET', `${ip}:${HTTP_PORT}`, '/v1/members', undefined, timeoutMs)) as Array<{ name: string; state: string }>;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- pcap

export interface Datagram {
  /** kernel timestamp, µs since the epoch */
  tsUs: number;
  src: string;
  dst: string;
  payload: Uint8Array;
}

export interface PcapUdp {
  linktype: number;
  datagrams: Datagram[];
  /** records that were not IPv4/UDP, fragments, or cut short by the snap length */
  skipped: number;
}

// DLT_ values (pcap-linktype(7)); DLT_RAW is 12 or 14 on some BSDs and 101 as LINKTYPE_RAW
const DLT_NULL = 0;
const DLT_EN10MB = 1;
const DLT_RAW = new Set([12, 14, 101]);
const DLT_LINUX_SLL = 113;

/**
 * UDP datagrams from a libpcap file (not pcapng): the 24-byte global header, then per
 * packet a 16-byte record header and the captured bytes, whose link layer depends on the
 * global header's linktype. Only what this bench captures is handled: IPv4, unfragmented.
 */
export function readPcapUdp(file: Uint8Array): PcapUdp {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 24) throw new Error(`pcap: ${buf.length} bytes, shorter than the global header`);
  const magicLE = buf.readUInt32LE(0);
  let little: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) [little, nano] = [true, magicLE === 0xa1b23c4d];
  else if (buf.readUInt32BE(0) === 0xa1b2c3d4 || buf.readUInt32BE(0) === 0xa1b23c4d) [little, nano] = [false, buf.readUInt32BE(0) === 0xa1b23c4d];
  else throw new Error(`pcap: unknown magic 0x${magicLE.toString(16)} (pcapng is not read here)`);
  const u32 = (at: number) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  // the top bits of the linktype field may carry FCS information (pcap-savefile(5))
  const linktype = u32(20) & 0x0fffffff;
  const datagrams: Datagram[] = [];
  let skipped = 0;
  let at = 24;
  while (at + 16 <= buf.length) {
    const sec = u32(at);
    const frac = u32(at + 4);
    const incl = u32(at + 8);
    const start = at + 16;
    at = start + incl;
    if (at > buf.length) break; // the last record was cut off (tcpdump killed mid-write)
    const tsUs = sec * 1e6 + (nano ? frac / 1000 : frac);
    let ip: number;
    if (linktype === DLT_EN10MB) {
      if (incl < 14 || buf.readUInt16BE(start + 12) !== 0x0800) {
        skipped++;
        continue;
      }
      ip = start + 14;
    } else if (linktype === DLT_NULL) {
      // the address family in the capturing host's byte order; AF_INET is 2 everywhere
      if (incl < 4 || (buf.readUInt32LE(start) !== 2 && buf.readUInt32BE(start) !== 2)) {
        skipped++;
        continue;
      }
      ip = start + 4;
    } else if (linktype === DLT_LINUX_SLL) {
      if (incl < 16 || buf.readUInt16BE(start + 14) !== 0x0800) {
        skipped++;
        continue;
      }
      ip = start + 16;
    } else if (DLT_RAW.has(linktype)) {
      ip = start;
    } else {
      throw new Error(`pcap: linktype ${linktype} is not handled`);
    }
    const end = start + incl;
    if (ip + 20 > end || buf[ip]! >> 4 !== 4 || buf[ip + 9] !== 17) {
      skipped++;
      continue;
    }
    const ihl = (buf[ip]! & 15) * 4;
    // MF flag or a fragment offset: this bench's datagrams are far below the MTU of lo
    if ((buf.readUInt16BE(ip + 6) & 0x3fff) !== 0) {
      skipped++;
      continue;
    }
    const udp = ip + ihl;
    if (udp + 8 > end) {
      skipped++;
      continue;
    }
    const udpLen = buf.readUInt16BE(udp + 4);
    if (udp + udpLen > end) {
      skipped++;
      continue;
    }
    const addr = (o: number) => `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
    datagrams.push({
      tsUs,
      src: `${addr(ip + 12)}:${buf.readUInt16BE(udp)}`,
      dst: `${addr(ip + 16)}:${buf.readUInt16BE(udp + 2)}`,
      payload: buf.subarray(udp + 8, udp + udpLen),
    });
  }
  return { linktype, datagrams, skipped };
}

export interface Pairing {
  /** µs, ack timestamp − ping timestamp */
  rtts: number[];
  pings: number;
  /** pings sent more than 1 s before the capture ended that got no reply in it */
  unanswered: number;
  /** indirect pings seen (not paired; only a probe that failed over UDP sends them) */
  indirect: number;
  datagrams: number;
  decodeErrors: number;
}

/**
 * Pings paired with acks by (pinger, pinged, seqNo): memberlist's ack goes back from
 * the pinged node's socket to the pinger's with the ping's seqNo. A ping may travel
 * inside a compound or compressed packet with gossip; decodePacket unwraps both.
 */
export function pairPingAck(datagrams: readonly Datagram[]): Pairing {
  const sent = new Map<string, { ts: number; acked: boolean }>();
  const rtts: number[] = [];
  let indirect = 0;
  let decodeErrors = 0;
  let last = 0;
  for (const d of datagrams) {
    last = Math.max(last, d.tsUs);
    const { messages, errors } = decodePacket(d.payload);
    decodeErrors += errors.length;
    for (const m of messages) {
      if (m.type === 'ping') {
        const key = `${d.src}>${d.dst}#${m.seqNo}`;
        if (!sent.has(key)) sent.set(key, { ts: d.tsUs, acked: false });
      } else if (m.type === 'ack') {
        const p = sent.get(`${d.dst}>${d.src}#${m.seqNo}`);
        if (p && !p.acked) {
          p.acked = true;
          rtts.push(d.tsUs - p.ts);
        }
      } else if (m.type === 'indirectPing') indirect++;
    }
  }
  let unanswered = 0;
  for (const p of sent.values()) if (!p.acked && p.ts < last - 1e6) unanswered++;
  return { rtts, pings: sent.size, unanswered, indirect, datagrams: datagrams.length, decodeErrors };
}

/** The echo baseline: a request and its reply carry the same bytes in opposite directions. */
export function pairEcho(datagrams: readonly Datagram[]): Pairing {
  const sent = new Map<string, { ts: number; acked: boolean }>();
  const rtts: number[] = [];
  let last = 0;
  for (const d of datagrams) {
    last = Math.max(last, d.tsUs);
    const body = Buffer.from(d.payload).toString('latin1');
    const reply = sent.get(`${d.dst}>${d.src}|${body}`);
    if (reply) {
      if (!reply.acked) {
        reply.acked = true;
        rtts.push(d.tsUs - reply.ts);
      }
      continue;
    }
    const key = `${d.src}>${d.dst}|${body}`;
    if (!sent.has(key)) sent.set(key, { ts: d.tsUs, acked: false });
  }
  let unanswered = 0;
  for (const p of sent.values()) if (!p.acked && p.ts < last - 1e6) unanswered++;
  return { rtts, pings: sent.size, unanswered, indirect: 0, datagrams: datagrams.length, decodeErrors: 0 };
}

// ---------------------------------------------------------------- capture

export interface Capture {
  file: string;
  /** tcpdump's own account at exit ("N packets dropped by kernel") */
  droppedByKernel: number | null;
  stop: () => Promise<void>;
}

/** tcpdump on lo, kernel (host) timestamps in µs: lo offers no other time stamp type */
export async function startCapture(g: ProcGroup, dir: string, filter: string): Promise<Capture> {
  const file = join(dir, `cap-${Date.now()}.pcap`);
  // -U: write each packet as it comes, so a SIGKILL at the deadline still leaves a readable file
  const p = g.start('tcpdump', '/usr/bin/tcpdump', ['-i', 'lo', '-n', '-U', '-B', '8192', '--time-stamp-precision=micro', '-w', file, filter]);
  const t0 = Date.now();
  while (!p.lines.some((l) => l.includes('listening on'))) {
    if (exited(p)) throw new Error(`tcpdump exited: ${p.lines.join(' | ')}`);
    if (Date.now() - t0 > 10_000) throw new Error(`tcpdump not listening after 10 s: ${p.lines.join(' | ')}`);
    await sleep(50);
  }
  const cap: Capture = {
    file,
    droppedByKernel: null,
    stop: async () => {
      await stop(p, 'SIGINT', 5000);
      const m = p.lines.map((l) => /^(\d+) packets? dropped by kernel/.exec(l)).find((x) => x);
      cap.droppedByKernel = m ? Number(m[1]) : null;
    },
  };
  return cap;
}

// ---------------------------------------------------------------- the phases

export interface WireRttRep {
  impl: WireImpl;
  rep: number;
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  maxUs: number | null;
  count: number;
  pings: number;
  unanswered: number;
  indirect: number;
  datagrams: number;
  decodeErrors: number;
  droppedByKernel: number | null;
  /** ms from starting the processes to the cluster converged (echo: all bound) */
  setupMs: number | null;
  load: [number, number];
  error: string | null;
}

export interface WireRttFigures {
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  maxUs: number | null;
  /** median of the per-repetition sample counts */
  count: number | null;
  reps: number;
}

export interface WireRttResult {
  n: number;
  seconds: number;
  reps: number;
  ipBase: string;
  startedAt: string;
  durationS: number;
  /** how the echo baseline was driven */
  echo: string;
  runs: WireRttRep[];
  /** medians of the per-repetition figures */
  median: Record<WireImpl, WireRttFigures>;
  ratio: {
    /** rxswim p50 / echo p50 */
    rxswimEchoP50: number | null;
    /** rxswim p99 / serf p99 */
    rxswimSerfP99: number | null;
    rxswimSerfP50: number | null;
    serfEchoP50: number | null;
  };
  errors: string[];
}

/** the echo process: every datagram goes back to where it came from, unchanged */
const ECHO_JS = "const s=require('node:dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(+process.argv[2],process.argv[1],()=>console.log('bound'));";
/**
 * The pinger: one datagram per target per second, the targets' slots spread evenly over
 * the second (as N agents' probe timers fall at unrelated phases). 64 bytes, about a
 * memberlist ping with its source fields; the sequence number makes each one unique.
 * Deadlines, not setInterval, so the schedule does not drift.
 */
const PINGER_JS = `const s=require('node:dgram').createSocket('udp4');const [ip,port,...t]=process.argv.slice(1);
s.bind(+port,ip,()=>{console.log('bound');const t0=performance.now()+50;let i=0;const slot=1000/t.length;
const tick=()=>{const k=i%t.length,r=Math.floor(i/t.length);s.send(Buffer.from(('echo-ping '+t[k]+' '+r).padEnd(64,'.')),+port,t[k]);i++;
const due=t0+Math.floor(i/t.length)*1000+(i%t.length)*slot;setTimeout(tick,Math.max(0,due-performance.now()));};setTimeout(tick,50);});`;

async function until(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>, everyMs = 200): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

function failIfExited(procs: Proc[]): void {
  for (const p of procs) if (exited(p)) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.lines.slice(-5).join(' | ')}`);
}

/** N agents joined into one cluster, every one listing all N alive */
async function startCluster(g: ProcGroup, impl: 'rxswim' | 'serf', ips: string[], tag: string): Promise<Array<{ c?: SerfRpc }>> {
  if (impl === 'rxswim') await waitForCli();
  const names = ips.map((_, i) => `${impl === 'rxswim' ? 'rx' : 'serf'}-${tag}-${i}`);
  const procs = ips.map((ip, i) => (impl === 'rxswim' ? startRxswim(g, names[i]!, ip) : startSerf(g, names[i]!, ip)));
  const rpcs: Array<{ c?: SerfRpc }> = ips.map(() => ({}));
  await until(`${impl} agents answering`, 30_000, async () => {
    failIfExited(procs);
    const views = await Promise.all(ips.map((ip, i) => listMembers(impl, ip, rpcs[i]!)));
    return views.every((v) => v !== undefined);
  });
  const seed = `${ips[0]}:${GOSSIP_PORT}`;
  const joins = await Promise.all(
    ips.slice(1).map(async (ip) => {
      if (impl === 'serf') {
        const r = await run('serf', ['join', `-rpc-addr=${ip}:${SERF_RPC_PORT}`, seed], 15_000);
        return r.ok ? '' : `${ip}: ${r.out}`;
      }
      try {
        await httpJson('POST', `${ip}:${HTTP_PORT}`, '/v1/join', { seeds: [seed] }, 15_000);
        return '';
      } catch (e) {
        return `${ip}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }),
  );
  const failed = joins.filter((j) => j !== '');
  if (failed.length) throw new Error(`${impl} joins failed: ${failed.join('; ')}`);
  // Serf at times leaves one view incomplete until a push-pull (30 s) repairs it.
  await until(`${impl} cluster of ${ips.length} converged`, 90_000, async () => {
    failIfExited(procs);
    const views = await Promise.all(ips.map((ip, i) => listMembers(impl, ip, rpcs[i]!)));
    return views.every((v) => v !== undefined && v.filter((m) => m.state === 'alive').length === ips.length);
  });
  return rpcs;
}

function figures(rtts: number[]): Pick<WireRttRep, 'p50Us' | 'p90Us' | 'p99Us' | 'maxUs' | 'count'> {
  const r = (p: number) => (rtts.length ? round(percentile(rtts, p), 1) : null);
  return { p50Us: r(50), p90Us: r(90), p99Us: r(99), maxUs: rtts.length ? round(Math.max(...rtts), 1) : null, count: rtts.length };
}

async function onePhase(impl: WireImpl, rep: number, ips: string[], opts: { n: number; seconds: number; ipBase: string; log: (s: string) => void }, dir: string): Promise<WireRttRep> {
  const load0 = round(loadavg()[0], 2)!;
  const g = trackGroup();
  const base: WireRttRep = { impl, rep, p50Us: null, p90Us: null, p99Us: null, maxUs: null, count: 0, pings: 0, unanswered: 0, indirect: 0, datagrams: 0, decodeErrors: 0, droppedByKernel: null, setupMs: null, load: [load0, load0], error: null };
  const rpcs: Array<{ c?: SerfRpc }> = [];
  try {
    const t0 = Date.now();
    if (impl === 'echo') {
      const echoes = ips.slice(0, opts.n).map((ip, i) => g.start(`echo-${i}`, process.execPath, ['-e', ECHO_JS, ip, String(GOSSIP_PORT)]));
      await until('echo processes bound', 15_000, () => {
        failIfExited(echoes);
        return echoes.every((p) => p.lines.includes('bound'));
      }, 50);
    } else {
      rpcs.push(...(await startCluster(g, impl, ips.slice(0, opts.n), `${rep}`)));
    }
    base.setupMs = Date.now() - t0;
    // the join's gossip and first push-pulls are over; what is captured is the probe cycle
    await sleep(2000);
    const cap = await startCapture(g, dir, `udp and net ${opts.ipBase}.0/24`);
    let pinger: Proc | undefined;
    if (impl === 'echo') {
      pinger = g.start('pinger', process.execPath, ['-e', PINGER_JS, ips[opts.n]!, String(GOSSIP_PORT), ...ips.slice(0, opts.n)]);
    }
    await sleep(opts.seconds * 1000);
    if (pinger) await stop(pinger, 'SIGKILL', 1000);
    await cap.stop();
    base.droppedByKernel = cap.droppedByKernel;
    const pcap = readPcapUdp(readFileSync(cap.file));
    const pairing = impl === 'echo' ? pairEcho(pcap.datagrams) : pairPingAck(pcap.datagrams);
    Object.assign(base, figures(pairing.rtts), { pings: pairing.pings, unanswered: pairing.unanswered, indirect: pairing.indirect, datagrams: pairing.datagrams, decodeErrors: pairing.decodeErrors });
  } catch (e) {
    base.error = e instanceof Error ? e.message : String(e);
  } finally {
    for (const r of rpcs) r.c?.close();
    await releaseGroup(g);
    base.load[1] = round(loadavg()[0], 2)!;
  }
  opts.log(`wire RTT ${impl} rep ${rep + 1}: p50 ${base.p50Us} µs, p90 ${base.p90Us}, p99 ${base.p99Us}, max ${base.maxUs}, ${base.count} pairs of ${base.pings} pings (${base.unanswered} unanswered, ${base.droppedByKernel ?? '?'} dropped by kernel)${base.error ? `; error: ${base.error}` : ''}`);
  return base;
}

/**
 * Repetitions alternate the implementations (rxswim, serf, echo, rxswim, ...), each phase
 * on fresh processes and its own block of addresses in `${ipBase}.0/24`; `deadlineAt`
 * (Date.now() ms) skips the phases that would start after it.
 */
export async function measureWireRtt(opts: { n: number; seconds: number; reps: number; ipBase: string; log: (s: string) => void; deadlineAt?: number }): Promise<WireRttResult> {
  const startedAt = new Date();
  // agents, or echo processes plus the pinger
  const block = opts.n + 2;
  if (opts.reps * WIRE_IMPLS.length * block > 254) throw new Error(`${opts.reps} reps × ${WIRE_IMPLS.length} × ${block} addresses do not fit in ${opts.ipBase}.0/24`);
  const dir = mkdtempSync(join(tmpdir(), 'wire-rtt-'));
  const runs: WireRttRep[] = [];
  const errors: string[] = [];
  try {
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const [k, impl] of WIRE_IMPLS.entries()) {
        if (opts.deadlineAt !== undefined && Date.now() + (opts.seconds + 15) * 1000 > opts.deadlineAt) {
          errors.push(`deadline: ${impl} rep ${rep + 1} and later phases skipped`);
          continue;
        }
        const first = 1 + (rep * WIRE_IMPLS.length + k) * block;
        const ips = Array.from({ length: opts.n + 1 }, (_, i) => `${opts.ipBase}.${first + i}`);
        const r = await onePhase(impl, rep, ips, opts, dir);
        if (r.error) errors.push(`${impl} rep ${rep + 1}: ${r.error}`);
        runs.push(r);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = {} as Record<WireImpl, WireRttFigures>;
  for (const impl of WIRE_IMPLS) {
    const xs = runs.filter((r) => r.impl === impl && r.count > 0);
    const m = (k: 'p50Us' | 'p90Us' | 'p99Us' | 'maxUs' | 'count') => {
      const v = medianOf(xs.map((x) => x[k]));
      return v === null ? null : round(v, 1);
    };
    median[impl] = { p50Us: m('p50Us'), p90Us: m('p90Us'), p99Us: m('p99Us'), maxUs: m('maxUs'), count: m('count'), reps: xs.length };
  }
  return {
    n: opts.n,
    seconds: opts.seconds,
    reps: opts.reps,
    ipBase: opts.ipBase,
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    echo: `${opts.n} echo processes (one Node process each, a dgram socket that sends every datagram back), one pinger process sending each echo a 64-byte datagram once per second, the ${opts.n} slots spread evenly over the second`,
    runs,
    median,
    ratio: {
      rxswimEchoP50: ratio(median.rxswim.p50Us, median.echo.p50Us),
      rxswimSerfP99: ratio(median.rxswim.p99Us, median.serf.p99Us),
      rxswimSerfP50: ratio(median.rxswim.p50Us, median.serf.p50Us),
      serfEchoP50: ratio(median.serf.p50Us, median.echo.p50Us),
    },
    errors,
  };
}

// ---------------------------------------------------------------- report

const f = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const x = (r: number | null | undefined): string => (r === null || r === undefined ? '–' : `${r.toFixed(2)}×`);

export function renderWireRtt(r: WireRttResult): string {
  const out: string[] = [];
  const m = r.median;
  out.push('## Wire ping→ack RTT at 1 probe/s (tcpdump)');
  out.push('');
  out.push(
    `N = ${r.n} agents of one implementation at a time form a cluster on loopback (rxswim \`--profile lan\`, serf's default lan profile: each agent probes one member per second) and are left to run; \`tcpdump -i lo\` captures their UDP traffic for ${r.seconds} s (kernel timestamps, µs). Each \`ping\` from agent A to agent B is paired with B's \`ack\` carrying the same seqNo, decoded with rxswim's \`decodePacket\` (compound and compressed packets unwrapped); RTT = the ack's timestamp − the ping's, so it is B's whole receive → ack path and nothing of the bench process. Indirect pings are left out. Baseline: ${r.echo}, captured and paired (by payload) the same way. ${r.reps} repetitions alternating rxswim, serf, echo, fresh processes each time; figures are medians of the per-repetition figures (count: pairs per repetition).`,
  );
  out.push('');
  out.push('| | p50 µs | p90 µs | p99 µs | max µs | count |');
  out.push('|---|---:|---:|---:|---:|---:|');
  out.push(`| rxswim | ${f(m.rxswim.p50Us)} | ${f(m.rxswim.p90Us)} | ${f(m.rxswim.p99Us)} | ${f(m.rxswim.maxUs)} | ${f(m.rxswim.count)} |`);
  out.push(`| serf | ${f(m.serf.p50Us)} | ${f(m.serf.p90Us)} | ${f(m.serf.p99Us)} | ${f(m.serf.maxUs)} | ${f(m.serf.count)} |`);
  out.push(`| bare Node echo | ${f(m.echo.p50Us)} | ${f(m.echo.p90Us)} | ${f(m.echo.p99Us)} | ${f(m.echo.maxUs)} | ${f(m.echo.count)} |`);
  const row = (label: string, a: WireRttFigures, b: WireRttFigures) =>
    `| **${label}** | **${x(ratio(a.p50Us, b.p50Us))}** | **${x(ratio(a.p90Us, b.p90Us))}** | **${x(ratio(a.p99Us, b.p99Us))}** | **${x(ratio(a.maxUs, b.maxUs))}** | |`;
  out.push(row('rxswim / echo', m.rxswim, m.echo));
  out.push(row('rxswim / serf', m.rxswim, m.serf));
  out.push('');
  out.push(`rxswim / echo at p50: **${x(r.ratio.rxswimEchoP50)}**; rxswim / serf at p99: **${x(r.ratio.rxswimSerfP99)}** (serf / echo at p50: ${x(r.ratio.serfEchoP50)}).`);
  out.push('');
  out.push('Every repetition (µs; pings = distinct pings captured, unanswered = of those sent over 1 s before the capture ended; dropped = tcpdump\'s kernel drop count):');
  out.push('');
  out.push('| impl | rep | p50 | p90 | p99 | max | pairs | pings | unanswered | indirect | dropped | load avg | error |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const run of r.runs) {
    out.push(`| ${run.impl} | ${run.rep + 1} | ${f(run.p50Us)} | ${f(run.p90Us)} | ${f(run.p99Us)} | ${f(run.maxUs)} | ${run.count} | ${run.pings} | ${run.unanswered} | ${run.indirect} | ${run.droppedByKernel ?? '–'} | ${run.load[0]} → ${run.load[1]} | ${run.error ?? ''} |`);
  }
  if (r.errors.length) {
    out.push('');
    for (const e of r.errors) out.push(`- ${e}`);
  }
  out.push('');
  return out.join('\n');
}
