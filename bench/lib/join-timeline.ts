// One push-pull join taken apart on the wire (issue 11: "one push-pull join ≤ 3× Serf's
// time"). A cluster of N agents of one implementation forms and settles; then, one at a
// time, a fresh agent (started, answering, idle for 2 s) is told to join the first agent
// through its API (rxswim POST /v1/join, serf the join RPC) while `tcpdump -i lo` prints
// every TCP segment to the joiner's API port and to the seed's gossip port. The kernel
// timestamps of five segments split the join into:
//   api → dial      the join request reaching the joiner → its SYN to the seed
//   dial → sent     → the joiner's push-pull state on the wire
//   seed            → the seed's reply (the seed reading, merging and answering)
//   reply → answer  → the joiner's API answering (reading the reply, merging it, and
//                   whatever it does before it answers)
// so the seed's share and the joiner's are told apart, from outside both processes.
// The joiner's and the seed's CPU over the join (schedstat) are taken beside.
import { loadavg } from 'node:os';
import { ProcGroup, type Proc } from '../../test/helpers/procs.js';
import { Cluster, type Impl } from './cluster.js';
import { cpuMsPrecise } from './procstat.js';
import { medianOf, ratio, round, sleep } from './stats.js';

export const JOIN_TIMELINE_IMPLS = ['serf', 'rxswim'] as const satisfies readonly Impl[];
type TimelineImpl = (typeof JOIN_TIMELINE_IMPLS)[number];
const IP_BASE: Record<TimelineImpl, string> = { serf: '127.0.157', rxswim: '127.0.158' };
const API_PORT: Record<TimelineImpl, number> = { serf: 7373, rxswim: 8946 };
const GOSSIP_PORT = 7946;

export interface JoinTimelineRep {
  impl: TimelineImpl;
  rep: number;
  /** ms, kernel timestamps; null when the segment was not seen */
  apiToDial: number | null;
  dialToSent: number | null;
  seed: number | null;
  replyToAnswer: number | null;
  total: number | null;
  /** the join as the bench process timed it (its API client included) */
  clientMs: number;
  /** bytes the seed's reply carried */
  replyBytes: number;
  joinerCpuMs: number | null;
  seedCpuMs: number | null;
  error: string | null;
}

export interface JoinTimelineResult {
  n: number;
  reps: number;
  runs: JoinTimelineRep[];
  medians: Record<TimelineImpl, Omit<JoinTimelineRep, 'impl' | 'rep' | 'error'>>;
  load: number[];
  durationS: number;
}

const groups = new Set<ProcGroup>();
const clusters = new Set<Cluster>();

export async function killJoinTimeline(): Promise<void> {
  await Promise.all([...[...groups].map((g) => g.killAll()), ...[...clusters].map((c) => c.close())]);
  groups.clear();
  clusters.clear();
}

/** one line of `tcpdump -n -tt` for a TCP segment */
export interface Segment {
  /** epoch ms (µs precision) */
  at: number;
  src: string;
  dst: string;
  flags: string;
  length: number;
}

const LINE = /^(\d+\.\d+) IP (\S+) > (\S+): Flags \[([^\]]*)\].* length (\d+)/;

export function parseSegment(line: string): Segment | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { at: Number(m[1]) * 1000, src: m[2]!, dst: m[3]!.replace(/:$/, ''), flags: m[4]!, length: Number(m[5]) };
}

/**
 * The join's five moments from the segments seen after `after` (epoch ms): the request
 * to the API, the joiner's SYN to the seed, its first bytes on that connection, the
 * seed's first bytes back, and the API's first bytes after the reply.
 */
