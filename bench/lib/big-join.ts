// One push-pull join that brings a lone agent 10,000 members at once, measured from
// outside on a real agent (bench/merge.ts is the same merge in-process, without the
// transport, the HTTP view or the agent around it). The bench process is the joining
// memberlist peer: it dials the agent's TCP port and sends a push-pull with join = true
// carrying itself and `members − 1` more alive nodes, encoded with rxswim's own
// encodeStream, then times the reply and the member API until it lists them all.
import { connect, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { resolveConfig } from '../../src/config.js';
import { encodeTags } from '../../src/membership/tags.js';
import { suspicionMinMs } from '../../src/swim/formulas.js';
import { tryDecodeStream, encodeStream } from '../../src/wire/stream.js';
import { WireState, type PushNodeState } from '../../src/wire/types.js';
import type { ProcGroup, Proc } from '../../test/helpers/procs.js';
import { CLK_TCK, cpuTicks, rssMB } from './procstat.js';
import { SerfRpc } from './serf-rpc.js';
import { medianOf, ratio, round, sleep } from './stats.js';
import { GOSSIP_PORT, HTTP_PORT, SERF_RPC_PORT, releaseGroup, startRxswim, startSerf, trackGroup, waitForCli } from './wire-rtt.js';
import { httpJson } from './http.js';

export type JoinImpl = 'rxswim' | 'serf';
export const JOIN_IMPLS: readonly JoinImpl[] = ['rxswim', 'serf'];

/**
 * memberlist's [pmin, pmax, pcur, dmin, dmax, dcur] as a default Serf 0.8 agent sends it
 * (memberlist protocol 1–5, speaking 2; Serf's delegate protocol 2–5, speaking 4).
 * memberlist's verifyProtocol takes the delegate range of the whole cluster as
 * [max of the dmin, min of the dmax] and refuses a merge in which any node's dcur falls
 * outside it, so [1,5,2,0,0,0] would be refused by Serf (whose own dmin is 2). Measured
 * once with --vsn 1,5,2,0,0,0: see the report's notes.
 */
export const SERF_VSN: readonly number[] = [1, 5, 2, 2, 5, 4];

export interface BigJoinRep {
  impl: JoinImpl;
  rep: number;
  members: number;
  /** bytes of the push-pull the bench sent (LZW-compressed, as a memberlist lan peer sends it) */
  sentBytes: number;
  /** ms from writing the push-pull to its reply fully received and decoded */
  answeredMs: number | null;
  /** nodes in the agent's reply (a lone agent answers with itself, before merging) */
  replyNodes: number | null;
  /** ms from writing the push-pull to the member API listing all members + the agent */
  listedMs: number | null;
  /** utime+stime of the agent from just before the write to the listing poll's answer */
  cpuSec: number | null;
  rssBeforeMB: number | null;
  rssAfterMB: number | null;
  /** (VmRSS after − before) / members, KB */
  rssKBPerMember: number | null;
  /** members not alive in the listing poll (suspicion of the unreachable fakes starting) */
  notAliveAtListing: number | null;
  polls: number;
  /** ms one more poll took right after the listing: how late the full list can make "listed" */
  fullPollMs: number | null;
  /** [ms since the write when the poll was sent, when it was answered, members listed (−1: no answer)] per poll */
  timeline: Array<[number, number, number]>;
  load: [number, number];
  /** the agent's last log lines when something went wrong */
  log: string[];
  error: string | null;
}

export interface BigJoinFigures {
  answeredMs: number | null;
  listedMs: number | null;
  cpuSec: number | null;
  rssKBPerMember: number | null;
  reps: number;
}

export interface BigJoinResult {
  members: number;
  reps: number;
  ipBase: string;
  vsn: number[];
  startedAt: string;
  durationS: number;
  runs: BigJoinRep[];
  median: Record<JoinImpl, BigJoinFigures>;
  ratio: Record<keyof Omit<BigJoinFigures, 'reps'>, number | null>;
  errors: string[];
}

/**
 * The joiner and its fakes. Nothing listens at any of their addresses: the fakes live in
 * 127.0.112.1 – 127.0.119.254 (this bench's range, unused by every other), five ports
 * apiece from 7946, and will fail their probes; that starts only after the listing.
 */
export function pushState(members: number, self: { name: string; ip: string }, vsn: readonly number[]): PushNodeState[] {
  const meta = encodeTags({});
  const v = Uint8Array.from(vsn);
  const perIp = 5;
  if (members - 1 > 8 * 254 * perIp) throw new Error(`${members} members do not fit in 127.0.112-119.x × ${perIp} ports`);
  const nodes: PushNodeState[] = [{ name: self.name, addr: Uint8Array.from(self.ip.split('.').map(Number)), port: GOSSIP_PORT, meta, incarnation: 1, state: WireState.alive, vsn: v }];
  for (let i = 0; i < members - 1; i++) {
    const ip = Math.floor(i / perIp);
    nodes.push({
      name: `bj-${String(i).padStart(5, '0')}`,
      addr: Uint8Array.of(127, 0, 112 + Math.floor(ip / 254), 1 + (ip % 254)),
      port: GOSSIP_PORT + (i % perIp),
      meta,
      incarnation: 1,
      state: WireState.alive,
      vsn: v,
    });
  }
  return nodes;
}

/** the agent's member list (names, states); undefined when it does not answer in time */
async function listMembers(impl: JoinImpl, ip: string, rpc: { c?: SerfRpc }, timeoutMs = 2000): Promise<Array<{ name: string; state: string }> | undefined> {
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

/** dials from `localAddress`, so the agent sees the connection come from the joiner's IP */
function dial(host: string, localAddress: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: GOSSIP_PORT, localAddress });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ${host}:${GOSSIP_PORT} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** resolves with the reply's node count once a whole stream message is in; bounded */
function awaitReply(s: Socket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (e: Error | null, n = 0) => {
      clearTimeout(t);
      s.removeAllListeners('data');
      if (e) reject(e);
      else resolve(n);
    };
    const t = setTimeout(() => done(new Error(`no push-pull reply within ${timeoutMs} ms`)), timeoutMs);
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      const r = tryDecodeStream(buf);
      if (r.status === 'need-more') return;
      if (r.status === 'error') return done(new Error(`reply: ${r.error.message}`));
      if (r.message.type === 'err') return done(new Error(`agent answered with an error: ${r.message.error}`));
      if (r.message.type !== 'pushPull') return done(new Error(`reply is a ${r.message.type}, not a push-pull`));
      done(null, r.message.nodes.length);
    });
    s.once('close', () => done(new Error('connection closed before a reply')));
  });
}

