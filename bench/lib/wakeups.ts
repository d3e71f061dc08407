// Event-loop wakeups of a process, counted from outside: `strace -f -c` on every thread
// of it for a few seconds, epoll_pwait + epoll_wait calls per second (libuv's and Go's
// netpoller's one blocking wait each; a wakeup is one return from it). strace slows the
// traced process and costs CPU: run it only after the CPU windows.
// Every helper process started here is tracked and killed by PID (`killHelpers`).
import { spawn, type ChildProcess } from 'node:child_process';
import { round } from './stats.js';

const helpers = new Set<ChildProcess>();

/** SIGKILL every helper (strace, timeout) still running */
export function killHelpers(): void {
  for (const c of helpers) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  helpers.clear();
}

/** runs `cmd args`, bounded by `timeoutMs` (then killed by PID); resolves with its exit code and output */
export function runBounded(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    helpers.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    }, timeoutMs);
    const done = (code: number | null) => {
      clearTimeout(timer);
      helpers.delete(child);
      resolve({ code, stdout, stderr });
    };
    child.once('error', () => done(null));
    child.once('close', (code) => done(code));
  });
}

/**
 * epoll_pwait + epoll_wait calls per second over all threads of `pid`, from
 * `strace -f -c` attached for `seconds` (stopped with SIGINT by `timeout`); null when
 * strace is missing, not permitted, or the process is gone.
 */
export async function epollPerSecond(pid: number, seconds: number): Promise<number | null> {
  const r = await runBounded('timeout', ['-s', 'INT', String(seconds), 'strace', '-f', '-c', '-e', 'trace=epoll_pwait,epoll_wait', '-p', String(pid)], seconds * 1000 + 10_000);
  // strace -c columns: % time, seconds, usecs/call, calls, [errors], syscall; one row per syscall
  let calls = 0;
  let rows = 0;
  for (const line of r.stderr.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (!/^epoll_p?wait$/.test(cols[cols.length - 1] ?? '')) continue;
    const n = Number(cols[3]);
    if (Number.isFinite(n)) {
      calls += n;
      rows++;
    }
  }
  // attached but no table: no call returned in the window (strace prints no table then)
  return rows > 0 ? round(calls / seconds, 1) : /Process \d+ attached/.test(r.stderr) ? 0 : null;
}