export function timeline(segs: readonly Segment[], api: string, seed: string, after: number): Omit<JoinTimelineRep, 'impl' | 'rep' | 'clientMs' | 'joinerCpuMs' | 'seedCpuMs' | 'error'> {
  const later = segs.filter((s) => s.at >= after);
  const req = later.find((s) => s.dst === api && s.length > 0);
  const syn = req && later.find((s) => s.at >= req.at && s.dst === seed && s.flags === 'S');
  const conn = syn?.src;
  const sent = syn && later.find((s) => s.at >= syn.at && s.src === conn && s.dst === seed && s.length > 0);
  const reply = sent && later.find((s) => s.at >= sent.at && s.src === seed && s.dst === conn && s.length > 0);
  const ans = reply && later.find((s) => s.at >= reply.at && s.src === api && s.length > 0);
  const d = (a?: Segment, b?: Segment) => (a && b ? round(b.at - a.at, 2) : null);
  const replyBytes = conn ? later.filter((s) => s.src === seed && s.dst === conn).reduce((n, s) => n + s.length, 0) : 0;
  return { apiToDial: d(req, syn), dialToSent: d(syn, sent), seed: d(sent, reply), replyToAnswer: d(reply, ans), total: d(req, ans), replyBytes };
}

async function capture(g: ProcGroup, filter: string): Promise<Proc> {
  const p = g.start('tcpdump', '/usr/bin/tcpdump', ['-i', 'lo', '-n', '-tt', '-l', '--time-stamp-precision=micro', filter]);
  const t0 = Date.now();
  while (!p.lines.some((l) => l.includes('listening on'))) {
    if (p.child.exitCode !== null) throw new Error(`tcpdump exited: ${p.lines.join(' | ')}`);
    if (Date.now() - t0 > 10_000) throw new Error('tcpdump not listening after 10 s');
    await sleep(50);
  }
  return p;
}

export async function measureJoinTimeline(o: { n: number; reps: number; log: (s: string) => void; deadlineAt: number }): Promise<JoinTimelineResult> {
  const t0 = Date.now();
  const load = [round(loadavg()[0], 1)!];
  const runs: JoinTimelineRep[] = [];
  for (const impl of JOIN_TIMELINE_IMPLS) {
    const ips = Array.from({ length: o.n }, (_, i) => `${IP_BASE[impl]}.${i + 1}`);
    const c = new Cluster(impl, ips);
    clusters.add(c);
    try {
      await c.waitReady(60_000 + o.n * 1000);
      const seedAgent = c.agents[0]!;
      for (const a of c.agents.slice(1)) {
        const e = await c.join(a, seedAgent.bind);
        if (e) throw new Error(`forming the cluster: ${e}`);
      }
      await sleep(10_000);
      o.log(`${impl} N=${o.n}: formed and settled`);
      for (let rep = 0; rep < o.reps && Date.now() < o.deadlineAt; rep++) {
        const j = new Cluster(impl, [`${IP_BASE[impl]}.${o.n + 1 + rep}`]);
        clusters.add(j);
        const g = new ProcGroup();
        groups.add(g);
        try {
          await j.waitReady(20_000);
          await sleep(2000);
          const joiner = j.agents[0]!;
          const api = `${joiner.ip}.${API_PORT[impl]}`;
          const seed = `${seedAgent.ip}.${GOSSIP_PORT}`;
          const td = await capture(g, `tcp and ((host ${joiner.ip} and port ${API_PORT[impl]}) or (host ${seedAgent.ip} and port ${GOSSIP_PORT}))`);
          // serf: the RPC connection (and its handshake) is already open from waitReady, as an operator's client keeps one
          const before = { joiner: cpuMsPrecise(j.pid(joiner)), seed: cpuMsPrecise(c.pid(seedAgent)) };
          const after = performance.timeOrigin + performance.now();
          const t = performance.now();
          const err = await c.join(joiner, seedAgent.bind);
          const clientMs = round(performance.now() - t, 2)!;
          const cpu = { joiner: cpuMsPrecise(j.pid(joiner)), seed: cpuMsPrecise(c.pid(seedAgent)) };
          await sleep(300);
          td.child.kill('SIGINT');
          await new Promise((r) => td.child.once('exit', r));
          const segs = td.lines.map(parseSegment).filter((s): s is Segment => s !== undefined);
          const diff = (a?: number, b?: number) => (a === undefined || b === undefined ? null : round(b - a, 1));
          const r: JoinTimelineRep = { impl, rep, ...timeline(segs, api, seed, after - 5), clientMs, joinerCpuMs: diff(before.joiner, cpu.joiner), seedCpuMs: diff(before.seed, cpu.seed), error: err };
          runs.push(r);
          o.log(`${impl} rep ${rep + 1}: api→dial ${r.apiToDial} ms, dial→sent ${r.dialToSent}, seed ${r.seed}, reply→answer ${r.replyToAnswer}, total ${r.total} (client ${clientMs}); joiner CPU ${r.joinerCpuMs} ms, seed ${r.seedCpuMs}${err ? `; ERROR ${err}` : ''}`);
        } finally {
          await g.killAll();
          groups.delete(g);
          await j.close();
          clusters.delete(j);
        }
      }
    } finally {
      await c.close();
      clusters.delete(c);
    }
  }
  load.push(round(loadavg()[0], 1)!);
  const medians = Object.fromEntries(
    JOIN_TIMELINE_IMPLS.map((impl) => {
      const rs = runs.filter((r) => r.impl === impl && r.error === null);
      const m = (k: keyof JoinTimelineRep) => round(medianOf(rs.map((r) => r[k] as number | null)), 2);
      return [impl, { apiToDial: m('apiToDial'), dialToSent: m('dialToSent'), seed: m('seed'), replyToAnswer: m('replyToAnswer'), total: m('total'), clientMs: m('clientMs')!, replyBytes: m('replyBytes')!, joinerCpuMs: m('joinerCpuMs'), seedCpuMs: m('seedCpuMs') }];
    }),
  ) as JoinTimelineResult['medians'];
  return { n: o.n, reps: o.reps, runs, medians, load, durationS: Math.round((Date.now() - t0) / 1000) };
}

