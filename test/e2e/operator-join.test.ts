// Seed forms (host:port, bare host, [v6]:port, dns:NAME[:PORT]) and retry-join, on
// 127.0.62.* (and ::1 when the host has it). dns: is tested through the system
// resolver with `localhost` and, for a multi-address name, with an injected resolver.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { JoinError } from '../../src/errors.js';
import { createNode, type RxSwimNode } from '../../src/node.js';
import { joinOnce, joinWithRetry, parseSeed, resolveSeeds, systemResolver, type Resolver } from '../../src/cli/seeds.js';
import { builtCli, httpMembers, ProcGroup } from '../helpers/procs.js';
import { exitOf, getJson, startAgent } from '../helpers/operator.js';
import { sleep, waitFor } from '../helpers/wait.js';

const alive = (n: RxSwimNode) => n.members().filter((m) => m.state === 'alive').length;

async function canBindIPv6(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

test('seed forms parse: host:port, bare host (7946), [v6]:port, bare v6, dns:NAME[:PORT]; bad ones name the field', () => {
  assert.deepEqual(parseSeed('10.0.0.1:7000'), { kind: 'addr', host: '10.0.0.1', port: 7000, text: '10.0.0.1:7000' });
  assert.deepEqual(parseSeed('10.0.0.1'), { kind: 'addr', host: '10.0.0.1', port: 7946, text: '10.0.0.1' });
  assert.deepEqual(parseSeed('seed.example'), { kind: 'addr', host: 'seed.example', port: 7946, text: 'seed.example' });
  assert.deepEqual(parseSeed('[::1]:7946'), { kind: 'addr', host: '::1', port: 7946, text: '[::1]:7946' });
  assert.deepEqual(parseSeed('fe80::1'), { kind: 'addr', host: 'fe80::1', port: 7946, text: 'fe80::1' });
  assert.deepEqual(parseSeed('dns:rxswim-headless'), { kind: 'dns', name: 'rxswim-headless', port: 7946, text: 'dns:rxswim-headless' });
  assert.deepEqual(parseSeed('dns:seeds.svc.cluster.local:8000'), { kind: 'dns', name: 'seeds.svc.cluster.local', port: 8000, text: 'dns:seeds.svc.cluster.local:8000' });
  for (const bad of ['dns:', 'dns:10.0.0.1', 'dns:a b', 'dns:x:0', 'h:99999', 'h:x', '', 'h:0', '[::1', '[::1]:', '[:', 'a b', 'a b:7946', '10.0.0.1 10.0.0.2', 'ho$t:7946', '-h:7946']) {
    assert.throws(() => parseSeed(bad, '--join'), (e: Error & { field?: string }) => e.field === '--join', bad);
  }
  // a value that is not text at all (JSON bodies, config files) says what a seed is
  assert.throws(() => parseSeed(7946 as unknown as string, 'seeds[0]'), (e: Error & { field?: string }) => e.field === 'seeds[0]' && /must be a string: a seed address.*\(got 7946\)$/.test(e.message));
  assert.deepEqual(parseSeed(' seed-1.internal_svc.example '), { kind: 'addr', host: 'seed-1.internal_svc.example', port: 7946, text: 'seed-1.internal_svc.example' });
});

test('dns:localhost resolves through the system resolver to every address, with the port', async () => {
  const { addresses, failures } = await resolveSeeds([parseSeed('dns:localhost:7999')]);
  assert.deepEqual(failures, []);
  assert.ok(addresses.includes('127.0.0.1:7999'), `got ${addresses.join(', ')}`);
  assert.ok(addresses.every((a) => a === '127.0.0.1:7999' || a === '[::1]:7999'), `got ${addresses.join(', ')}`);
  const missing = await resolveSeeds([parseSeed('dns:no-such-host.invalid')]);
  assert.deepEqual(missing.addresses, []);
  assert.match(missing.failures[0]!.reason, /cannot resolve no-such-host.invalid/);
  assert.ok((await systemResolver('localhost')).length >= 1);
});

test('join through dns: — localhost for real, a two-address name through an injected resolver', { timeout: 30_000 }, async () => {
  const nodes: RxSwimNode[] = [];
  const node = (name: string, bind: string) => {
    const n = createNode({ name, bind, profile: 'local' });
    nodes.push(n);
    return n;
  };
  try {
    // dns:localhost: the seed on 127.0.0.1 at an ephemeral port (no fixed port to collide on).
    const seed = node('dns-seed', '127.0.0.1:0');
    await seed.start();
    const joiner = node('dns-joiner', '127.0.62.1:0');
    await joiner.start();
    assert.ok((await joinOnce(joiner, [parseSeed(`dns:localhost:${seed.address!.port}`)])) >= 1);
    await waitFor('dns:localhost join to converge', () => alive(seed) + alive(joiner), (n) => n === 4, 10_000);

    // A name with two A records (as a headless service has): both are dialled.
    const a = node('svc-a', '127.0.62.2:7946');
    const b = node('svc-b', '127.0.62.3:7946');
    const c = node('svc-c', '127.0.62.4:7946');
    for (const n of [a, b, c]) await n.start();
    const asked: string[] = [];
    const fake: Resolver = async (name) => {
      asked.push(name);
      if (name === 'rxswim-headless') return ['127.0.62.2', '127.0.62.3'];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    assert.equal(await joinOnce(c, [parseSeed('dns:rxswim-headless'), parseSeed('dns:nowhere')], fake), 2);
    assert.deepEqual(asked, ['rxswim-headless', 'nowhere']);
    await waitFor('a, b, c to see 3 alive', () => [a, b, c].map(alive), (xs) => xs.every((x) => x === 3), 10_000);
    // Nothing resolves: a JoinError naming the seed and why.
    await assert.rejects(joinOnce(c, [parseSeed('dns:nowhere')], fake), (e: unknown) => e instanceof JoinError && /nowhere.*ENOTFOUND/.test(e.message));
  } finally {
    for (const n of nodes) await n.stop();
  }
});

test('joinWithRetry backs off until a seed answers, and gives up after max attempts', { timeout: 30_000 }, async () => {
  const calls: number[] = [];
  const flaky = {
    join: async () => {
      calls.push(Date.now());
      if (calls.length < 4) throw new JoinError([{ seed: 'x:1', reason: 'refused' }]);
      return 1;
    },
  };
  const waits: number[] = [];
  const r = await joinWithRetry(flaky, [parseSeed('127.0.62.9:7946')], { max: 0, interval: 200, initialDelay: 50, random: () => 0.5, onRetry: (_a, _e, d) => waits.push(d) });
  assert.deepEqual(r, { contacted: 1, attempts: 4 });
  assert.deepEqual(waits, [50, 100, 200], 'doubling, capped at interval');
  await assert.rejects(
    joinWithRetry({ join: () => Promise.reject(new JoinError([{ seed: 'x:1', reason: 'refused' }])) }, [parseSeed('127.0.62.9')], { max: 3, interval: 10, initialDelay: 10 }),
    JoinError,
  );
  const ac = new AbortController();
  const pending = joinWithRetry({ join: () => Promise.reject(new JoinError([])) }, [parseSeed('127.0.62.9')], { max: 0, interval: 10_000, initialDelay: 10_000, signal: ac.signal });
  ac.abort(new Error('stop'));
  await assert.rejects(pending, /stop/);
});

test('agents: --retry-join waits for a seed that starts 3 s later (health 503, then 200); --join with a bare host; --retry-max gives up with exit 2', { timeout: 60_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const g = new ProcGroup();
  try {
    const early = startAgent(g, 'early', ['--node', 'early', '--bind', '127.0.62.11:7946', '--http', '127.0.62.11:8946', '--profile', 'local', '--retry-join', '127.0.62.10:7946', '--retry-interval', '1s']);
    const quitter = startAgent(g, 'quitter', ['--node', 'quitter', '--bind', '127.0.62.12:7946', '--profile', 'local', '--retry-join', '127.0.62.19:7946', '--retry-max', '3', '--retry-interval', '200ms']);
    await waitFor('early HTTP', () => getJson('http://127.0.62.11:8946/v1/health').catch(() => undefined), (r) => r !== undefined, 10_000);
    const before = await getJson('http://127.0.62.11:8946/v1/health');
    assert.equal(before.status, 503, 'not ready before it has joined');
    assert.deepEqual(before.body, { error: 'not joined yet', status: 'unavailable' });

    await sleep(3000);
    const started = Date.now();
    startAgent(g, 'seed', ['--node', 'seed', '--bind', '127.0.62.10:7946', '--http', '127.0.62.10:8946', '--profile', 'local']);
    const took = await waitFor('early to become healthy', () => getJson('http://127.0.62.11:8946/v1/health').catch(() => undefined), (r) => r?.status === 200, 10_000);
    console.log(`# retry-join reached the late seed ${took} ms after it was started`);
    assert.ok(Date.now() - started < 5000, 'within a couple of retry intervals');
    // Serf-style bare host: port 7946.
    startAgent(g, 'bare', ['--node', 'bare', '--bind', '127.0.62.13:7946', '--http', '127.0.62.13:8946', '--profile', 'local', '--join', '127.0.62.10']);
    await waitFor('3 alive everywhere', async () => Promise.all(['10', '11', '13'].map(async (i) => (await httpMembers(`127.0.62.${i}:8946`))?.filter((m) => m.state === 'alive').length)), (xs) => xs.every((x) => x === 3), 10_000);
    assert.ok(early.lines.some((l) => /"event":"retry_join"/.test(l)), 'logged its retries');

    assert.equal(await exitOf(quitter, 10_000), 2, `--retry-max 3 gives up with exit 2:\n${quitter.lines.join('\n')}`);
    assert.equal(quitter.lines.filter((l) => /"event":"retry_join"/.test(l)).length, 2, 'two waits between three attempts');
  } finally {
    await g.killAll();
  }
});

test('agents over IPv6: --bind [::1]:PORT and --join [::1]:PORT', { timeout: 30_000, skip: !builtCli() && 'run `npm run build` first' }, async (t) => {
  if (!(await canBindIPv6())) {
    t.skip('::1 is not available on this host (IPv6 loopback disabled): the IPv6 join form is untested here');
    return;
  }
  const g = new ProcGroup();
  try {
    // Ephemeral ports: the seed tells us its port through /v1/self.
    startAgent(g, 'v6-seed', ['--node', 'v6-seed', '--bind', '[::1]:0', '--http', '127.0.62.21:8946', '--profile', 'local']);
    const self = await waitFor('the v6 seed', () => getJson('http://127.0.62.21:8946/v1/self').catch(() => undefined), (r) => r?.status === 200, 10_000).then(() => getJson('http://127.0.62.21:8946/v1/self'));
    const { address, port } = self.body as { address: string; port: number };
    assert.equal(address, '::1');
    startAgent(g, 'v6-joiner', ['--node', 'v6-joiner', '--bind', '[::1]:0', '--http', '127.0.62.22:8946', '--profile', 'local', '--join', `[::1]:${port}`]);
    await waitFor('both see 2 alive', async () => Promise.all(['21', '22'].map(async (i) => (await httpMembers(`127.0.62.${i}:8946`))?.filter((m) => m.state === 'alive').length)), (xs) => xs.every((x) => x === 2), 10_000);
    const members = (await httpMembers('127.0.62.22:8946'))!;
    assert.ok(members.every((m) => m.address === '::1'), JSON.stringify(members));
  } finally {
    await g.killAll();
  }
});
