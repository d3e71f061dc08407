// `rxswim simulate` runs in a Node process of its own, started with V8 flags for it.
// Why: a simulation holds N² member actors (250,000 at 500 nodes) and allocates short-
// lived packets and messages at a high rate while it builds them. With Node's default
// young generation (16 MB semi-spaces) a third of each scavenge survives and is copied,
// and garbage collection was a fifth of a 500-node run. Heap flags can only be given
// when a process starts (v8.setFlagsFromString does not resize a running heap), so the
// command starts itself again once with them, unless they were given already. The child
// inherits stdio, and the parent forwards termination signals and returns its exit code.
//
// The child also gets an old-space limit from the machine's memory, unless the caller
// gave one: Node's default (about 4 GB here) is what a simulation of ~1,000 nodes needs,
// and past it the run ends in a V8 out-of-memory abort after minutes of work.
import { spawn } from 'node:child_process';
import { totalmem } from 'node:os';

/** set in the child, so that it runs the simulation instead of starting another child */
export const SIMULATE_CHILD_ENV = 'RXSWIM_SIMULATE_CHILD';

/** What the child is started with: a 64 MB semi-space (young generation of 3 × 64 MB). */
export const SIMULATE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** The share of the machine's memory a simulation's heap may take (the rest: the process, the OS). */
export const SIMULATE_HEAP_SHARE = 0.75;

/**
 * The flags the child starts with: SIMULATE_V8_FLAGS, and an old-space limit of
 * SIMULATE_HEAP_SHARE of `totalBytes` when the caller set none (and that is more than
 * Node's own default, `defaultLimitMB`).
 */
export function simulateChildFlags(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
  totalBytes: number = totalmem(),
  defaultLimitMB = 4096,
): string[] {
  const given = `${execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`;
  const flags = [...SIMULATE_V8_FLAGS];
  const mb = Math.floor((totalBytes * SIMULATE_HEAP_SHARE) / 1048576);
  if (!/--max-old-space-size/.test(given) && mb > defaultLimitMB) flags.push(`--max-old-space-size=${mb}`);
  return flags;
}

/** whether this process should start a child with SIMULATE_V8_FLAGS instead of simulating itself */
export function wantsOwnProcess(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  if (env[SIMULATE_CHILD_ENV] === '1') return false;
  // Whoever set the young generation themselves keeps their choice, in this process.
  const given = `${execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`;
  return !/--max-semi-space-size|--semi-space-size/.test(given);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_NUMBER: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Run this same command line again in a child with simulateChildFlags(); resolves with its
 * exit code (128 + the signal number when a signal ended it), or undefined when the child
 * could not be started (the caller then simulates in this process).
 */
export function runInOwnProcess(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const script = process.argv[1];
    if (script === undefined) return resolve(undefined);
    const child = spawn(process.execPath, [...process.execArgv, ...simulateChildFlags(), script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [SIMULATE_CHILD_ENV]: '1' },
    });
    // A harness that stops us by PID must stop the simulation too.
    const forward = (sig: NodeJS.Signals) => {
      child.kill(sig);
    };
    for (const s of SIGNALS) process.on(s, forward);
    const done = (code: number | undefined) => {
      for (const s of SIGNALS) process.off(s, forward);
      resolve(code);
    };
    child.once('error', () => done(undefined));
    child.once('exit', (code, signal) => done(code ?? (signal ? 128 + (SIGNAL_NUMBER[signal] ?? 0) : 1)));
  });
}
