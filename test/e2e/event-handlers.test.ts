// `rxswim agent --event-handler` with two real rxswim agents on 127.0.125.1x, encrypted:
// a handler script that appends its SERF_* environment and its stdin to a file sees
// its own agent's join, the other's join, a user event sent through the other agent
// with `rxswim event`, a graceful leave, a rejoin and a kill -9 (the PID proven gone)
// as member-failed; `rxswim query` gets the other agent's query script's stdout; a script past --event-handler-timeout is killed with what it
// started and counted; and the agent, asked to leave while a script runs, leaves no
// process behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCli, httpMembers, kill, metricValue, ProcGroup, type Proc } from '../helpers/procs.js';
import { exitOf, runCli, startAgent } from '../helpers/operator.js';
import { readRuns, recordingScript, type HandlerRun } from '../helpers/handler-runs.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'cGpJcUh1aXhYSk5sYm9xRw==';
const bind = (i: number) => `127.0.125.1${i}:7946`;
const http = (i: number) => `127.0.125.1${i}:8946`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('event handlers of a real agent: member-join, user, member-leave, member-failed (kill -9), timeout, no process left', { timeout: 180_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-handlers-e2e-'));
  const out = join(dir, 'runs.txt');
  const pids = join(dir, 'pids.txt');
  const script = recordingScript(dir, out);
  const g = new ProcGroup();
  const onExit = () => g.procs.forEach((p) => p.child.kill('SIGKILL'));
  process.once('exit', onExit);
  const agent = (i: number, extra: string[]): Proc =>
    startAgent(g, `h${i}`, ['--node', `h${i}`, '--bind', bind(i), '--http', http(i), '--profile', 'local', '--encrypt', KEY, ...extra]);
  const runs = () => readRuns(out);
  const waitRun = async (what: string, pred: (r: HandlerRun) => boolean, from: number, ms = 30_000) => {
    await waitFor(what, () => runs().slice(from), (rs) => rs.some(pred), ms, 100);
    return runs().slice(from).find(pred)!;
  };
  try {
    const a = agent(1, [
      '--tag', 'role=web', '--tag', 'rack.unit=r1',
      '--event-handler', `member-join,member-leave,member-failed,member-update,user:deploy=${script}`,
      '--event-handler', `user:slow=echo $$ >> '${pids}'; sleep 60 & echo $! >> '${pids}'; sleep 60`,
      '--event-handler-timeout', '2s',
      '--log-level', 'debug',
    ]);
    // Its own join first, as a Serf agent's handlers see it (after the 1 s quiet period).
    const self = await waitRun('h1 own member-join', (r) => r.env.SERF_EVENT === 'member-join', 0);
    assert.equal(self.stdin, 'h1\t127.0.125.11\tweb\track.unit=r1,role=web\n');
    assert.equal(self.env.SERF_SELF_NAME, 'h1');
    assert.equal(self.env.SERF_SELF_ROLE, 'web');
    assert.equal(self.env.SERF_TAG_ROLE, 'web');
    assert.equal(self.env.SERF_TAG_RACK_UNIT, 'r1');

    const bArgs = ['--join', bind(1), '--tag', 'role=db', '--event-handler', 'query:whoami=echo "I am $SERF_SELF_NAME, asked $(cat)"'];
    let b = agent(2, bArgs);
    let mark = runs().length;
    const joined = await waitRun('member-join of h2', (r) => r.env.SERF_EVENT === 'member-join', mark);
    assert.equal(joined.stdin, 'h2\t127.0.125.12\tdb\trole=db\n');

    // A user event sent through h2 reaches h1's handler, with Serf's variables and the payload.
    mark = runs().length;
    const sent = await runCli(['event', '--http', http(2), 'deploy', 'v42']);
    assert.equal(sent.code, 0, sent.stderr);
    const ltime = /ltime (\d+)/.exec(sent.stdout)![1];
    const user = await waitRun('user event deploy', (r) => r.env.SERF_EVENT === 'user', mark);
    assert.deepEqual([user.env.SERF_USER_EVENT, user.env.SERF_USER_LTIME, user.stdin], ['deploy', ltime, 'v42\n']);
    assert.equal(user.env.SERF_QUERY_NAME, undefined);

    // rxswim query through h1: h2's query:whoami script answers; h1, with no query handler, only acks.
    const q = await runCli(['query', '--http', http(1), '--timeout', '5s', 'whoami', 'twice']);
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, /Response from 'h2': I am h2, asked twice\n/, q.stdout);
    assert.match(q.stdout, /Total Acks: 2\nTotal Responses: 1\n/, q.stdout);

    // A graceful leave.
    mark = runs().length;
    const left = await runCli(['leave', '--http', http(2)]);
    assert.equal(left.code, 0, left.stderr);
    assert.equal(await exitOf(b, 15_000), 0);
    const leave = await waitRun('member-leave of h2', (r) => r.env.SERF_EVENT === 'member-leave', mark);
    assert.match(leave.stdin, /^h2\t127\.0\.125\.12\tdb\trole=db\n$/);

    // Back again, then kill -9: member-failed.
    mark = runs().length;
    b = agent(2, bArgs);
    await waitRun('member-join of h2 again', (r) => r.env.SERF_EVENT === 'member-join' && r.stdin.startsWith('h2\t'), mark);
    mark = runs().length;
    const pidB = b.child.pid!;
    await kill(b, 'SIGKILL');
    assert.equal(b.child.signalCode, 'SIGKILL');
    assert.equal(alive(pidB), false, 'h2 is gone');
    const failed = await waitRun('member-failed of h2', (r) => r.env.SERF_EVENT === 'member-failed', mark, 40_000);
    assert.match(failed.stdin, /^h2\t127\.0\.125\.12\tdb\trole=db\n$/);
    assert.ok(
      runs().slice(mark).every((r) => r.env.SERF_EVENT === 'member-failed'),
      'nothing between (a suspicion is not an event in Serf)',
    );
    // member-update needs a live tag change, which rxswim's agent does not have yet: not tested here.

    // A script past --event-handler-timeout (2 s) is killed, with what it started.
    await runCli(['event', '--http', http(1), 'slow']);
    await waitFor('the slow handler timed out', () => metricValue(http(1), 'rxswim_event_handler_runs_total', { result: 'timeout' }), (v) => v === 1, 30_000, 200);
    const slowPids = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    assert.equal(slowPids.length, 2);
    await waitFor('the timed-out script and its child gone', () => slowPids.filter(alive), (l) => l.length === 0, 5000, 50);
    assert.ok((await metricValue(http(1), 'rxswim_event_handler_runs_total', { result: 'ok' }))! >= 5);
    assert.ok(a.lines.some((l) => l.includes('"event":"event_handler"') && l.includes('"result":"timeout"')));

    // Asked to leave while a script runs, the agent kills it on its way out.
    rmSync(pids);
    await runCli(['event', '--http', http(1), 'slow']);
    await waitFor('the slow handler running again', () => (existsSync(pids) ? readFileSync(pids, 'utf8').trim().split('\n') : []), (l) => l.length === 2, 15_000, 50);
    const running = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    assert.ok(running.every(alive));
    a.child.kill('SIGTERM');
    assert.equal(await exitOf(a, 15_000), 0);
    await waitFor('no handler process left after the agent stopped', () => running.filter(alive), (l) => l.length === 0, 5000, 50);
    assert.equal(await httpMembers(http(1)), undefined);
  } finally {
    await g.killAll();
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  }
});
