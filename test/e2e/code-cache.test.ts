// The built CLI runs its bundle through V8's code cache (scripts/cli-loader.mjs): the
// build's cache is accepted by the Node that built it, and a cache that does not fit
// (truncated, or for an edited bundle) or none at all only costs the compile: the
// agent starts, answers and leaves as usual, and its start-up log says which it was.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { builtCli, CLI } from '../helpers/procs.js';

const CACHE = `${dirname(CLI)}/rxswim.cjs.v8cache`;

/** starts an agent from `main`, reads its `started` line, asks its API, stops it; what its log said */
async function startAndStop(main: string, host: string): Promise<{ codeCache: unknown; answered: boolean; code: number | null }> {
  const child = spawn(process.execPath, [main, 'agent', '--node', `cc-${host}`, '--bind', `${host}:7946`, '--http', `${host}:8500`, '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no started line in 10 s')), 10_000);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.event === 'started') (clearTimeout(timer), resolve(j));
      });
      child.once('exit', (code) => reject(new Error(`agent exited (${code}) before starting`)));
    });
    let answered = false;
    for (let i = 0; i < 100 && !answered; i++) {
      answered = await fetch(`http://${host}:8500/v1/self`).then((r) => r.ok, () => false);
      if (!answered) await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    return { codeCache: started.codeCache, answered, code: await exited };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

test('the build made a code cache, and the Node that built it accepts it', { timeout: 30_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  assert.ok(statSync(CACHE).size > 100_000, 'dist/cli/rxswim.cjs.v8cache holds more than the top level');
  const r = await startAndStop(CLI, '127.0.136.1');
  assert.deepEqual(r, { codeCache: 'accepted', answered: true, code: 0 });
});

test('a cache that does not fit, or none, is only slower: rejected or absent, and the agent works', { timeout: 60_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-code-cache-'));
  try {
    cpSync(dirname(CLI), dir, { recursive: true });
    const main = join(dir, 'main.js');
    const cache = join(dir, 'rxswim.cjs.v8cache');
    const whole = readFileSync(cache);

    writeFileSync(cache, whole.subarray(0, whole.length >> 1));
    assert.deepEqual(await startAndStop(main, '127.0.136.2'), { codeCache: 'rejected', answered: true, code: 0 }, 'a truncated cache');

    writeFileSync(cache, whole);
    appendFileSync(join(dir, 'rxswim.cjs'), '\n// edited after the build\n');
    assert.deepEqual(await startAndStop(main, '127.0.136.3'), { codeCache: 'rejected', answered: true, code: 0 }, 'the cache of another bundle');

    rmSync(cache);
    assert.deepEqual(await startAndStop(main, '127.0.136.4'), { codeCache: 'absent', answered: true, code: 0 }, 'no cache');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
