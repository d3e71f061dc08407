// bench/results/latest.md from the results object.
import type { Results } from '../run.js';

const f = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const s = (ms: number | null | undefined): string => f(ms === null || ms === undefined ? null : ms / 1000, 1);
const x = (r: number | null | undefined): string => (r === null || r === undefined ? '–' : `${r.toFixed(2)}×`);
const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round((a / b) * 100) / 100;

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const out: string[] = [];
  const swim = r.swimPeer.included;
  out.push(`# rxswim benchmarks (${r.plan.mode} run)`);
  out.push('');
  out.push(`Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGB} GB, ${m.kernel}; Node ${m.node}; serf ${m.serf}; ${m.date}${m.commit ? `; rxswim at ${m.commit}` : ''}. Run took ${Math.round(r.durationS / 60)} min (${r.durationS} s).`);
  out.push('');
  out.push('Ratios are rxswim / serf from the same run (below 1: rxswim is faster, lighter or cheaper). The machine is small and shared: read single figures as ±10–20 %.');
  out.push('');

  out.push('## 1. Loopback ping→ack RTT');
  out.push('');
  if (r.rtt) {
    const a = r.rtt.median.rxswim!;
    const b = r.rtt.median.serf!;
    out.push(
      `The bench process sends memberlist \`ping\` messages over UDP to one lone rxswim agent and one lone serf agent, alternately (each agent one ping every ${r.plan.rttIntervalMs} ms, the other's ping 1 ms later), ${r.plan.rttPings} pings per agent per round, ${r.plan.rttRounds} rounds after ${r.plan.rttWarmup} uncounted warm-up pings; figures are medians of the per-round figures. Jitter = p99 − p50. The RTT includes the bench process's own receive path (the same for both).`,
    );
    out.push('');
    out.push('| agent | p50 µs | p99 µs | jitter (p99−p50) µs | stdev µs | lost |');
    out.push('|---|---:|---:|---:|---:|---:|');
    out.push(`| rxswim | ${f(a.p50Us)} | ${f(a.p99Us)} | ${f(a.jitterUs)} | ${f(a.stdevUs)} | ${a.lost} |`);
    out.push(`| serf | ${f(b.p50Us)} | ${f(b.p99Us)} | ${f(b.jitterUs)} | ${f(b.stdevUs)} | ${b.lost} |`);
    out.push(`| **rxswim / serf** | **${x(r.rtt.ratio.p50)}** | **${x(r.rtt.ratio.p99)}** | **${x(r.rtt.ratio.jitter)}** | ${x(ratio(a.stdevUs, b.stdevUs))} | |`);
    out.push('');
    out.push(`Ack datagram size: rxswim ${r.rtt.ackBytes.rxswim ?? '–'} bytes, serf ${r.rtt.ackBytes.serf ?? '–'} bytes. Load average (1 min) ${r.rtt.load[0]} → ${r.rtt.load[1]}.`);
    out.push('');
    out.push(`Per round (p50 / p99 µs): ${r.rtt.rounds.map((x, i) => `#${i + 1} rxswim ${f(x.rxswim!.p50Us)} / ${f(x.rxswim!.p99Us)}, serf ${f(x.serf!.p50Us)} / ${f(x.serf!.p99Us)}`).join('; ')}.`);
  } else out.push('Not measured (see errors).');
  out.push('');

  out.push('## 2. Join convergence and failure detection (profile lan)');
  out.push('');
  out.push(
    'N agents start without seeds, one loopback IP each (process start-up is not timed); once every agent answers, all but the first are told to join the first at once (rxswim: `POST /v1/join`; serf: the `join` RPC). Join convergence = from issuing the joins until 99 % of the N×N (agent, member) pairs, then every one, are listed alive in the same polling round; an agent that does not answer within 2 s counts as listing nobody. CPU s / agent = utime+stime each agent spent from the joins to 99 % (mean over agents; one clock tick is 10 ms). Then one agent (not the seed) is killed with SIGKILL; first / median / last = time until the first, the median and the last surviving agent lists it failed. Every agent is polled every 100 ms (rxswim: `GET /v1/members`; serf: the `members` RPC over a kept-open connection, the call `serf members` makes; a `serf members` process per poll would be up to 640 spawns/s). Times are medians over the repetitions (reps column); polling adds up to ~100 ms.',
  );
  out.push('');
  const head = ['N', 'figure (s)', 'rxswim', 'serf', '**rxswim / serf**', ...(swim ? ['swim-js', 'swim-js / serf'] : []), 'reps (rx/serf' + (swim ? '/swim' : '') + ')'];
  out.push(`| ${head.join(' | ')} |`);
  out.push(`|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  const figs: Array<[string, string, boolean?]> = [
    ['converge99Ms', 'join: 99 % of views complete'],
    ['convergeMs', 'join: every view complete'],
    ['joinCpuSecPerAgent', 'join: CPU s / agent (to 99 %)', true],
    ['firstMs', 'detection: first'],
    ['medianMs', 'detection: median'],
    ['lastMs', 'detection: last'],
  ];
  for (const row of r.membership) {
    const reps = [row.reps.rxswim, row.reps.serf, ...(swim ? [row.reps.swim] : [])].map((v) => v ?? 0).join('/');
    for (const [key, label, raw] of figs) {
      const rx = row.figures.rxswim?.[key];
      const sf = row.figures.serf?.[key];
      const sw = row.figures.swim?.[key];
      const v = raw ? (y: number | null | undefined) => f(y, 3) : s;
      const cells = [String(row.n), label, v(rx), v(sf), `**${x(ratio(rx, sf))}**`, ...(swim ? [v(sw), x(ratio(sw, sf))] : []), reps];
      out.push(`| ${cells.join(' | ')} |`);
    }
  }
  out.push('');
  out.push('Every repetition (s; detection as first / median / last, detected of survivors; first suspicion where the agent shows one):');
  out.push('');
  out.push('| impl | N | rep | agents up | join 99 % / all | failed joins | CPU s / agent (to 99 %) | detection | detected | first suspect | load avg | error |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|');
  for (const c of r.clusters) {
    const d = c.detection;
    out.push(
      `| ${c.impl} | ${c.n} | ${c.rep + 1} | ${s(c.readyMs)} | ${s(c.converge99Ms)} / ${s(c.convergeMs)} | ${c.joinErrors.length} | ${f(c.joinCpuSecPerAgent, 3)} | ${d ? `${s(d.firstMs)} / ${s(d.medianMs)} / ${s(d.lastMs)}` : '–'} | ${d ? `${d.detected}/${d.of}` : '–'} | ${s(d?.firstSuspectMs)} | ${c.load[0]} → ${c.load[1]} | ${c.error ?? ''} |`,
    );
  }
  const lag = r.clusters.filter((c) => c.laggards.length > 0);
  if (lag.length) {
    out.push('');
    out.push('Slow convergences (over 5 s): the agents still incomplete in the last polling round before, and the members they did not list alive:');
    out.push('');
    for (const c of lag) out.push(`- ${c.impl} N = ${c.n} rep ${c.rep + 1} (${s(c.convergeMs)} s): ${c.laggards.map((l) => `${l.agent} missing ${l.missing.join(', ')}`).join('; ')}`);
  }
  out.push('');

  out.push('## 3. Steady-state cost per agent');
  out.push('');
  out.push(
    `After convergence and ${r.plan.settleS} s of settling, a ${r.plan.steadyWindowS} s window starting on a 10 s wall-clock boundary. CPU % = utime+stime from /proc/PID/stat over the window (100 % = one core), median over agents (max in JSON); RSS = VmRSS at the end, median over agents. UDP datagrams and bytes sent per agent per second, mean over agents, as counted by each agent (rxswim: \`rxswim_packets_sent_total\` / \`rxswim_bytes_sent_total{transport="udp"}\` from /metrics; serf: memberlist's own \`memberlist.udp.sent\` counter, count and sum, from the in-memory metrics serf dumps on SIGUSR1), and for both the same way host-wide: /proc/net/snmp Udp OutDatagrams delta / N (counts every UDP datagram on the machine; the bench sends none during the window). TCP push-pull is not in these figures.`,
  );
  out.push('');
  out.push('| N | agent | CPU % / agent | RSS MB / agent | UDP pkts/s / agent (self) | UDP bytes/s / agent (self) | UDP pkts/s / agent (snmp) |');
  out.push('|---:|---|---:|---:|---:|---:|---:|');
  const sizes = [...new Set(r.steady.map((x) => x.n))];
  for (const n of sizes) {
    const a = r.steady.find((x) => x.n === n && x.impl === 'rxswim');
    const b = r.steady.find((x) => x.n === n && x.impl === 'serf');
    for (const st of [a, b]) {
      if (!st) continue;
      out.push(`| ${n} | ${st.impl} | ${f(st.cpuPctMedian, 2)} | ${f(st.rssMBMedian, 1)} | ${f(st.selfPktsPerSec, 2)} | ${f(st.selfBytesPerSec)} | ${f(st.snmpPktsPerSec, 2)} |`);
    }
    if (a && b) {
      out.push(
        `| ${n} | **rxswim / serf** | **${x(ratio(a.cpuPctMedian, b.cpuPctMedian))}** | **${x(ratio(a.rssMBMedian, b.rssMBMedian))}** | **${x(ratio(a.selfPktsPerSec, b.selfPktsPerSec))}** | **${x(ratio(a.selfBytesPerSec, b.selfBytesPerSec))}** | **${x(ratio(a.snmpPktsPerSec, b.snmpPktsPerSec))}** |`,
      );
    }
  }
  out.push('');

  out.push('## 4. Simulator speed');
  out.push('');
  out.push('`simulate({ nodes, seed: 1, profile: "lan", loss: 0, crash: 1, durationMs })` in the bench process: the real node code on the in-memory network in virtual time. Speed = simulated node-seconds (nodes + 1 joiner, over the measured duration) per wall-clock second of the run phase; boot (join + convergence) is timed apart.');
  out.push('');
  out.push('| nodes | simulated | node-s per wall-s | boot wall ms | run wall ms | heap MB | sim. detection first / all |');
  out.push('|---:|---:|---:|---:|---:|---:|---|');
  for (const sim of r.simulator) {
    out.push(`| ${sim.nodes} | ${s(sim.durationMs)} s | **${sim.nodeSecondsPerWallSecond}** | ${sim.bootMs} | ${sim.runMs} | ${sim.heapMB} | ${s(sim.firstDetectionMs)} s / ${s(sim.fullDetectionMs)} s |`);
  }
  out.push('');

  out.push('## Notes');
  out.push('');
  out.push(`- swim-js peer: ${r.swimPeer.note}.`);
  for (const n of r.notes) out.push(`- ${n}`);
  if (r.errors.length) {
    out.push('');
    out.push('## Errors');
    out.push('');
    for (const e of r.errors) out.push(`- ${e}`);
  }
  out.push('');
  return out.join('\n');
}