async function oneJoin(impl: JoinImpl, rep: number, ip: string, opts: { members: number; ipBase: string; vsn: readonly number[]; log: (s: string) => void }): Promise<BigJoinRep> {
  const load0 = round(loadavg()[0], 2)!;
  const r: BigJoinRep = { impl, rep, members: opts.members, sentBytes: 0, answeredMs: null, replyNodes: null, listedMs: null, cpuSec: null, rssBeforeMB: null, rssAfterMB: null, rssKBPerMember: null, notAliveAtListing: null, polls: 0, fullPollMs: null, timeline: [], load: [load0, load0], log: [], error: null };
  const g: ProcGroup = trackGroup();
  const rpc: { c?: SerfRpc } = {};
  let agent: Proc | undefined;
  let socket: Socket | undefined;
  try {
    if (impl === 'rxswim') await waitForCli();
    const name = `${impl === 'rxswim' ? 'rx' : 'serf'}-bj-${rep}`;
    agent = impl === 'rxswim' ? startRxswim(g, name, ip) : startSerf(g, name, ip);
    const pid = agent.child.pid!;
    const t0Ready = Date.now();
    for (;;) {
      if (agent.child.exitCode !== null || agent.child.signalCode !== null) throw new Error(`agent exited: ${agent.lines.slice(-5).join(' | ')}`);
      const v = await listMembers(impl, ip, rpc);
      if (v?.some((m) => m.name === name && m.state === 'alive')) break;
      if (Date.now() - t0Ready > 30_000) throw new Error('agent not answering after 30 s');
      await sleep(100);
    }
    // start-up allocations settle (Node's lazy compilation, Go's first GC)
    await sleep(1500);
    // the joiner takes an address of its own, so the dial's source is not the agent's
    const self = { name: `bench-joiner-${impl}-${rep}`, ip: `${opts.ipBase}.250` };
    const payload = encodeStream({ type: 'pushPull', join: true, nodes: pushState(opts.members, self, opts.vsn), userState: new Uint8Array(0) }, { compress: true });
    r.sentBytes = payload.length;
    socket = await dial(ip, self.ip, 5000);
    socket.setNoDelay(true);
    const want = opts.members + 1;
    r.rssBeforeMB = rssMB(pid) ?? null;
    const cpu0 = cpuTicks(pid)!;
    const t0 = performance.now();
    const reply = awaitReply(socket, 30_000).then((n) => {
      r.answeredMs = round(performance.now() - t0, 1);
      r.replyNodes = n;
    });
    socket.write(payload);
    // (b) polled every 100 ms from the write on, each poll waiting for its answer (a
    // 10,001-member list takes a while to serialise); the reply is awaited alongside
    let replyError: unknown;
    reply.catch((e: unknown) => (replyError = e));
    for (;;) {
      const round0 = performance.now();
      const v = await listMembers(impl, ip, rpc, 10_000);
      const at = performance.now() - t0;
      r.polls++;
      r.timeline.push([Math.round(round0 - t0), Math.round(at), v?.length ?? -1]);
      if (v && v.length >= want) {
        r.cpuSec = ((cpuTicks(pid) ?? NaN) - cpu0) / CLK_TCK;
        r.listedMs = Math.round(at);
        r.rssAfterMB = rssMB(pid) ?? null;
        r.notAliveAtListing = v.filter((m) => m.state !== 'alive').length;
        break;
      }
      if (agent.child.exitCode !== null || agent.child.signalCode !== null) throw new Error(`agent exited: ${agent.lines.slice(-5).join(' | ')}`);
      // both log a refused merge (rxswim at warn, memberlist at ERR): no use waiting the minute out
      const refused = agent.lines.find((l) => l.includes('push-pull merge refused') || l.includes('Failed push/pull merge'));
      if (refused) throw new Error(`merge refused: ${refused}`);
      if (at > 60_000) throw new Error(`only ${v?.length ?? 'no answer'} of ${want} members listed after 60 s`);
      await sleep(100 - (performance.now() - round0));
    }
    const p0 = performance.now();
    if (await listMembers(impl, ip, rpc, 10_000)) r.fullPollMs = Math.round(performance.now() - p0);
    await Promise.race([reply.catch(() => {}), sleep(5000)]);
    if (replyError) throw replyError;
    if (r.rssBeforeMB !== null && r.rssAfterMB !== null) r.rssKBPerMember = round(((r.rssAfterMB - r.rssBeforeMB) * 1024) / opts.members, 2);
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
    r.log = agent ? agent.lines.slice(-8) : [];
  } finally {
    socket?.destroy();
    rpc.c?.close();
    await releaseGroup(g);
    r.load[1] = round(loadavg()[0], 2)!;
  }
  opts.log(`big join ${impl} rep ${rep + 1}: answered ${r.answeredMs} ms, all ${opts.members + 1} listed ${r.listedMs} ms (${r.polls} polls), CPU ${r.cpuSec} s, RSS ${r.rssBeforeMB?.toFixed(1)} → ${r.rssAfterMB?.toFixed(1)} MB (${r.rssKBPerMember} KB/member), ${r.notAliveAtListing} not alive${r.error ? `; error: ${r.error} ${r.log.join(' | ')}` : ''}`);
  return r;
}

