// `rxswim keys --cluster` through the built CLI on 127.0.122.4x: two plaintext agents
// answer Serf's key queries as Serf does without encryption (Result false, "No keyring
// to modify (encryption not enabled)"), so every op fails naming both, exit 1, and
// nothing changes; usage errors exit 2 before any member is asked. (An encrypted
// rotation, with a real Serf agent: test/interop/serf-keys.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtCli, ProcGroup } from '../helpers/procs.js';
import { getJson, runCli, startAgent } from '../helpers/operator.js';
import { waitFor } from '../helpers/wait.js';

const skip = !builtCli() && 'run `npm run build` first';
const KEY = 'AAECAwQFBgcICQoLDA0ODw==';
const A = { name: 'plain-a', bind: '127.0.122.41:7946', http: '127.0.122.41:8946' };
const B = { name: 'plain-b', bind: '127.0.122.42:7946', http: '127.0.122.42:8946' };
const TOKEN = 's3cret';

test('keys --cluster on plaintext agents: every member refuses as Serf does (exit 1, named); usage errors exit 2', { timeout: 60_000, skip }, async () => {
  const g = new ProcGroup();
  try {
    startAgent(g, A.name, ['--node', A.name, '--bind', A.bind, '--http', A.http, '--profile', 'local', '--http-token', TOKEN]);
    // B's --join must find A listening, or B exits 2.
    await waitFor('plain-a', () => getJson(`http://${A.http}/v1/health`).catch(() => undefined), (r) => r?.status === 200, 15_000);
    startAgent(g, B.name, ['--node', B.name, '--bind', B.bind, '--http', B.http, '--profile', 'local', '--join', A.bind]);
    await waitFor('both agents see 2 alive', async () => {
      const views = await Promise.all([A, B].map((x) => getJson(`http://${x.http}/v1/members`).catch(() => undefined)));
      return views.map((v) => (Array.isArray(v?.body) ? (v.body as Array<{ state: string }>).filter((m) => m.state === 'alive').length : 0));
    }, (counts) => counts.every((n) => n === 2), 20_000);

    const install = await runCli(['keys', '--cluster', 'install', KEY, '--http', A.http, '--token', TOKEN]);
    assert.equal(install.code, 1, install.stderr);
    assert.match(install.stderr, /^failed: plain-a {2}No keyring to modify \(encryption not enabled\)$/m, install.stderr);
    assert.match(install.stderr, /^failed: plain-b {2}No keyring to modify \(encryption not enabled\)$/m, install.stderr);
    assert.match(install.stderr, /Error installing key: 2\/2 nodes reported failure/);

    const list = await runCli(['keys', '--cluster', 'list', '--http', B.http, '--json']);
    assert.equal(list.code, 1, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), {
      op: 'list', numNodes: 2, numResp: 2, numErr: 2,
      messages: { 'plain-a': 'Keyring is empty (encryption not enabled)', 'plain-b': 'Keyring is empty (encryption not enabled)' },
      keys: {}, primaryKeys: {}, error: '2/2 nodes reported failure',
    });
    assert.deepEqual((await getJson(`http://${B.http}/v1/keys`)).body, { keys: [], primary: null }, 'plain-b still without keys');
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.deepEqual((await getJson(`http://${A.http}/v1/keys`, { headers: auth })).body, { keys: [], primary: null }, 'plain-a still without keys');

    // The route: guarded by the token like the other key routes, and its body checked.
    const post = (body: unknown, headers: Record<string, string> = auth) =>
      getJson(`http://${A.http}/v1/keys/cluster`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    assert.equal((await post({ op: 'list' }, {})).status, 401);
    assert.equal((await runCli(['keys', '--cluster', 'list', '--http', A.http])).code, 1, 'no token: the agent refuses (401)');
    const badOp = await post({ op: 'rotate' });
    assert.equal(badOp.status, 400);
    assert.match(JSON.stringify(badOp.body), /op must be list, install, use or remove/);
    const badKey = await post({ op: 'install', key: 'AAAA' });
    assert.equal(badKey.status, 400);
    assert.match(JSON.stringify(badKey.body), /key: must be 16, 24 or 32 bytes/);
    assert.equal((await post({ op: 'list', key: KEY })).status, 400);
    assert.equal((await post({ op: 'list' })).status, 200);

    const usage = await Promise.all([
      runCli(['keys', '--cluster', 'install', '--http', A.http]),
      runCli(['keys', '--cluster', 'list', KEY, '--http', A.http]),
      runCli(['keys', '--cluster', 'use', 'not-a-key', '--http', A.http]),
    ]);
    for (const r of usage) assert.equal(r.code, 2, r.stderr);
    assert.match(usage[2]!.stderr, /^rxswim keys --cluster: KEY: is not valid base64$/m);
    const unreachable = await runCli(['keys', '--cluster', 'list', '--http', '127.0.122.49:1']);
    assert.equal(unreachable.code, 1, unreachable.stderr);
  } finally {
    await g.killAll();
  }
});
