// bench/results/latest.md from the results object.
import type { Results } from '../run.js';
import { goalRows, type GoalRow } from './summary.js';

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
  out.push(`Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGB} GB, ${m.kernel}; Node ${m.node}; serf ${m.serf}; ${m.date}${m.commit ? `; rxswim at ${m.commit}` : ''}${r.cliBuiltAt ? ` (the agents' dist/cli/ built ${r.cliBuiltAt})` : ''}. Run took ${Math.round(r.durationS / 60)} min (${r.durationS} s).`);
  out.push('');
  out.push('Ratios are rxswim / serf from the same run (below 1: rxswim is faster, lighter or cheaper). The machine is small and shared: read single figures as ±10–20 %.');
  out.push('');

  out.push('## Summary against the issue\'s goals');
  out.push('');
  out.push('Every row is computed from the figures of the sections below (section column); "met" compares the measured figure with the goal, nothing else. Medians as the sections say.');
  out.push('');
  out.push('| § | figure | rxswim | serf | rxswim / serf | goal | measured against the goal | met |');
  out.push('|---|---|---:|---:|---:|---|---|---|');
  const val = (row: GoalRow, v: number | null) => (v === null ? '–' : `${Number.isInteger(v) ? v : v.toFixed(row.unit === '%' ? 2 : v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${row.unit}`);
  for (const row of goalRows(r)) {
    out.push(`| ${row.section} | ${row.figure} | ${val(row, row.rxswim)} | ${val(row, row.serf)} | ${x(row.ratio)} | ${row.goal} | ${row.against} | ${row.met === null ? '–' : row.met ? '**met**' : '**not met**'} |`);
  }
  out.push('');

  out.push('## 0. Lone agents: start-up CPU, idle cost, and the empty-Node floor');
  out.push('');
  const L = r.lone;
  if (L) {
    out.push(
      `Start-up: ${L.startReps} starts of each implementation, one at a time, alternating, each on a fresh loopback IP (127.0.95.x), no seeds; CPU = utime+stime of the agent process (all threads) from /proc/PID/stat at the moment its API first answers (polled every 25 ms; rxswim: \`GET /v1/self\`; serf: \`serf members\`), and the same moment's sum of the live threads' run time from /proc/PID/task/*/schedstat (nanoseconds; a clock tick of stat is 10 ms, about what serf spends in all). Idle: the first ${L.samples.filter((s) => s.kind === 'rxswim').length} agents of each kind stay up, alone (not joined), beside as many floor processes: \`node --input-type=module -e\` importing ${L.floorDeps.join(', ')} (rxswim's runtime dependencies) and waiting. After ${L.settleS} s of settling from the last start${r.rtt ? ' (the RTT bench of section 1 runs meanwhile)' : ''}, a ${L.windowS} s window on a 10 s wall-clock boundary: CPU % (schedstat run time of all threads, 100 % = one core), RSS (VmRSS) at its end; then wakeups = epoll_pwait + epoll_wait returns per second over all threads (\`strace -f -c\`, ${L.epollS} s, every process at once, after the CPU window since strace slows what it traces). Medians over the processes of each kind.`,
    );
    out.push('');
    out.push('| figure | rxswim | serf | **rxswim / serf** | empty-Node floor | rxswim / floor |');
    out.push('|---|---:|---:|---:|---:|---:|');
    const sm = L.startMedian;
    out.push(`| start-up CPU ms (utime+stime) | ${f(sm.rxswim.cpuMs)} | ${f(sm.serf.cpuMs)} | **${x(ratio(sm.rxswim.cpuMs, sm.serf.cpuMs))}** | | |`);
    out.push(`| start-up CPU ms (schedstat) | ${f(sm.rxswim.schedCpuMs, 1)} | ${f(sm.serf.schedCpuMs, 1)} | **${x(ratio(sm.rxswim.schedCpuMs, sm.serf.schedCpuMs))}** | | |`);
    out.push(`| start-up wall ms (spawn → first answer) | ${f(sm.rxswim.wallMs)} | ${f(sm.serf.wallMs)} | **${x(ratio(sm.rxswim.wallMs, sm.serf.wallMs))}** | | |`);
    const m = L.median;
    out.push(`| idle CPU % | ${f(m.rxswim.cpuPct, 2)} | ${f(m.serf.cpuPct, 2)} | **${x(ratio(m.rxswim.cpuPct, m.serf.cpuPct))}** | ${f(m.floor.cpuPct, 2)} | |`);
    out.push(`| wakeups / s | ${f(m.rxswim.epollPerSec, 1)} | ${f(m.serf.epollPerSec, 1)} | **${x(ratio(m.rxswim.epollPerSec, m.serf.epollPerSec))}** | ${f(m.floor.epollPerSec, 1)} | |`);
    out.push(`| RSS MB | ${f(m.rxswim.rssMB, 1)} | ${f(m.serf.rssMB, 1)} | **${x(ratio(m.rxswim.rssMB, m.serf.rssMB))}** | ${f(m.floor.rssMB, 1)} | **${x(ratio(m.rxswim.rssMB, m.floor.rssMB))}** |`);
    out.push('');
    out.push(`Every start (CPU ms utime+stime / schedstat / wall ms): ${L.starts.map((st) => `${st.impl} ${f(st.cpuMs)} / ${f(st.schedCpuMs, 1)} / ${f(st.wallMs)}`).join('; ')}. Every idle process (CPU % / RSS MB / wakeups/s): ${L.samples.map((sa) => `${sa.kind} ${f(sa.cpuPct, 2)} / ${f(sa.rssMB, 1)} / ${f(sa.epollPerSec, 1)}`).join('; ')}.`);
  } else out.push('Not measured (skipped, or see errors).');
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
    ['failedJoins', 'join: failed joins (sum over reps)', true],
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
      if (rx === undefined && sf === undefined) continue;
      const count = key === 'failedJoins';
      const v = count ? (y: number | null | undefined) => f(y) : raw ? (y: number | null | undefined) => f(y, 3) : s;
      const cells = [String(row.n), label, v(rx), v(sf), count ? '' : `**${x(ratio(rx, sf))}**`, ...(swim ? [v(sw), count ? '' : x(ratio(sw, sf))] : []), reps];
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
  const noDetect = [...new Set(r.clusters.filter((c) => c.detection === null && c.error === null).map((c) => c.n))];
  const slowPoll = [...new Set(r.clusters.filter((c) => (c.pollMs ?? 100) !== 100).map((c) => `N = ${c.n}: every ${c.pollMs} ms`))];
  if (noDetect.length || slowPoll.length) {
    out.push('');
    out.push(`${noDetect.length ? `No kill at N = ${noDetect.join(', ')} (join and convergence only). ` : ''}${slowPoll.length ? `Polling slower where one round asks every agent: ${slowPoll.join('; ')} (the times carry up to that much more). ` : ''}Convergence is waited for 60 s + 1 s per agent (2 s per agent from N = 128), then the run reports that it did not converge.`);
  }
  out.push('');

  const serial = r.serialJoins ?? [];
  if (serial.length) {
    out.push('### Serial joins');
    out.push('');
    out.push('N agents start without seeds; once every agent answers, agents 2…N join the first one after another: each join is issued once the previous one has returned (rxswim `POST /v1/join`, serf the `join` RPC, 30 s timeout each). Total = from issuing the first join until the last returned; then every agent is polled every 100 ms until all list N alive.');
    out.push('');
    out.push('| impl | N | agents up | joins issued | failed | total | join median / max | every view complete (from the first join / after the last) | load avg | error |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
    for (const j of serial) {
      out.push(`| ${j.impl} | ${j.n} | ${s(j.readyMs)} s | ${j.joins} | ${j.joinErrors.length} | ${s(j.totalMs)} s | ${f(j.joinMsMedian, 1)} / ${f(j.joinMsMax)} ms | ${s(j.convergeMs)} / ${s(j.afterLastJoinMs)} s | ${j.load[0]} → ${j.load[1]} | ${j.error ?? ''} |`);
    }
    const sa = serial.find((j) => j.impl === 'rxswim');
    const sb = serial.find((j) => j.impl === 'serf');
    if (sa && sb) out.push(`\nrxswim / serf: total ${x(ratio(sa.totalMs, sb.totalMs))}, per join (median) ${x(ratio(sa.joinMsMedian, sb.joinMsMedian))}, every view complete ${x(ratio(sa.convergeMs, sb.convergeMs))}.`);
    for (const j of serial.filter((q) => q.joinErrors.length)) out.push(`\n${j.impl}: first failed join: ${j.joinErrors[0]}`);
    out.push('');
  }

  out.push('## 3. Steady-state cost per agent');
  out.push('');
  out.push(
    `After convergence and ${r.plan.settleS} s of settling (a Node agent's CPU falls for the first minute or two as its JIT warms up, Serf's is compiled: the window comes after that), a ${r.plan.steadyWindowS} s window starting on a 10 s wall-clock boundary. CPU % = run time of all the agent's threads from /proc/PID/task/*/schedstat (nanoseconds) over the window (100 % = one core), median over agents (max in JSON); RSS = VmRSS at the end, median over agents. UDP datagrams and bytes sent per agent per second, mean over agents, as counted by each agent (rxswim: \`rxswim_packets_sent_total\` / \`rxswim_bytes_sent_total{transport="udp"}\` from /metrics; serf: memberlist's own \`memberlist.udp.sent\` counter, count and sum, from the in-memory metrics serf dumps on SIGUSR1), and for both the same way host-wide: /proc/net/snmp Udp OutDatagrams delta / N (counts every UDP datagram on the machine; the bench sends none during the window). TCP push-pull is not in these figures. Wakeups: after the window (strace slows what it traces), epoll_pwait + epoll_wait returns per second over all threads of one agent (the second; not the seed), \`strace -f -c\` for ${r.plan.epollS ?? '–'} s. RSS / floor: the agent's median RSS over the empty-Node floor of section 0, measured in the same run${r.lone?.median.floor.rssMB ? ` (${r.lone.median.floor.rssMB} MB)` : ''}.`,
  );
  out.push('');
  const floor = r.lone?.median.floor.rssMB ?? null;
  out.push('| N | agent | CPU % / agent | RSS MB / agent | RSS / floor | wakeups/s (one agent) | UDP pkts/s / agent (self) | UDP bytes/s / agent (self) | UDP pkts/s / agent (snmp) |');
  out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  const sizes = [...new Set(r.steady.map((x) => x.n))];
  for (const n of sizes) {
    const a = r.steady.find((x) => x.n === n && x.impl === 'rxswim');
    const b = r.steady.find((x) => x.n === n && x.impl === 'serf');
    for (const st of [a, b]) {
      if (!st) continue;
      out.push(`| ${n} | ${st.impl} | ${f(st.cpuPctMedian, 2)} | ${f(st.rssMBMedian, 1)} | ${x(ratio(st.rssMBMedian, floor))} | ${f(st.epollPerSec, 1)} | ${f(st.selfPktsPerSec, 2)} | ${f(st.selfBytesPerSec)} | ${f(st.snmpPktsPerSec, 2)} |`);
    }
    if (a && b) {
      out.push(
        `| ${n} | **rxswim / serf** | **${x(ratio(a.cpuPctMedian, b.cpuPctMedian))}** | **${x(ratio(a.rssMBMedian, b.rssMBMedian))}** | | **${x(ratio(a.epollPerSec, b.epollPerSec))}** | **${x(ratio(a.selfPktsPerSec, b.selfPktsPerSec))}** | **${x(ratio(a.selfBytesPerSec, b.selfBytesPerSec))}** | **${x(ratio(a.snmpPktsPerSec, b.snmpPktsPerSec))}** |`,
      );
    }
  }
  out.push('');

  out.push('## 4. Simulator speed');
  out.push('');
  out.push('`rxswim simulate --nodes N --duration D --seed 1 --profile lan --loss 0 --crash 1 --json` (the CLI bundle the agents run, `simulate()` inside), one process per run with a 12 GB heap limit, killed at a wall-clock cap; sizes with several runs run them one after another, and the summary takes the median: the real node code on the in-memory network in virtual time. Wall = boot (every node joins, then full convergence) + run (the measured duration); speed = simulated node-seconds (nodes + 1 joiner, over the measured duration) per wall-clock second of the run phase. Process wall adds Node start-up and the report. 2000 nodes × 120 s runs only with `--sim-big`.');
  out.push('');
  out.push('| nodes | run | simulated | wall (boot + run) s | node-s per wall-s | boot wall ms | run wall ms | process wall s | heap MB | sim. detection first / all |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const sim of r.simulator) {
    out.push(`| ${sim.nodes} | ${sim.rep ?? 1} | ${s(sim.durationMs)} s | **${s(sim.bootMs + sim.runMs)}** | ${sim.nodeSecondsPerWallSecond} | ${sim.bootMs} | ${sim.runMs} | ${s(sim.processWallMs)} | ${sim.heapMB} | ${s(sim.firstDetectionMs)} s / ${s(sim.fullDetectionMs)} s |`);
  }
  for (const e of r.simulatorErrors ?? []) out.push(`| ${e.nodes} | | ${s(e.durationMs)} s | did not finish (${s(e.wallMs)} s): ${e.error} | | | | | | |`);
  out.push('');

  out.push('## 5. Wire RTT at SWIM\'s own rate (bench/lib/wire-rtt.ts)');
  out.push('');
  // the other modules' headings one level down, under this section's
  const nest = (md: string) => md.trim().replace(/^(#+) /gm, '#$1 ');
  out.push(r.wireRtt ? nest(r.wireRtt.markdown) : 'Not in this run (skipped with `--skip wirertt`, bench/lib/wire-rtt.ts absent, or see errors).');
  out.push('');
  out.push('## 6. A big join (bench/lib/big-join.ts)');
  out.push('');
  out.push(r.bigJoin ? nest(r.bigJoin.markdown) : 'Not in this run (skipped with `--skip bigjoin`, bench/lib/big-join.ts absent, or see errors).');
  out.push('');
  out.push('## 7. Join and leave phases (bench/lib/phases.ts)');
  out.push('');
  out.push(r.phases ? nest(r.phases.markdown) : 'Not in this run (skipped with `--skip phases`, or see errors).');
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
