// What the benchmarks ran on.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  kernel: string;
  node: string;
  serf: string;
  date: string;
  /** the rxswim commit measured (`git describe --always --dirty`) */
  commit?: string;
}

function gitCommit(): string | undefined {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', timeout: 5000, cwd: new URL('..', import.meta.url) });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function describeMachine(): Machine {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    /* not Linux */
  }
  const serf = spawnSync('serf', ['version'], { encoding: 'utf8', timeout: 5000 });
  return {
    cpuModel,
    cores: os.availableParallelism(),
    memoryGB: Math.round(os.totalmem() / 1e9),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    serf: serf.status === 0 ? serf.stdout.split('\n')[0]!.replace(/^Serf\s+/, '').trim() : 'not installed',
    date: new Date().toISOString(),
    commit: gitCommit(),
  };
}