/**
 * Repetitions alternate rxswim and serf, a fresh lone agent each time at
 * `${ipBase}.(1 + 2 × rep + k)`; the joiner dials from `${ipBase}.250`.
 */
export async function measureBigJoin(opts: { members: number; reps: number; ipBase: string; log: (s: string) => void; vsn?: readonly number[]; deadlineAt?: number }): Promise<BigJoinResult> {
  const startedAt = new Date();
  const vsn = opts.vsn ?? SERF_VSN;
  const runs: BigJoinRep[] = [];
  const errors: string[] = [];
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const [k, impl] of JOIN_IMPLS.entries()) {
      if (opts.deadlineAt !== undefined && Date.now() + 70_000 > opts.deadlineAt) {
        errors.push(`deadline: ${impl} rep ${rep + 1} and later skipped`);
        continue;
      }
      const r = await oneJoin(impl, rep, `${opts.ipBase}.${1 + 2 * rep + k}`, { ...opts, vsn });
      if (r.error) errors.push(`${impl} rep ${rep + 1}: ${r.error}`);
      runs.push(r);
    }
  }
  const median = {} as Record<JoinImpl, BigJoinFigures>;
  for (const impl of JOIN_IMPLS) {
    const xs = runs.filter((r) => r.impl === impl && r.error === null);
    const m = (k: 'answeredMs' | 'listedMs' | 'cpuSec' | 'rssKBPerMember', d: number) => {
      const v = medianOf(xs.map((x) => x[k]));
      return v === null ? null : round(v, d);
    };
    median[impl] = { answeredMs: m('answeredMs', 1), listedMs: m('listedMs', 0), cpuSec: m('cpuSec', 2), rssKBPerMember: m('rssKBPerMember', 2), reps: xs.length };
  }
  const a = median.rxswim;
  const b = median.serf;
  return {
    members: opts.members,
    reps: opts.reps,
    ipBase: opts.ipBase,
    vsn: [...vsn],
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    runs,
    median,
    ratio: { answeredMs: ratio(a.answeredMs, b.answeredMs), listedMs: ratio(a.listedMs, b.listedMs), cpuSec: ratio(a.cpuSec, b.cpuSec), rssKBPerMember: ratio(a.rssKBPerMember, b.rssKBPerMember) },
    errors,
  };
}

