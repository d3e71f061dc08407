// The event handler runner with real /bin/sh processes (no node): one script at a time
// in order, Serf's environment and stdin, a timeout that kills the script's whole
// process group, a bounded queue that drops the oldest, a query answered from stdout
// (not when too long or when the script failed), and stop() leaving no process behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseEventHandler, type HandlerEvent } from '../../src/cli/event-handlers.js';
import { HandlerRunner } from '../../src/cli/handler-runner.js';
import { EventHandlerMetrics } from '../../src/metrics/event-handler-metrics.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'rxswim-runner-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const user = (name: string, payload = ''): HandlerEvent => ({ kind: 'user', name, payload: bytes(payload), ltime: 1n });
let n = 0;

function harness(specs: string[], opts: { timeoutMs?: number; queueLimit?: number } = {}) {
  const registry = new Registry();
  let runner: HandlerRunner | undefined;
  const metrics = new EventHandlerMetrics(registry, () => runner?.queueDepth ?? 0);
  const lines: Array<{ level: number; event?: string; line?: string }> = [];
  const log = pino({ level: 'debug', base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  runner = new HandlerRunner({
    handlers: specs.map((s) => parseEventHandler(s, 'h')),
    timeoutMs: opts.timeoutMs ?? 20_000,
    ...(opts.queueLimit ? { queueLimit: opts.queueLimit } : {}),
    log,
    metrics,
    self: () => ({ name: 'self-1', tags: { role: 'web', dc: 'east' } }),
  });
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)!;
    return (m.values as Array<{ value: number; labels: Record<string, string> }>).find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  };
  return { runner, lines, value, registry };
}

