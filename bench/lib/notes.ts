// Notes derived from a run's results (also used when re-rendering a results file).
import type { Results } from '../run.js';

/** what a reader needs to know about this particular run */
export function autoNotes(r: Results): string[] {
  const PLAN = r.plan;
  const notes: string[] = [];
  const reps = PLAN.sizes.map((n) => `N = ${n}: ${PLAN.reps[n] ?? 1}×`).join(', ');
  const once = PLAN.sizes.filter((n) => (PLAN.reps[n] ?? 1) === 1 && n >= 64);
  notes.push(`Repetitions: ${reps} (${PLAN.mode} run${once.length ? `; N = ${once.join(' and ')} once, to keep the run within its time` : ''}). Steady state was sampled once per N, in the first repetition, before the kill${PLAN.settleS !== undefined ? `, after ${PLAN.settleS} s of settling from convergence` : ''}.`);
  for (const c of r.clusters) {
    if (c.joinErrors.length === 0) continue;
    const reason = /\((.*?)\)"/.exec(c.joinErrors[0]!)?.[1] ?? c.joinErrors[0]!;
    notes.push(`${c.impl} N = ${c.n} rep ${c.rep + 1}: ${c.joinErrors.length} of ${c.n - 1} joins failed (first: ${reason})${c.convergeMs !== null ? '; every agent still ended up listing all N alive (the convergence time includes this)' : ''}.`);
  }
  for (const n of [...new Set(r.clusters.filter((c) => c.n >= 64).map((c) => c.n))]) {
    const big = r.clusters.filter((c) => c.n === n);
    const parts = big.map((c) => `${c.impl}: ${c.error ? `failed (${c.error})` : `all agents up in ${((c.readyMs ?? 0) / 1000).toFixed(1)} s, converged in ${((c.convergeMs ?? 0) / 1000).toFixed(1)} s${c.detection ? `, ${c.detection.detected}/${c.detection.of} saw the kill` : ''}`}`);
    const st = r.steady.filter((x) => x.n === n).map((x) => `${x.impl} ${((x.cpuPctMean ?? 0) * x.n).toFixed(0)} % of one core in total`);
    notes.push(`N = ${n} on ${r.machine.cores} cores: ${parts.join('; ')}${st.length ? `; at steady state ${st.join(', ')}` : ''}.`);
  }
  for (const j of r.serialJoins ?? []) {
    if (j.joinErrors.length === 0) continue;
    notes.push(`${j.impl} N = ${j.n}, serial joins: ${j.joinErrors.length} of ${j.joins} failed (first: ${j.joinErrors[0]}).`);
  }
  if (r.lone && r.lone.startMedian.serf.cpuMs === 0) {
    notes.push(`serf's start-up CPU is below one clock tick (10 ms) of /proc/PID/stat's utime+stime; the schedstat figure (${r.lone.startMedian.serf.schedCpuMs} ms, run time of its live threads) is the finer one, and the start-up ratio is taken from it.`);
  }
  for (const st of r.steady) {
    if (st.selfPktsPerSec !== null && st.snmpPktsPerSec !== null && Math.abs(st.snmpPktsPerSec - st.selfPktsPerSec) > 0.2 * st.selfPktsPerSec) {
      notes.push(
        `N = ${st.n} ${st.impl}: the host-wide UDP count (${st.snmpPktsPerSec} datagrams/s per agent) disagrees with the agents' own (${st.selfPktsPerSec}): other processes on this shared machine sent UDP in the same network namespace during the window, so the host-wide column is not usable here; the self-counted columns are per process and count the same thing for both (one datagram per send).`,
      );
    }
  }
  if (r.rtt?.ackBytes.serf && r.rtt.ackBytes.rxswim && r.rtt.ackBytes.serf > r.rtt.ackBytes.rxswim) {
    notes.push(
      `serf's acks are larger (${r.rtt.ackBytes.serf} bytes against rxswim's ${r.rtt.ackBytes.rxswim}): Serf's ping delegate puts its Vivaldi network coordinate in every ack's payload, which rxswim does not implement. That is most of the difference in UDP bytes per agent at the same datagram rate.`,
    );
  }
  if (r.steady.length) {
    const w = Math.min(...r.steady.map((x) => x.windowS));
    notes.push(`Idle CPU % per agent is the scheduler's own run time of every thread (/proc/PID/task/*/schedstat, nanoseconds) over the ${w} s window, not utime+stime, whose 10 ms ticks are about a tenth of what an idle agent spends in such a window. The machine is shared: read idle-CPU ratios within ±10 % as equal.`);
  }
  const loads = r.clusters.flatMap((c) => c.load);
  if (loads.length) notes.push(`Machine load (1-min load average, this bench's own agents included) ranged ${Math.min(...loads)}–${Math.max(...loads)} on ${r.machine.cores} cores during the cluster runs: other work shared the machine.`);
  return notes;
}

