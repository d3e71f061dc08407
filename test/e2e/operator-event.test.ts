// Serf user events through the operator surface, two real rxswim agents on
// 127.0.117.4x: `POST /v1/event` (token, validation, Serf's size limit), `rxswim event`,
// the `user_event` SSE event on `GET /v1/events`, the agent's log line and
// `rxswim monitor`'s line on the other agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEventJson } from '../../src/http/server.js';
import { builtCli, CLI, httpMembers, ProcGroup } from '../helpers/procs.js';
import { getJson, openSse, runCli, startAgent } from '../helpers/operator.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'event-test-token';
const url = (i: number, path: string) => `http://127.0.117.4${i}:8946${path}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const post = (i: number, body: unknown, headers: Record<string, string> = auth) =>
  getJson(url(i, '/v1/event'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('POST /v1/event, rxswim event, user_event on /v1/events, in the log and in rxswim monitor', { timeout: 60_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const g = new ProcGroup();
  const agent = (i: number, extra: string[]) => startAgent(g, `e${i}`, ['--node', `e${i}`, '--bind', `127.0.117.4${i}:7946`, '--http', `127.0.117.4${i}:8946`, '--profile', 'local', ...extra]);
  try {
    agent(1, ['--http-token', TOKEN]);
    await waitFor('e1 HTTP', () => getJson(url(1, '/v1/health')).catch(() => undefined), (r) => r?.status === 200, 10_000);
    const e2 = agent(2, ['--join', '127.0.117.41:7946']);
    await waitFor('both see 2 alive', async () => Promise.all([1, 2].map(async (i) => (await httpMembers(`127.0.117.4${i}:8946`))?.filter((m) => m.state === 'alive').length)), (xs) => xs.every((x) => x === 2), 15_000);
    const sse = await openSse(url(2, '/v1/events'));
    const monitor = g.start('monitor', process.execPath, [CLI, 'monitor', '--http', '127.0.117.42:8946']);

    // The guard and the validation.
    assert.equal((await post(1, { name: 'deploy' }, {})).status, 401);
    for (const [body, re] of [
      [{}, /name/],
      [{ name: '' }, /name must not be empty/],
      [{ name: 5 }, /name must be a string/],
      [{ name: 'x', payload: 1 }, /payload must be a string/],
      [{ name: 'x', payloadBase64: '!!' }, /not base64/],
      [{ name: 'x', payload: 'a', payloadBase64: 'YQ==' }, /not both/],
      [{ name: 'x', coalesce: 'yes' }, /coalesce must be true or false/],
      [{ name: 'x', extra: 1 }, /extra/],
    ] as const) {
      const r = await post(1, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match((r.body as { error: string }).error, re, JSON.stringify(body));
    }
    const big = await post(1, { name: 'big', payload: 'x'.repeat(510) });
    assert.equal(big.status, 413);
    assert.match((big.body as { error: string }).error, /513 bytes, over Serf's limit of 512/);

    // One event by HTTP (bytes), one by the CLI.
    const ok = await post(1, { name: 'restart', payloadBase64: Buffer.from([0, 1, 2]).toString('base64'), coalesce: false });
    assert.deepEqual([ok.status, ok.body], [200, { sent: true, name: 'restart', ltime: '1' }]);
    const cli = await runCli(['event', '--http', '127.0.117.41:8946', '--token', TOKEN, 'deploy', 'v2']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, 'event deploy sent (ltime 2)\n');
    const tooBig = await runCli(['event', '--http', '127.0.117.41:8946', '--token', TOKEN, 'deploy', 'x'.repeat(600)]);
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /413/);

    // e2 streams, logs and monitors both, once each.
    const userEvents = () => sse.events.filter((e) => e.event === 'user_event').map((e) => JSON.parse(e.data) as UserEventJson);
    await waitFor('e2 streams both events', () => userEvents().length, (n) => n >= 2, 10_000);
    const [r, d] = userEvents();
    assert.deepEqual([r!.name, r!.payloadBase64, r!.ltime, r!.coalesce], ['restart', 'AAEC', '1', false]);
    assert.deepEqual([d!.name, d!.payload, d!.ltime, d!.coalesce], ['deploy', 'v2', '2', true]);
    const logged = () => e2.lines.filter((l) => l.includes('"event":"user_event"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor('e2 logs both', () => logged().length, (n) => n >= 2, 5000);
    assert.deepEqual(logged().map((j) => [j.name, j.payload, j.ltime]), [['restart', '\u0000\u0001\u0002', '1'], ['deploy', 'v2', '2']]);
    await waitFor('rxswim monitor prints the deploy event', () => monitor.lines.some((l) => /user_event deploy {2}"v2" {2}\(ltime 2, coalesce\)/.test(l)), (ok) => ok, 5000);
    sse.close();
  } finally {
    await g.killAll();
  }
});
