// Per-process CPU and memory from /proc, and host-wide UDP counters.
import { readdirSync, readFileSync } from 'node:fs';

/** CLK_TCK on Linux (getconf CLK_TCK); 100 on every mainstream kernel configuration */
export const CLK_TCK = 100;

/** utime + stime of a process, in clock ticks; undefined once it is gone */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name is in parentheses and may contain spaces: split after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * On-CPU time of a process in ms, summed over its threads from /proc/PID/task/N/schedstat
 * (nanoseconds, the scheduler's own accounting): at idle an agent uses a few ms a second,
 * so utime+stime's 10 ms ticks are too coarse to compare two agents. Threads that exit
 * between two readings drop out of the sum, so read it for long-lived processes only.
 */
export function cpuMsPrecise(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited while we read
      }
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/** resident set size in MB (VmRSS) */
export function rssMB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface UdpCounters {
  InDatagrams: number;
  OutDatagrams: number;
  InErrors: number;
  RcvbufErrors: number;
}

/** the host's (network namespace's) UDP counters from /proc/net/snmp */
export function udpCounters(): UdpCounters {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  const get = (k: string) => values[names.indexOf(k)] ?? NaN;
  return { InDatagrams: get('InDatagrams'), OutDatagrams: get('OutDatagrams'), InErrors: get('InErrors'), RcvbufErrors: get('RcvbufErrors') };
}
