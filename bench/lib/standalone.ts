// What a bench section run on its own needs around its measurement: a log with elapsed
// seconds, a soft deadline (no new repetition after it) and a hard one (everything this
// bench started is killed), the same on SIGINT/SIGTERM, and the results written as
// bench/results/STEM.{json,md} with the machine described. Used by bench/wire-rtt.ts,
// bench/big-join.ts and bench/phases.ts; bench/run.ts has its own plan and deadline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closeHttp } from './http.js';
import { describeMachine } from './machine.js';
import { killLive } from './wire-rtt.js';

export interface Standalone<R extends { durationS: number }> {
  /** markdown title of the results file */
  title: string;
  /** the command line shown in the results */
  command: string;
  /** file name under bench/results/, without extension */
  stem: string;
  softMs: number;
  hardMs: number;
  measure(log: (s: string) => void, deadlineAt: number): Promise<R>;
  render(r: R): string;
  /** kills what the section started, beside lib/wire-rtt.ts's processes (deadline, signal, end) */
  cleanup?: () => Promise<void>;
}

export async function runStandalone<R extends { durationS: number }>(s: Standalone<R>): Promise<void> {
  const killAll = () => Promise.all([killLive(), s.cleanup?.()]);
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  const t0 = Date.now();
  const log = (line: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const hard = setTimeout(() => {
    log('hard deadline: killing every process this bench started');
    void killAll().finally(() => process.exit(1));
  }, s.hardMs);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: killing every process this bench started`);
      void killAll().finally(() => process.exit(130));
    });
  }
  try {
    const r = await s.measure(log, t0 + s.softMs);
    const machine = describeMachine();
    const md = [
      `# ${s.title}`,
      '',
      `\`${s.command}\`. Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.kernel}; Node ${machine.node}; serf ${machine.serf}; ${machine.date}${machine.commit ? `; rxswim at ${machine.commit}` : ''}. Run took ${r.durationS} s. The machine is small and shared with other work (load averages below): read single figures as ±10–20 %.`,
      '',
      s.render(r),
    ].join('\n');
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}${s.stem}.json`, JSON.stringify({ machine, ...r }, null, 2) + '\n');
    writeFileSync(`${out}${s.stem}.md`, md);
    process.stdout.write(md);
  } finally {
    clearTimeout(hard);
    closeHttp();
    await killAll();
  }
}
