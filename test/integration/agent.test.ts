// The Agent in process (no child process) on 127.0.81.*: start, join, HTTP, leave
// and stop, how each way of ending is reported (start() rejects with a typed error,
// `done` resolves with the outcome), that it never exits the process nor installs
// signal handlers, and that nothing is left behind (ports free again, no handles).
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { firstValueFrom, toArray } from 'rxjs';
import { Agent, type AgentOutcome } from '../../src/cli/agent.js';
import { loadAgentConfig } from '../../src/cli/agent-config.js';
import { ListenError } from '../../src/cli/errors.js';
import { ConfigError, JoinError, StateError } from '../../src/errors.js';

const KEY = 'AAECAwQFBgcICQoLDA0ODw==';

/** An agent from flags (and environment) as `rxswim agent` would get them, logging into `lines`. */
function agentOf(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => void lines.push(s.trimEnd()) });
  const cfg = loadAgentConfig({ flags: { profile: 'local', ...flags }, env });
  const agent = new Agent(cfg, { logger });
  const events = () => lines.map((l) => (JSON.parse(l) as { event?: string }).event);
  return { agent, lines, events };
}

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Waits (a little) until no socket, server or timer is open beyond `before`. */
async function assertNoLeaks(before: Record<string, number>, what: string): Promise<void> {
  const kinds = ['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap', 'Timeout'];
  const over = () => kinds.filter((k) => (handles()[k] ?? 0) > (before[k] ?? 0));
  for (let i = 0; i < 40 && over().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  const after = handles();
  for (const k of kinds) assert.ok((after[k] ?? 0) <= (before[k] ?? 0), `${what}: ${k} ${before[k] ?? 0} before, ${after[k] ?? 0} after`);
}

/** Whether TCP and UDP can both be bound on host:port right now (the agent let go of it). */
async function portFree(host: string, port: number): Promise<boolean> {
  const tcp = await new Promise<Server | undefined>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, host, () => resolve(s));
  });
  if (!tcp) return false;
  await new Promise((r) => tcp.close(r));
  return new Promise((resolve) => {
    const u = createSocket('udp4');
    u.once('error', () => {
      u.close();
      resolve(false);
    });
    u.bind(port, host, () => u.close(() => resolve(true)));
  });
}

/** Holds host:port (TCP) until released. */
async function occupy(host: string, port: number): Promise<{ release(): Promise<void> }> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve());
  });
  return { release: () => new Promise((r) => s.close(() => r())) };
}

const signalListeners = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');

