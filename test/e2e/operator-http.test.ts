// Every route of the agent's HTTP API against real agents on 127.0.63.*: reads,
// health, metrics, the SSE stream (a `failed` event after kill -9 of a peer), join,
// keys and leave, the bearer token on the guarded routes, and JSON errors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { EventJson, MemberJson, SelfJson } from '../../src/http/server.js';
import { builtCli, httpMembers, kill, ProcGroup } from '../helpers/procs.js';
import { exitOf, getJson, openSse, startAgent } from '../helpers/operator.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'operator-test-token';
const url = (i: number, path: string) => `http://127.0.63.${i}:8946${path}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const post = (i: number, path: string, body: unknown, headers: Record<string, string> = {}) =>
  getJson(url(i, path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('HTTP API: every route, the token, SSE failed after kill -9, join, keys, leave', { timeout: 90_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const key1 = randomBytes(32).toString('base64');
  const key2 = randomBytes(16).toString('base64');
  const g = new ProcGroup();
  const agent = (i: number, extra: string[]) =>
    startAgent(g, `h${i}`, ['--node', `h${i}`, '--bind', `127.0.63.${i}:7946`, '--http', `127.0.63.${i}:8946`, '--profile', 'local', '--encrypt', key1,
      // a fixed 3 s suspicion (no Lifeguard stretch): these tests are about the API, not detection time
      '--suspicion-max-timeout-mult', '1', ...extra]);
  try {
    const a = agent(1, ['--http-token', TOKEN, '--tag', 'role=api']);
    await waitFor('h1 HTTP', () => getJson(url(1, '/v1/health')).catch(() => undefined), (r) => r?.status === 200, 10_000);
    agent(2, ['--join', '127.0.63.1:7946']);
    const c = agent(3, ['--join', '127.0.63.1:7946']);
    // h4 waits, unjoined, for POST /v1/join: its health says so.
    agent(4, ['--retry-join', '127.0.63.9:7946', '--retry-interval', '30s']);
    await waitFor('h1..h3 see 3 alive', async () => Promise.all([1, 2, 3].map(async (i) => (await httpMembers(`127.0.63.${i}:8946`))?.filter((m) => m.state === 'alive').length)), (xs) => xs.every((x) => x === 3), 15_000);

    // ---- reads ----
    const members = await getJson(url(1, '/v1/members'));
    assert.equal(members.status, 200);
    assert.equal(members.headers.get('content-type'), 'application/json');
    const h1 = (members.body as MemberJson[]).find((m) => m.name === 'h1')!;
    assert.deepEqual(Object.keys(h1).sort(), ['address', 'incarnation', 'meta', 'name', 'port', 'state', 'tags']);
    assert.deepEqual(h1.tags, { role: 'api' });
    assert.equal(((await getJson(url(1, '/v1/members?status=alive'))).body as MemberJson[]).length, 3);
    assert.equal(((await getJson(url(1, '/v1/members?status=dead,left'))).body as MemberJson[]).length, 0);
    const badStatus = await getJson(url(1, '/v1/members?status=zombie'));
    assert.equal(badStatus.status, 400);
    assert.match((badStatus.body as { error: string }).error, /status must be one or more of alive, suspect, dead, left/);

    // Probe RTT needs a probe or two after convergence.
    await waitFor('h1 to have probed', async () => ((await getJson(url(1, '/v1/self'))).body as SelfJson).probeRtt.count, (n) => n > 0, 5000);
    const self = (await getJson(url(1, '/v1/self'))).body as SelfJson;
    assert.equal(self.name, 'h1');
    assert.equal(self.address, '127.0.63.1');
    assert.equal(self.state, 'alive');
    assert.deepEqual(self.members, { alive: 3, suspect: 0, dead: 0, left: 0 });
    assert.equal(self.health.ok, true);
    assert.equal(self.profile, 'local');
    assert.equal(self.encrypted, true);
    assert.ok(self.probeRtt.meanMs! > 0 && self.probeRtt.recentMs! > 0, JSON.stringify(self.probeRtt));

    assert.deepEqual((await getJson(url(1, '/v1/health'))).body, { status: 'ok' });
    await waitFor('h4 HTTP', () => getJson(url(4, '/v1/health')).catch(() => undefined), (r) => r !== undefined, 10_000);
    const h4health = await getJson(url(4, '/v1/health'));
    assert.equal(h4health.status, 503);
    assert.deepEqual(h4health.body, { error: 'not joined yet', status: 'unavailable' });

    const metrics = await getJson(url(1, '/metrics'));
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type')!, /^text\/plain/);
    assert.match(metrics.body as string, /^rxswim_members\{state="alive"\} 3$/m);

    // ---- errors are JSON ----
    const nf = await getJson(url(1, '/v2/nothing'));
    assert.equal(nf.status, 404);
    assert.match((nf.body as { error: string }).error, /no route \/v2\/nothing/);
    const wrong = await getJson(url(1, '/v1/members'), { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    assert.match((wrong.body as { error: string }).error, /method DELETE not allowed/);

    // ---- the token guards every mutating route and the key list ----
    for (const [method, path, body] of [['POST', '/v1/join', { seeds: ['127.0.63.2'] }], ['POST', '/v1/leave', {}], ['POST', '/v1/keys', { op: 'install', key: key2 }], ['GET', '/v1/keys', undefined]] as const) {
      const none = method === 'POST' ? await post(1, path, body) : await getJson(url(1, path));
      assert.equal(none.status, 401, `${method} ${path} without a token`);
      assert.match((none.body as { error: string }).error, /Authorization: Bearer/);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="rxswim"');
      const bad = method === 'POST' ? await post(1, path, body, { authorization: 'Bearer nope' }) : await getJson(url(1, path), { headers: { authorization: 'Bearer nope' } });
      assert.equal(bad.status, 401, `${method} ${path} with a wrong token`);
      assert.deepEqual(bad.body, { error: 'invalid token' });
    }
    assert.equal(a.child.exitCode, null, 'the refused leave did not stop h1');

    // ---- keys ----
    assert.deepEqual((await getJson(url(1, '/v1/keys'), { headers: auth })).body, { keys: [key1], primary: key1 });
    assert.deepEqual((await post(1, '/v1/keys', { op: 'install', key: key2 }, auth)).body, { keys: [key1, key2], primary: key1 });
    const removePrimary = await post(1, '/v1/keys', { op: 'remove', key: key1 }, auth);
    assert.equal(removePrimary.status, 400);
    assert.match((removePrimary.body as { error: string }).error, /primary/);
    assert.equal((await post(1, '/v1/keys', { op: 'use', key: randomBytes(16).toString('base64') }, auth)).status, 400);
    assert.equal((await post(1, '/v1/keys', { op: 'install', key: 'short' }, auth)).status, 400);
    assert.match(((await post(1, '/v1/keys', { op: 'rotate', key: key2 }, auth)).body as { error: string }).error, /op must be install, use or remove/);
    assert.deepEqual((await post(1, '/v1/keys', { op: 'remove', key: key2 }, auth)).body, { keys: [key1], primary: key1 });
    // h2 has no token: open
    assert.deepEqual((await getJson(url(2, '/v1/keys'))).body, { keys: [key1], primary: key1 });

    // ---- SSE: kill -9 h3, receive `failed` for it ----
    const sse = await openSse(url(2, '/v1/events'));
    assert.equal(sse.contentType, 'text/event-stream');
    await waitFor('hello', () => sse.events.length, (n) => n >= 1, 5000);
    assert.equal(sse.events[0]!.event, 'hello');
    await kill(c, 'SIGKILL');
    await waitFor('a failed event for h3', () => sse.events, (es) => es.some((e) => e.event === 'failed'), 20_000);
    const failed = JSON.parse(sse.events.find((e) => e.event === 'failed')!.data) as EventJson;
    assert.equal(failed.type, 'failed');
    assert.equal(failed.member.name, 'h3');
    assert.equal(failed.member.state, 'dead');
    assert.ok(Math.abs(failed.time - Date.now()) < 30_000);
    // h2 saw it first; h1 hears the death by gossip within a few rounds.
    await waitFor('h1 lists h3 dead', async () => ((await getJson(url(1, '/v1/members?status=dead'))).body as MemberJson[])[0]?.name, (n) => n === 'h3', 5000);

    // ---- join ----
    const noSeeds = await post(4, '/v1/join', { seeds: [] });
    assert.equal(noSeeds.status, 400);
    assert.match((noSeeds.body as { error: string }).error, /seeds must not be empty/);
    assert.equal((await post(4, '/v1/join', '{"seeds": [')).status, 400);
    const badSeed = await post(4, '/v1/join', { seeds: ['dns:'] });
    assert.equal(badSeed.status, 400);
    const unreachable = await post(4, '/v1/join', { seeds: ['127.0.63.9:7946'] });
    assert.equal(unreachable.status, 502);
    assert.equal((unreachable.body as { failures: Array<{ seed: string }> }).failures[0]!.seed, '127.0.63.9:7946');
    const joined = await post(4, '/v1/join', { seeds: ['127.0.63.1', '127.0.63.2:7946'] });
    assert.deepEqual(joined.body, { contacted: 2 });
    assert.equal((await getJson(url(4, '/v1/health'))).status, 200, 'healthy once joined through the API');
    assert.deepEqual((await post(1, '/v1/join', { seeds: ['127.0.63.4'] }, auth)).body, { contacted: 1 }, 'with the token');
    await waitFor('h1 sees h4', async () => (await httpMembers('127.0.63.1:8946'))?.find((m) => m.name === 'h4')?.state, (s) => s === 'alive', 10_000);

    // ---- leave: answered at once, then the agent leaves and exits 0 ----
    const leave = await post(1, '/v1/leave', {}, auth);
    assert.equal(leave.status, 202);
    assert.deepEqual(leave.body, { leaving: true });
    assert.equal(await exitOf(a, 15_000), 0);
    await waitFor('h2 sees h1 left', async () => (await httpMembers('127.0.63.2:8946'))?.find((m) => m.name === 'h1')?.state, (s) => s === 'left', 10_000);
    await waitFor('a left event for h1 on the stream', () => sse.events, (es) => es.some((e) => e.event === 'left' && (JSON.parse(e.data) as EventJson).member.name === 'h1'), 5000);
    sse.close();
    await sse.ended;
  } finally {
    await g.killAll();
  }
});
