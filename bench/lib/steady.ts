// Steady-state cost of each agent of a converged cluster over a fixed window: CPU %
// (utime+stime), RSS, and UDP datagrams/bytes sent, counted two ways: by the agent
// itself (rxswim: /metrics; serf: memberlist's own go-metrics counter
// memberlist.udp.sent, dumped with SIGUSR1) and host-wide (/proc/net/snmp Udp
// OutDatagrams delta / N, which counts every UDP datagram on the machine). After the
// window (strace slows what it traces), the event-loop wakeups of one agent.
import { metricValue } from '../../test/helpers/procs.js';
import type { Agent, Cluster } from './cluster.js';
import { cpuMsPrecise, rssMB, udpCounters } from './procstat.js';
import { mean, median, round, sleep } from './stats.js';
import { epollPerSecond } from './wakeups.js';

export interface Steady {
  n: number;
  impl: string;
  windowS: number;
  /** seconds waited after convergence before the window (a Node agent's CPU falls for a minute or two as its JIT warms up) */
  settleS?: number;
  /** per agent, median and mean over agents */
  cpuPctMedian: number | null;
  cpuPctMean: number | null;
  cpuPctMax: number | null;
  rssMBMedian: number | null;
  rssMBMax: number | null;
  /** from the agents' own counters */
  selfPktsPerSec: number | null;
  selfBytesPerSec: number | null;
  /** /proc/net/snmp Udp OutDatagrams delta / N / s */
  snmpPktsPerSec: number | null;
  snmpRcvbufErrors: number;
  selfCountedAgents: number;
  /** epoll_pwait + epoll_wait returns per second over all threads of one agent (`strace -f -c`), after the window */
  epollPerSec?: number | null;
  epollAgent?: string;
  epollS?: number;
}

/** `rxswim_*_sent_total{transport="udp"}` of one agent */
async function rxSent(a: Agent): Promise<{ pkts: number; bytes: number; at: number } | undefined> {
  const pkts = await metricValue(a.api, 'rxswim_packets_sent_total', { transport: 'udp' });
  const bytes = await metricValue(a.api, 'rxswim_bytes_sent_total', { transport: 'udp' });
  const at = performance.now();
  return pkts === undefined || bytes === undefined ? undefined : { pkts, bytes, at };
}

const SERF_LINE = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) \+0000 UTC\]\[C\] 'serf-agent\.memberlist\.udp\.sent': Count: (\d+).*? Sum: ([\d.]+)/;

/**
 * Samples `windowS` seconds starting at the next 10 s wall-clock boundary (serf's
 * in-memory metrics are kept in 10 s intervals aligned that way, so the window is made
 * of whole intervals for serf and is the same length for rxswim).
 */
export async function sampleSteady(c: Cluster, windowS: number, log: (s: string) => void, opts: { settleS?: number; epollS?: number } = {}): Promise<Steady> {
  const now = Date.now();
  const boundary = Math.ceil((now + 500) / 10_000) * 10_000;
  await sleep(boundary - Date.now());
  const pids = c.agents.map((a) => c.pid(a));

  const rxStart = c.impl === 'rxswim' ? await Promise.all(c.agents.map(rxSent)) : [];
  const snmp0 = udpCounters();
  const cpu0 = pids.map(cpuMsPrecise);
  const t0 = performance.now();
  await sleep(boundary + windowS * 1000 - Date.now());
  const cpu1 = pids.map(cpuMsPrecise);
  const t1 = performance.now();
  const snmp1 = udpCounters();
  const rss = pids.map(rssMB);
  const rxEnd = c.impl === 'rxswim' ? await Promise.all(c.agents.map(rxSent)) : [];

  const secs = (t1 - t0) / 1000;
  const cpuPct: number[] = [];
  cpu0.forEach((a, i) => {
    const b = cpu1[i];
    if (a !== undefined && b !== undefined) cpuPct.push(((b - a) / 1000 / secs) * 100);
  });
  const rssOk = rss.filter((x): x is number => x !== undefined);

  const pktRates: number[] = [];
  const byteRates: number[] = [];
  if (c.impl === 'rxswim') {
    rxStart.forEach((s, i) => {
      const e = rxEnd[i];
      if (!s || !e) return;
      const dt = (e.at - s.at) / 1000;
      pktRates.push((e.pkts - s.pkts) / dt);
      byteRates.push((e.bytes - s.bytes) / dt);
    });
  } else if (c.impl === 'serf') {
    const from = c.agents.map((a) => a.proc.lines.length);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGUSR1');
      } catch {
        /* gone */
      }
    }
    await sleep(1500);
    const want = new Set([0, 1, 2].map((k) => boundary + k * 10_000).filter((t) => t < boundary + windowS * 1000));
    c.agents.forEach((a, i) => {
      let pkts = 0;
      let bytes = 0;
      let intervals = 0;
      for (const line of a.proc.lines.slice(from[i])) {
        const m = SERF_LINE.exec(line);
        if (!m) continue;
        const start = Date.parse(`${m[1]}T${m[2]}Z`);
        if (!want.has(start)) continue;
        intervals++;
        pkts += Number(m[3]);
        bytes += Number(m[4]);
      }
      if (intervals === want.size) {
        pktRates.push(pkts / (want.size * 10));
        byteRates.push(bytes / (want.size * 10));
      }
    });
    if (pktRates.length < c.size) log(`  serf: memberlist.udp.sent found for ${pktRates.length}/${c.size} agents`);
  }

  // one agent that is not the seed (which every join went through)
  const traced = c.agents[Math.min(1, c.size - 1)]!;
  const epollPerSec = opts.epollS ? await epollPerSecond(c.pid(traced), opts.epollS) : null;

  return {
    n: c.size,
    impl: c.impl,
    windowS: round(secs, 1)!,
    cpuPctMedian: round(cpuPct.length ? median(cpuPct) : null, 2),
    cpuPctMean: round(cpuPct.length ? mean(cpuPct) : null, 2),
    cpuPctMax: round(cpuPct.length ? Math.max(...cpuPct) : null, 2),
    rssMBMedian: round(rssOk.length ? median(rssOk) : null, 1),
    rssMBMax: round(rssOk.length ? Math.max(...rssOk) : null, 1),
    selfPktsPerSec: round(pktRates.length ? mean(pktRates) : null, 2),
    selfBytesPerSec: round(byteRates.length ? mean(byteRates) : null, 0),
    snmpPktsPerSec: round((snmp1.OutDatagrams - snmp0.OutDatagrams) / c.size / secs, 2),
    snmpRcvbufErrors: snmp1.RcvbufErrors - snmp0.RcvbufErrors,
    selfCountedAgents: pktRates.length,
    ...(opts.settleS === undefined ? {} : { settleS: opts.settleS }),
    ...(opts.epollS ? { epollPerSec, epollAgent: traced.name, epollS: opts.epollS } : {}),
  };
}