const out = () => join(dir, `out-${n++}`);
const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const idle = (r: HandlerRunner) => waitFor('runner idle', () => r.runningPid === undefined && r.queueDepth === 0, (x) => x, 20_000, 20);
/** whether a process or (negative) group exists */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('HandlerRunner', { timeout: 120_000 }, () => {
  it('runs each script through /bin/sh -c with Serf variables and the payload on stdin, in order, one at a time', async () => {
    const f = out();
    // Each run writes its start, sleeps, writes its end: interleaving would show.
    const h = harness([`user=echo "start $SERF_USER_EVENT $SERF_SELF_NAME $SERF_SELF_ROLE $SERF_TAG_DC $(cat)" >> ${f}; sleep 0.2; echo "end $SERF_USER_EVENT" >> ${f}`, `user:b=echo "second $SERF_EVENT" >> ${f}`]);
    for (const name of ['a', 'b', 'c']) assert.equal(h.runner.push(user(name, `p-${name}`)), true);
    assert.equal(h.runner.push({ kind: 'member', type: 'member-join', members: [] }), false, 'no handler takes a member event');
    await idle(h.runner);
    assert.equal(read(f), 'start a self-1 web east p-a\nend a\nstart b self-1 web east p-b\nend b\nsecond user\nstart c self-1 web east p-c\nend c\n');
    assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'ok' }), 4);
  });

  it('a failing script is counted failed and its stderr logged at warn, line by line', async () => {
    const h = harness(['echo oops >&2; echo two >&2; exit 3']);
    h.runner.push(user('x'));
    await idle(h.runner);
    assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'failed' }), 1);
    assert.deepEqual(h.lines.filter((l) => l.event === 'event_handler_stderr').map((l) => [l.level, l.line]), [[40, 'oops'], [40, 'two']]);
    assert.ok(h.lines.some((l) => l.event === 'event_handler' && l.level === 40 && (l as { exitCode?: number }).exitCode === 3));
  });

  it('an event whose name no environment can hold (a NUL byte) fails that run, not the runner', async () => {
    const f = out();
    const h = harness([`echo "$SERF_USER_EVENT" >> ${f}`]);
    h.runner.push(user('bad\0name'));
    h.runner.push(user('good'));
    await idle(h.runner);
    assert.equal(read(f), 'good\n');
    assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'failed' }), 1);
    assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'ok' }), 1);
  });

  it('a script past the timeout is killed with its process group, and the next event runs', async () => {
    const f = out();
    const pids = join(dir, `pids-${n++}`);
    const h = harness([`user:slow=sleep 60 & echo $! > ${pids}; sleep 60`, `user:next=echo ran >> ${f}`], { timeoutMs: 500 });
    const t0 = Date.now();
    h.runner.push(user('slow'));
    const shell = h.runner.runningPid!;
    h.runner.push(user('next'));
    await idle(h.runner);
    assert.ok(Date.now() - t0 < 10_000, 'killed near its timeout');
    assert.equal(read(f), 'ran\n');
    const background = Number(read(pids).trim());
    assert.ok(background > 0, 'the script started a background child');
    await waitFor('the killed group gone', () => alive(shell) || alive(background) || alive(-shell), (x) => !x, 5000, 20);
    assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'timeout' }), 1);
    assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'ok' }), 1);
  });

  it('a process that left the group (setsid) holding the output open does not hold up the queue after a kill', async () => {
    const f = out();
    const pids = join(dir, `pids-${n++}`);
    const h = harness([`user:stuck=setsid sleep 30 & echo $! > ${pids}; sleep 60`, `user:next=echo ran >> ${f}`], { timeoutMs: 500 });
    const t0 = Date.now();
    h.runner.push(user('stuck'));
    h.runner.push(user('next'));
    try {
      await idle(h.runner);
      assert.ok(Date.now() - t0 < 8000, `done ${Date.now() - t0} ms after, not when the escaped sleep ends (30 s)`);
      assert.equal(read(f), 'ran\n');
      assert.equal(await h.value('rxswim_event_handler_runs_total', { result: 'timeout' }), 1);
    } finally {
      // the escaped process is out of reach of the runner by design: the test ends it
      const pid = Number(read(pids).trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  });

  it('a full queue drops the oldest waiting event and counts it', async () => {
    const f = out();
    const gate = join(dir, `gate-${n++}`);
    // the first run waits for the gate file, so the rest pile up behind it
    const h = harness([`echo "$SERF_USER_EVENT" >> ${f}; while [ ! -e ${gate} ]; do sleep 0.05; done`], { queueLimit: 3 });
    for (let i = 1; i <= 10; i++) h.runner.push(user(`e${i}`));
    assert.equal(h.runner.queueDepth, 3);
    assert.equal(await h.value('rxswim_event_handler_queue_depth'), 3);
    assert.equal(await h.value('rxswim_event_handler_dropped_total', { reason: 'overflow' }), 6);
    writeFileSync(gate, '');
    await idle(h.runner);
    assert.equal(read(f), 'e1\ne8\ne9\ne10\n');
    assert.equal(h.lines.filter((l) => l.event === 'event_handler_dropped').length, 6);
  });

  it('stop() kills the running script and what it started, drops the queue, and runs nothing after', async () => {
    const f = out();
    const pids = join(dir, `pids-${n++}`);
    const h = harness([`echo "$SERF_USER_EVENT" >> ${f}; (sleep 60; echo late >> ${f}) & echo $! > ${pids}; sleep 60`]);
    h.runner.push(user('first'));
    h.runner.push(user('second'));
    h.runner.push(user('third'));
    const shell = h.runner.runningPid!;
    await waitFor('background child started', () => read(pids).trim(), (x) => x.length > 0, 10_000, 20);
    const background = Number(read(pids).trim());
    assert.ok(alive(shell) && alive(background));
    const t0 = Date.now();
    await h.runner.stop();
    assert.ok(Date.now() - t0 < 5000, 'stop() did not wait for the script');
    assert.equal(h.runner.runningPid, undefined);
    await waitFor('no process of the group left', () => alive(shell) || alive(background) || alive(-shell), (x) => !x, 5000, 20);
    assert.equal(await h.value('rxswim_event_handler_dropped_total', { reason: 'stopped' }), 2);
    assert.equal(h.runner.push(user('after')), false);
    assert.equal(read(f), 'first\n');
  });

  it("a query is answered with a successful script's stdout; too long or failed: not sent", async () => {
    const answers: string[] = [];
    const q = (name: string, payload: string): HandlerEvent => ({ kind: 'query', name, payload: bytes(payload), ltime: 5n, respond: async (b) => void answers.push(`${name}:${Buffer.from(b).toString()}`) });
    const h = harness([
      'query:echo=printf "%s from %s" "$(cat)" "$SERF_QUERY_NAME"',
      'query:big=head -c 1025 /dev/zero | tr "\\0" x',
      'query:fits=head -c 1024 /dev/zero | tr "\\0" y',
      'query:fail=echo partial; exit 1',
      'query:quiet=true',
      'query:refused=echo hi',
      'query:encoded-too-long=echo hi',
    ]);
    for (const [name, payload] of [['echo', 'ping'], ['big', ''], ['fits', ''], ['fail', ''], ['quiet', '']]) h.runner.push(q(name!, payload!));
    h.runner.push({ kind: 'query', name: 'refused', payload: bytes(''), ltime: 6n, respond: async () => Promise.reject(new Error('deadline passed')) });
    // the query layer's answer when the encoded response is over the limit
    h.runner.push({ kind: 'query', name: 'encoded-too-long', payload: bytes(''), ltime: 7n, respond: async () => Promise.reject(new RangeError('response is 1030 bytes encoded')) });
    await idle(h.runner);
    assert.deepEqual(answers, ['echo:ping from echo', `fits:${'y'.repeat(1024)}`]);
    assert.equal(await h.value('rxswim_event_handler_query_responses_total', { result: 'sent' }), 2);
    assert.equal(await h.value('rxswim_event_handler_query_responses_total', { result: 'too_large' }), 2);
    assert.equal(await h.value('rxswim_event_handler_query_responses_total', { result: 'failed' }), 1);
  });
});
