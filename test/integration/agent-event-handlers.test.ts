// The Agent in process with --event-handler, on 127.0.125.7x: its own join and a user
// event it sends run the scripts; stop() during a run kills the script and what it
// started, drops what waits, and leaves no child process, pipe or timer behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/cli/agent.js';
import { loadAgentConfig } from '../../src/cli/agent-config.js';
import { readRuns, recordingScript } from '../helpers/handler-runs.js';
import { waitFor } from '../helpers/wait.js';

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('Agent with event handlers: runs them, and stop() leaves no process, pipe or timer', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-agent-handlers-'));
  const out = join(dir, 'runs.txt');
  const pids = join(dir, 'pids.txt');
  const before = handles();
  const lines: string[] = [];
  const agent = new Agent(
    loadAgentConfig({
      flags: {
        node: 'ah1',
        bind: '127.0.125.71:7946',
        profile: 'local',
        tags: ['role=worker'],
        eventHandlers: [`member-join,user:hello=${recordingScript(dir, out)}`, `user:slow=echo $$ >> '${pids}'; sleep 60 & echo $! >> '${pids}'; wait`],
      },
    }),
    { logger: pino({ level: 'debug', base: undefined }, { write: (s: string) => void lines.push(s) }) },
  );
  try {
    await agent.start();
    const node = agent.node!;
    await waitFor('its own member-join', () => readRuns(out), (r) => r.some((x) => x.env.SERF_EVENT === 'member-join'), 15_000);
    assert.equal(readRuns(out)[0]!.stdin, 'ah1\t127.0.125.71\tworker\trole=worker\n');
    node.serfEvent('hello', 'world', { coalesce: false });
    await waitFor('the user event', () => readRuns(out), (r) => r.some((x) => x.env.SERF_USER_EVENT === 'hello'), 15_000);
    assert.equal(readRuns(out).find((x) => x.env.SERF_USER_EVENT === 'hello')!.stdin, 'world\n');

    node.serfEvent('slow', '', { coalesce: false });
    node.serfEvent('slow', '', { coalesce: false });
    await waitFor('the slow script running', () => (existsSync(pids) ? readFileSync(pids, 'utf8').trim().split('\n') : []), (l) => l.length === 2, 15_000, 50);
    const running = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    assert.ok(running.every(alive));
    assert.equal(agent.eventHandlers!.queueDepth, 1, 'the second slow event waits');
    const outcome = await agent.stop();
    assert.equal(outcome.kind, 'stopped');
    // The shell was our child and is reaped; its orphaned child is killed with the group
    // and reaped by init a moment later (a zombie until then, which kill(pid, 0) still finds).
    assert.equal(alive(running[0]!), false, 'the script is gone when stop() resolves');
    await waitFor('the background child gone', () => running.filter(alive), (l) => l.length === 0, 5000, 20);
    const dropped = await agent.registry.getSingleMetric('rxswim_event_handler_dropped_total')!.get();
    assert.equal(dropped.values.find((v) => v.labels.reason === 'stopped')?.value, 1);
    // no child process, pipe or timer left
    const kinds = ['ProcessWrap', 'PipeWrap', 'Timeout', 'UDPWrap', 'TCPServerWrap'];
    const over = () => kinds.filter((k) => (handles()[k] ?? 0) > (before[k] ?? 0));
    await waitFor('handles released', over, (o) => o.length === 0, 5000, 50).catch(() => undefined);
    assert.deepEqual(over(), [], JSON.stringify(handles()));
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