export function renderJoinTimeline(r: JoinTimelineResult): string {
  const rows: Array<[string, keyof JoinTimelineResult['medians']['serf']]> = [
    ['API request → SYN to the seed', 'apiToDial'],
    ['SYN → push-pull state sent', 'dialToSent'],
    ['state sent → seed replies (the seed)', 'seed'],
    ['seed reply → API answers (the joiner reads and merges)', 'replyToAnswer'],
    ['**request → answer, on the wire**', 'total'],
    ['the join as the bench client timed it', 'clientMs'],
    ["joiner's CPU over the join (schedstat)", 'joinerCpuMs'],
    ["seed's CPU over the join", 'seedCpuMs'],
    ['bytes in the seed reply', 'replyBytes'],
  ];
  const { serf, rxswim } = r.medians;
  const out = [
    `A cluster of N = ${r.n} agents of one implementation (serf, then rxswim; \`lan\` profile, loopback) forms and settles for 10 s; then ${r.reps} times a fresh agent, started and idle for 2 s, joins the first agent through its API while \`tcpdump -i lo -tt\` prints the TCP segments to the joiner's API port and the seed's gossip port. Kernel timestamps split the join (lib/join-timeline.ts). Medians over the repetitions, ms. Load average before / after: ${r.load.join(' / ')}.`,
    '',
    '| phase | serf | rxswim | rxswim / serf |',
    '|---|---:|---:|---:|',
    ...rows.map(([label, k]) => `| ${label} | ${serf[k] ?? '–'} | ${rxswim[k] ?? '–'} | ${ratio(rxswim[k], serf[k]) ?? '–'}${ratio(rxswim[k], serf[k]) === null ? '' : '×'} |`),
    '',
    'Every repetition:',
    '',
    '| impl | rep | api→dial | dial→sent | seed | reply→answer | total | client | joiner CPU | seed CPU | reply bytes | error |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.runs.map((x) => `| ${x.impl} | ${x.rep + 1} | ${x.apiToDial ?? '–'} | ${x.dialToSent ?? '–'} | ${x.seed ?? '–'} | ${x.replyToAnswer ?? '–'} | ${x.total ?? '–'} | ${x.clientMs} | ${x.joinerCpuMs ?? '–'} | ${x.seedCpuMs ?? '–'} | ${x.replyBytes} | ${x.error ?? ''} |`),
    '',
  ];
  return out.join('\n');
}