// ---------------------------------------------------------------- report

const f = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const x = (r: number | null | undefined): string => (r === null || r === undefined ? '–' : `${r.toFixed(2)}×`);

export function renderBigJoin(r: BigJoinResult): string {
  const out: string[] = [];
  const k = r.members.toLocaleString('en-US');
  // lan's shortest suspicion at this size (memberlist's formula; Serf's lan is the same)
  const lan = resolveConfig('lan');
  const suspicionS = suspicionMinMs(lan.suspicionMult, r.members + 1, lan.probeInterval) / 1000;
  out.push(`## One push-pull join carrying ${k} members`);
  out.push('');
  out.push(
    `The bench process acts as the joining memberlist peer: it dials a lone agent's TCP ${GOSSIP_PORT} (rxswim \`--profile lan\`, serf's default lan profile; a fresh agent each repetition) and sends one push-pull with join = true carrying itself and ${(r.members - 1).toLocaleString('en-US')} more members (alive, incarnation 1, meta = Serf's empty tag map, vsn [${r.vsn.join(',')}], unreachable loopback addresses), encoded with rxswim's \`encodeStream\` and LZW-compressed as a memberlist lan peer sends it, with no user state. Answered = from the write to the agent's push-pull reply received and decoded; listed = until the member API lists all ${(r.members + 1).toLocaleString('en-US')} (rxswim \`GET /v1/members\`, serf the \`members\` RPC; polled every 100 ms from the write, each poll waiting for its answer, so the figure is late by up to one poll: "next full poll" in the table below is how long one more poll of the whole list took right after; the agent's cost of serving the polls is inside the CPU figure); CPU = the agent's utime+stime from /proc/PID/stat over that span (10 ms ticks); RSS / member = (VmRSS at listing − VmRSS before the write) / ${k}. The fake members fail their probes from about 1.5 s on, but with ${(r.members + 1).toLocaleString('en-US')} members lan's suspicion lasts at least ${suspicionS.toFixed(0)} s (suspicionMult × log10 N × probe interval), so none is declared dead inside the window (a few may be suspect: "not alive" in the table below). ${r.reps} repetitions alternating rxswim, serf; medians.`,
  );
  out.push('');
  out.push('| | answered ms | all listed ms | agent CPU s | RSS KB / member | reps |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const impl of JOIN_IMPLS) {
    const m = r.median[impl];
    out.push(`| ${impl} | ${f(m.answeredMs, 1)} | ${f(m.listedMs)} | ${f(m.cpuSec, 2)} | ${f(m.rssKBPerMember, 2)} | ${m.reps} |`);
  }
  out.push(`| **rxswim / serf** | **${x(r.ratio.answeredMs)}** | **${x(r.ratio.listedMs)}** | **${x(r.ratio.cpuSec)}** | **${x(r.ratio.rssKBPerMember)}** | |`);
  out.push('');
  out.push('Every repetition:');
  out.push('');
  out.push('| impl | rep | sent bytes | answered ms | listed ms | polls | next full poll ms | CPU s | RSS MB before → after | KB / member | not alive at listing | load avg | error |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|');
  for (const run of r.runs) {
    out.push(`| ${run.impl} | ${run.rep + 1} | ${run.sentBytes} | ${f(run.answeredMs, 1)} | ${f(run.listedMs)} | ${run.polls} | ${f(run.fullPollMs)} | ${f(run.cpuSec, 2)} | ${f(run.rssBeforeMB, 1)} → ${f(run.rssAfterMB, 1)} | ${f(run.rssKBPerMember, 2)} | ${run.notAliveAtListing ?? '–'} | ${run.load[0]} → ${run.load[1]} | ${run.error ?? ''} |`);
  }
  if (r.errors.length) {
    out.push('');
    for (const e of r.errors) out.push(`- ${e}`);
  }
  out.push('');
  return out.join('\n');
}
