// `rxswim cluster` (plain output) on 127.0.82.*: its temporary folder of data dirs
// is removed however the demo ends: a --host that is not on this host (refused,
// exit 2, before anything starts), every agent failing by itself (exit 1), and
// SIGINT (every agent leaves, exit 0).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { builtCli, CLI, kill, type Proc } from '../helpers/procs.js';
import { cleanEnv, exitOf, runCli } from '../helpers/operator.js';
import { waitFor } from '../helpers/wait.js';

const skip = !builtCli() && 'run `npm run build` first';

/** A TMPDIR of the test's own, so the demo's folder can be looked for. */
function scratch(): { dir: string; env: NodeJS.ProcessEnv; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-cluster-test-'));
  return { dir, env: cleanEnv({ TMPDIR: dir }), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('cluster --host not on this host: refused with exit 2 before any agent starts, no folder left', { timeout: 20_000, skip }, async () => {
  const s = scratch();
  try {
    const [far, word, wild] = await Promise.all([
      runCli(['cluster', '--plain', '--size', '2', '--host', '10.255.255.1', '--base-port', '17960'], { env: s.env }),
      runCli(['cluster', '--plain', '--size', '2', '--host', 'nohost', '--base-port', '17960'], { env: s.env }),
      runCli(['cluster', '--plain', '--size', '2', '--host', '0.0.0.0', '--base-port', '17960'], { env: s.env }),
    ]);
    assert.equal(far.code, 2, far.stderr);
    assert.match(far.stderr, /^rxswim: --host: 10\.255\.255\.1 is not an address of this host/);
    assert.equal(word.code, 2);
    assert.match(word.stderr, /--host: must be an IP address of this host/);
    assert.equal(wild.code, 2);
    assert.match(wild.stderr, /--host: must be one address of this host, not the wildcard/);
    assert.deepEqual(readdirSync(s.dir), [], 'no temporary folder left behind');
  } finally {
    s.done();
  }
});

test('cluster whose agents all fail by themselves (ports in use): exit 1, no folder left', { timeout: 30_000, skip }, async () => {
  const s = scratch();
  const held: Server[] = [];
  try {
    for (const port of [17970, 17971]) {
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.82.20', () => resolve());
      });
      held.push(srv);
    }
    const r = await runCli(['cluster', '--plain', '--size', '2', '--host', '127.0.82.20', '--base-port', '17970', '--profile', 'local'], { env: s.env, timeoutMs: 25_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /--bind: 127\.0\.82\.20:17970 is already in use/);
    assert.match(r.stderr, /every agent has exited/);
    assert.deepEqual(readdirSync(s.dir), [], 'no temporary folder left behind');
  } finally {
    for (const srv of held) await new Promise((r) => srv.close(r));
    s.done();
  }
});

test('cluster stopped with SIGINT: every agent leaves, exit 0, no folder left', { timeout: 40_000, skip }, async () => {
  const s = scratch();
  const child = spawn(process.execPath, [CLI, 'cluster', '--plain', '--size', '2', '--host', '127.0.82.21', '--base-port', '17980', '--profile', 'local'], { stdio: ['ignore', 'pipe', 'pipe'], env: s.env });
  const p: Proc = { name: 'cluster', child, lines: [] };
  createInterface({ input: child.stdout }).on('line', (l) => p.lines.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => p.lines.push(l));
  try {
    await waitFor('both agents to see each other', () => p.lines, (ls) => ls.some((l) => /\[node-1\] joined node-2/.test(l)) && ls.some((l) => /\[node-2\] joined node-1/.test(l)), 20_000);
    assert.equal(readdirSync(s.dir).length, 1, 'the demo keeps its data dirs in one folder');
    child.kill('SIGINT');
    assert.equal(await exitOf(p, 20_000), 0, p.lines.join('\n'));
    assert.deepEqual(readdirSync(s.dir), [], 'the folder is gone');
  } finally {
    await kill(p, 'SIGKILL');
    s.done();
  }
});
