// The operator commands against live agents on 127.0.64.*: members, info, join,
// leave, keys and monitor, and their exit codes (0 ok, 1 agent failure, 2 usage).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import type { MemberJson, SelfJson } from '../../src/http/server.js';
import { builtCli, CLI, httpMembers, kill, ProcGroup, type Proc } from '../helpers/procs.js';
import { cleanEnv, exitOf, getJson, runCli, startAgent } from '../helpers/operator.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'cli-test-token';
const http = (i: number) => `127.0.64.${i}:8946`;

test('CLI commands against live agents, with meaningful exit codes', { timeout: 90_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const key1 = randomBytes(32).toString('base64');
  const key2 = randomBytes(32).toString('base64');
  const g = new ProcGroup();
  const agent = (i: number, extra: string[]) =>
    startAgent(g, `c${i}`, ['--node', `c${i}`, '--bind', `127.0.64.${i}:7946`, '--http', http(i), '--profile', 'local', '--encrypt', key1,
      // a fixed 3 s suspicion (no Lifeguard stretch): these tests are about the API, not detection time
      '--suspicion-max-timeout-mult', '1', ...extra]);
  try {
    const a = agent(1, ['--http-token', TOKEN, '--tag', 'role=db']);
    await waitFor('c1 HTTP', () => httpMembers(http(1)), (m) => m !== undefined, 10_000);
    agent(2, ['--join', '127.0.64.1']);
    const c3 = agent(3, []);
    await waitFor('c1, c2 see 2 alive', async () => Promise.all([1, 2].map(async (i) => (await httpMembers(http(i)))?.filter((m) => m.state === 'alive').length)), (xs) => xs.every((x) => x === 2), 10_000);
    await waitFor('c3 HTTP', () => httpMembers(http(3)), (m) => m !== undefined, 10_000);

    // ---- members ----
    const [table, json, dead] = await Promise.all([
      runCli(['members', '--http', http(1)]),
      runCli(['members', '--json', '--status', 'alive'], { env: cleanEnv({ RXSWIM_HTTP_ADDR: http(2) }) }),
      runCli(['members', '--http', http(2), '--json', '--status', 'dead']),
    ]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+ADDRESS\s+STATE\s+INCARNATION\s+TAGS$/);
    assert.ok(lines.some((l) => /^c1\s+127\.0\.64\.1:7946\s+alive\s+\d+\s+role=db$/.test(l)), table.stdout);
    assert.equal(lines.length, 3);
    // --http from the environment; --json; --status
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as MemberJson[]).map((m) => m.name).sort(), ['c1', 'c2']);
    assert.equal(JSON.parse(dead.stdout).length, 0);

    // ---- info ----
    const [info, infoJsonRun] = await Promise.all([runCli(['info', '--http', http(1)]), runCli(['info', '--json', '--http', http(3)])]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^node\s+c1$/m);
    assert.match(info.stdout, /^address\s+127\.0\.64\.1:7946$/m);
    assert.match(info.stdout, /^health\s+ok$/m);
    assert.match(info.stdout, /^members\s+2 alive, 0 suspect, 0 failed, 0 left$/m);
    assert.match(info.stdout, /^probe rtt\s+/m);
    assert.match(info.stdout, /^tags\s+role=db$/m);
    const infoJson = JSON.parse(infoJsonRun.stdout) as SelfJson;
    assert.equal(infoJson.name, 'c3');
    assert.deepEqual(infoJson.members, { alive: 1, suspect: 0, dead: 0, left: 0 });

    // ---- join ----
    const joined = await runCli(['join', '--http', http(3), '127.0.64.1:7946', 'dns:localhost:1']);
    assert.equal(joined.code, 0, joined.stderr);
    assert.equal(joined.stdout, 'joined: 1 address(es) answered\n', '127.0.64.1 answered; localhost:1 did not');
    await waitFor('c1 sees 3 alive', async () => (await httpMembers(http(1)))?.filter((m) => m.state === 'alive').length, (n) => n === 3, 10_000);
    const [joinFails, joinNoToken, noToken] = await Promise.all([
      runCli(['join', '--http', http(3), '127.0.64.99:7946']),
      runCli(['join', '--http', http(1), '127.0.64.3']),
      runCli(['keys', 'list', '--http', http(1)]),
    ]);
    assert.equal(joinFails.code, 1, 'a join no seed answers is a failure of the agent: 1');
    assert.match(joinFails.stderr, /rxswim join: POST \/v1\/join: 502 join failed for every seed: 127\.0\.64\.99:7946/);
    assert.equal(joinNoToken.code, 1);
    assert.match(joinNoToken.stderr, /401 .*pass --token or set RXSWIM_HTTP_TOKEN/);
    const joinToken = await runCli(['join', '--http', http(1), '127.0.64.3'], { env: cleanEnv({ RXSWIM_HTTP_TOKEN: TOKEN }) });
    assert.equal(joinToken.code, 0, joinToken.stderr);

    // ---- keys ----
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /401/);
    const list = await runCli(['keys', 'list', '--http', http(1), '--token', TOKEN]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, `${key1}  (primary)\n`);
    const install = await runCli(['keys', 'install', key2, '--http', http(1), '--token', TOKEN]);
    assert.equal(install.code, 0, install.stderr);
    assert.equal(install.stdout, `install: ok\n${key1}  (primary)\n${key2}\n`);
    const removePrimary = await runCli(['keys', 'remove', key1, '--http', http(1), '--token', TOKEN]);
    assert.equal(removePrimary.code, 1);
    assert.match(removePrimary.stderr, /400 cannot remove the primary key/);
    const remove = await runCli(['keys', 'remove', key2, '--http', http(1), '--token', TOKEN, '--json']);
    assert.deepEqual(JSON.parse(remove.stdout), { keys: [key1], primary: key1 });
    // (independent invocations run side by side: each is a Node start-up)
    const usage = [['keys', 'install'], ['keys', 'list', key1], ['keys', 'rotate', key1]];
    const usageResults = await Promise.all(usage.map((args) => runCli([...args, '--http', http(1), '--token', TOKEN])));
    usageResults.forEach((r, i) => assert.equal(r.code, 2, `${usage[i]!.join(' ')} is a usage error: ${r.stderr}`));

    // ---- monitor: a live line for a kill -9 ----
    const mon = spawnMonitor(['monitor', '--http', http(2)]);
    const monJson = spawnMonitor(['monitor', '--json', '--http', http(2)]);
    await waitFor('monitor connected', () => mon.err.join('\n'), (s) => /monitoring http:\/\/127\.0\.64\.2:8946/.test(s), 10_000);
    await waitFor('monitor --json connected', async () => (await getJson(`http://${http(2)}/metrics`)).status, (s) => s === 200, 1000);
    await kill(c3, 'SIGKILL');
    await waitFor('monitor prints c3 failed', () => mon.out, (ls) => ls.some((l) => /^\S+Z\s+failed\s+c3\s+127\.0\.64\.3:7946\s+\(dead, incarnation \d+\)$/.test(l)), 20_000);
    await waitFor('monitor --json prints c3 failed', () => monJson.out, (ls) => ls.some((l) => l.includes('"type":"failed"') && l.includes('"name":"c3"')), 5000);
    mon.child.kill('SIGINT');
    monJson.child.kill('SIGINT');
    assert.equal(await exitOf(mon, 5000), 0, 'Ctrl-C ends monitor with 0');
    assert.equal(await exitOf(monJson, 5000), 0);

    // ---- leave ----
    const leave = await runCli(['leave', '--http', http(1), '--token', TOKEN]);
    assert.equal(leave.code, 0, leave.stderr);
    assert.equal(leave.stdout, 'leaving\nleft\n');
    assert.equal(await exitOf(a, 5000), 0, 'the agent exited 0 after its leave');
    await waitFor('c2 sees c1 left', async () => (await httpMembers(http(2)))?.find((m) => m.name === 'c1')?.state, (s) => s === 'left', 10_000);

    // ---- exit codes of failures ----
    const [unreachable, monGone, badStatus, badHttp, badCommand, help] = await Promise.all([
      runCli(['members', '--http', '127.0.64.99:8946']),
      runCli(['monitor', '--http', '127.0.64.99:8946']),
      runCli(['members', '--status', 'zombie']),
      runCli(['members', '--http', 'host:port:x']),
      runCli(['frobnicate']),
      runCli(['--help']),
    ]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /rxswim members: cannot reach the agent at http:\/\/127\.0\.64\.99:8946: ECONNREFUSED/);
    assert.equal(monGone.code, 1);
    assert.equal(badStatus.code, 2);
    assert.equal(badHttp.code, 2);
    assert.match(badHttp.stderr, /--http: must be HOST:PORT/);
    assert.equal(badCommand.code, 2);
    assert.equal(help.code, 0);
    for (const cmd of ['agent', 'members', 'info', 'join', 'leave', 'event', 'query', 'force-leave', 'tags', 'keys', 'monitor', 'cluster']) assert.match(help.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
  } finally {
    await g.killAll();
  }
});

/** a long-running CLI command with its stdout and stderr lines */
function spawnMonitor(args: string[]): Proc & { out: string[]; err: string[] } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  const p = { name: 'monitor', child, lines: [] as string[], out: [] as string[], err: [] as string[] };
  createInterface({ input: child.stdout }).on('line', (l) => p.out.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => p.err.push(l));
  // killed by PID in the test's finally through its own group below if still running
  monitors.push(p);
  return p;
}
const monitors: Proc[] = [];
test.after(async () => {
  for (const m of monitors) await kill(m, 'SIGKILL');
});