async function http(at: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`http://${at}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const json = text && res.headers.get('content-type') === 'application/json' ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  return { status: res.status, text, json, headers: res.headers };
}
const post = (at: string, path: string, body: unknown) =>
  http(at, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('start, join, serve HTTP, leave: outcome "left", events$ completed, ports free, no handles, no signal handlers', { timeout: 30_000 }, async () => {
  const before = handles();
  const signals = signalListeners();
  const a = agentOf({ node: 'ag-a', bind: '127.0.81.1:7946', http: '127.0.81.1:8946' });
  const b = agentOf({ node: 'ag-b', bind: '127.0.81.2:7946', join: ['127.0.81.1'] });
  try {
    await a.agent.start();
    assert.equal(signalListeners(), signals, 'the Agent installs no signal handlers');
    assert.equal(a.agent.ready, true, 'no seeds: ready at once');
    assert.deepEqual(a.agent.httpAddress, { host: '127.0.81.1', port: 8946 });
    await b.agent.start();
    assert.equal(b.agent.ready, true, 'joined its --join seed');
    const completed = firstValueFrom(a.agent.node!.events$.pipe(toArray()));
    for (let i = 0; i < 50 && a.agent.node!.members().filter((m) => m.state === 'alive').length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const members = (await http('127.0.81.1:8946', '/v1/members')).json as unknown as Array<{ name: string; state: string }>;
    assert.deepEqual(members.map((m) => `${m.name}:${m.state}`).sort(), ['ag-a:alive', 'ag-b:alive']);

    const outcome = await b.agent.leave('test');
    assert.deepEqual(outcome, { kind: 'left', reason: 'test' });
    assert.equal(await b.agent.done, outcome);
    assert.equal(await b.agent.leave('again'), outcome, 'leave() is idempotent');
    for (let i = 0; i < 50 && a.agent.node!.member('ag-b')?.state !== 'left'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.agent.node!.member('ag-b')?.state, 'left', 'a saw a graceful leave, not a failure');

    assert.deepEqual(await a.agent.stop('test over'), { kind: 'stopped', reason: 'test over' });
    await completed; // the node stopped: its events$ completed
    assert.deepEqual(b.events().filter((e) => ['started', 'join', 'leaving', 'stopped'].includes(e!)), ['started', 'join', 'leaving', 'stopped']);
  } finally {
    await a.agent.stop();
    await b.agent.stop();
  }
  assert.ok(await portFree('127.0.81.1', 7946), 'bind port free after stop');
  assert.ok(await portFree('127.0.81.1', 8946), 'HTTP port free after stop');
  assert.ok(await portFree('127.0.81.2', 7946));
  await assertNoLeaks(before, 'after leave and stop');
  await assert.rejects(a.agent.start(), StateError, 'an agent starts once');
});

test('POST /v1/leave ends the agent with outcome "left" and the process keeps running', { timeout: 20_000 }, async () => {
  const before = handles();
  const a = agentOf({ node: 'ag-l', bind: '127.0.81.3:7946', http: '127.0.81.3:8946' });
  try {
    await a.agent.start();
    const r = await post('127.0.81.3:8946', '/v1/leave', {});
    assert.equal(r.status, 202);
    assert.deepEqual(await a.agent.done, { kind: 'left', reason: 'POST /v1/leave' });
  } finally {
    await a.agent.stop();
  }
  assert.ok(await portFree('127.0.81.3', 8946));
  assert.ok(await portFree('127.0.81.3', 7946));
  await assertNoLeaks(before, 'after POST /v1/leave');
});

test('--join that no seed answers: start() rejects with JoinError, done is "join-failed", everything released', { timeout: 20_000 }, async () => {
  const before = handles();
  const a = agentOf({ node: 'ag-j', bind: '127.0.81.4:7946', http: '127.0.81.4:8946', join: ['127.0.81.99:7946'] });
  try {
    await assert.rejects(a.agent.start(), (e: unknown) => e instanceof JoinError && /127\.0\.81\.99:7946/.test(e.message));
    const outcome = await a.agent.done;
    assert.equal(outcome.kind, 'join-failed');
    assert.ok(a.events().includes('join_failed'));
  } finally {
    await a.agent.stop();
  }
  assert.ok(await portFree('127.0.81.4', 7946));
  assert.ok(await portFree('127.0.81.4', 8946));
  await assertNoLeaks(before, 'after a failed --join');
});

test('--retry-join gives up after --retry-max: outcome "retry-join-exhausted"; stop() while retrying: "stopped"', { timeout: 20_000 }, async () => {
  const before = handles();
  const a = agentOf({ node: 'ag-r', bind: '127.0.81.5:7946', http: '127.0.81.5:8946', retryJoin: ['127.0.81.98:7946'], retryMax: '2', retryInterval: '50ms' });
  const b = agentOf({ node: 'ag-s', bind: '127.0.81.6:7946', retryJoin: ['127.0.81.98:7946'], retryInterval: '10s' });
  try {
    await a.agent.start();
    assert.equal(a.agent.ready, false, 'not ready before it has joined');
    assert.equal((await http('127.0.81.5:8946', '/v1/health')).status, 503);
    const outcome = await a.agent.done;
    assert.equal(outcome.kind, 'retry-join-exhausted');
    assert.ok(outcome.kind === 'retry-join-exhausted' && outcome.error instanceof JoinError && outcome.attempts === 2);

    await b.agent.start();
    assert.deepEqual(await b.agent.stop('operator'), { kind: 'stopped', reason: 'operator' }, 'the pending retry is abandoned');
  } finally {
    await a.agent.stop();
    await b.agent.stop();
  }
  assert.ok(await portFree('127.0.81.5', 7946));
  assert.ok(await portFree('127.0.81.5', 8946));
  assert.ok(await portFree('127.0.81.6', 7946));
  await assertNoLeaks(before, 'after retry-join');
});

test('a port in use: ListenError naming --bind or --http as given, nothing left bound', { timeout: 20_000 }, async () => {
  const before = handles();
  const held = await occupy('127.0.81.7', 7946);
  const heldHttp = await occupy('127.0.81.8', 8946);
  try {
    const a = agentOf({ node: 'ag-p', bind: '127.0.81.7:7946', http: '127.0.81.7:8946' });
    await assert.rejects(a.agent.start(), (e: unknown) => {
      assert.ok(e instanceof ListenError, String(e));
      assert.equal(e.setting, '--bind');
      assert.equal(e.errno, 'EADDRINUSE');
      assert.equal(e.message.split('\n').length, 1);
      assert.match(e.message, /^--bind: 127\.0\.81\.7:7946 is already in use \(EADDRINUSE\)/);
      return true;
    });
    assert.equal((await a.agent.done).kind, 'failed');
    assert.ok(await portFree('127.0.81.7', 8946), 'HTTP never started');

    const b = agentOf({ node: 'ag-q', bind: '127.0.81.8:7946' }, { RXSWIM_HTTP: '127.0.81.8:8946' });
    await assert.rejects(b.agent.start(), (e: unknown) => e instanceof ListenError && e.setting === 'RXSWIM_HTTP' && /^RXSWIM_HTTP: 127\.0\.81\.8:8946 is already in use/.test(e.message));
    assert.ok(await portFree('127.0.81.8', 7946), 'the gossip port was released when HTTP failed');
  } finally {
    await held.release();
    await heldHttp.release();
  }
  await assertNoLeaks(before, 'after failed binds');
});

test('a wildcard bind without --advertise is refused before anything binds or writes, even with the port taken', { timeout: 20_000 }, async () => {
  const before = handles();
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-agent-test-'));
  // The HTTP port is taken too: the advertise error must come first, and no socket
  // (wildcard or otherwise) is opened on the way to it.
  const held = await occupy('127.0.81.9', 8946);
  try {
    for (const [flags, env, field, bind] of [
      [{ bind: '0.0.0.0:7946' }, {}, '--advertise', '--bind is 0.0.0.0:7946'],
      [{}, {}, '--advertise', '--bind defaults to 0.0.0.0:7946'],
      [{}, { RXSWIM_BIND: '[::]:7946' }, 'RXSWIM_ADVERTISE', 'RXSWIM_BIND is [::]:7946'],
    ] as const) {
      const a = agentOf({ node: 'ag-w', dataDir: dir, http: '127.0.81.9:8946', ...flags }, env);
      await assert.rejects(a.agent.start(), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, new RegExp(`^${field}: must be set to a reachable address when binding to (0\\.0\\.0\\.0|::) \\(${bind.replace(/[[\].]/g, '\\$&')}\\)$`));
        return true;
      });
      assert.equal(a.agent.node, undefined, 'no node was created');
      assert.equal((await a.agent.done).kind, 'failed');
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing written to the data dir');
    const adv = agentOf({ node: 'ag-w', bind: '0.0.0.0:7946', advertise: '0.0.0.0:7946' });
    await assert.rejects(adv.agent.start(), (e: unknown) => e instanceof ConfigError && e.field === '--advertise' && /not the wildcard/.test(e.message));
    const host = agentOf({ node: 'ag-w', bind: 'localhost:7946' });
    await assert.rejects(host.agent.start(), (e: unknown) => e instanceof ConfigError && e.field === '--advertise' && /IP address when binding to a host name/.test(e.message));
  } finally {
    await held.release();
    rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeaks(before, 'after refused settings');
});

test('HTTP API on an agent: keys refused without encryption (409), seeds checked (400), HEAD like GET', { timeout: 20_000 }, async () => {
  const before = handles();
  const plain = agentOf({ node: 'ag-h', bind: '127.0.81.10:7946', http: '127.0.81.10:8946' });
  const enc = agentOf({ node: 'ag-e', bind: '127.0.81.11:7946', http: '127.0.81.11:8946', encrypt: KEY });
  const at = '127.0.81.10:8946';
  try {
    await plain.agent.start();
    await enc.agent.start();

    // ---- keys on an agent started without --encrypt: refused, nothing changes ----
    for (const op of ['install', 'use', 'remove']) {
      const r = await post(at, '/v1/keys', { op, key: KEY });
      assert.equal(r.status, 409, `${op}: ${r.text}`);
      assert.match(String(r.json?.error), /^no keyring to modify \(encryption not enabled\)/);
      assert.equal(r.headers.get('content-type'), 'application/json');
    }
    assert.equal(plain.agent.node!.keyring.enabled, false, 'encryption still off');
    assert.deepEqual((await http(at, '/v1/keys')).json, { keys: [], primary: null });
    assert.equal(((await http(at, '/v1/self')).json as { encrypted: boolean }).encrypted, false);
    // with --encrypt, install works as before
    const KEY2 = Buffer.alloc(16, 7).toString('base64');
    assert.deepEqual((await post('127.0.81.11:8946', '/v1/keys', { op: 'install', key: KEY2 })).json, { keys: [KEY, KEY2], primary: KEY });

    // ---- seeds are a usage error (400) before any dial, naming the element ----
    for (const [seeds, where] of [[['[::1'], 'seeds[0]'], [['127.0.81.11', 'a b:7946'], 'seeds[1]'], [[' 10.0.0.1 10.0.0.2 '], 'seeds[0]']] as const) {
      const r = await post(at, '/v1/join', { seeds });
      assert.equal(r.status, 400, `${JSON.stringify(seeds)}: ${r.text}`);
      assert.match(String(r.json?.error), new RegExp(`^${where.replace(/[[\]]/g, '\\$&')}: must be HOST:PORT`));
    }
    const notString = await post(at, '/v1/join', { seeds: [7946] });
    assert.equal(notString.status, 400);
    assert.match(String(notString.json?.error), /^seeds\[0\]: must be a string: a seed address .* \(got 7946\)$/);
    assert.equal((await post(at, '/v1/join', { seeds: '127.0.0.1' })).status, 400);

    // ---- HEAD: GET without a body ----
    for (const path of ['/v1/health', '/v1/members', '/v1/self', '/metrics', '/v1/keys']) {
      const get = await http(at, path);
      const head = await http(at, path, { method: 'HEAD' });
      assert.equal(head.status, get.status, path);
      assert.equal(head.text, '', `${path}: no body`);
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
    }
    assert.ok(Number((await http(at, '/v1/health', { method: 'HEAD' })).headers.get('content-length')) > 0);
    const sse = await http(at, '/v1/events', { method: 'HEAD' });
    assert.equal(sse.status, 200);
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    const headPost = await http(at, '/v1/join', { method: 'HEAD' });
    assert.equal(headPost.status, 405);
    assert.equal(headPost.headers.get('allow'), 'POST');
    assert.equal((await http(at, '/v1/members', { method: 'DELETE' })).headers.get('allow'), 'GET, HEAD');
  } finally {
    await plain.agent.stop();
    await enc.agent.stop();
  }
  await assertNoLeaks(before, 'after the HTTP checks');
});

test('stop() before start(): outcome "stopped", and start() then refuses', async () => {
  const a = agentOf({ node: 'ag-n', bind: '127.0.81.12:7946' });
  const outcome: AgentOutcome = await a.agent.stop('never mind');
  assert.deepEqual(outcome, { kind: 'stopped', reason: 'never mind' });
  await assert.rejects(a.agent.start(), StateError);
  assert.ok(await portFree('127.0.81.12', 7946));
});
