// `serf keys` against a mixed cluster: one Debian serf 0.9.4 agent and two rxswim
// agents, all encrypted with K1. Serf's keymanager sends its internal key queries to
// every member and counts the answers; the rxswim agents answer them from their
// keyrings (src/serf/key-queries.ts). A full rotation K1 → K2 through `serf keys`
// alone, the cluster formed throughout, and a refused removal reported by name; and
// without encryption, Serf's refusal from the rxswim agent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { builtCli, CLI, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SERF = { name: 'serf-k', bind: '127.0.122.1:7946', rpc: '127.0.122.1:7373' };
const RX = [0, 1].map((i) => ({ name: `rx-k${i + 1}`, bind: `127.0.122.${11 + i}:7946`, http: `127.0.122.${11 + i}:8946` }));
const ALL = [SERF.name, ...RX.map((r) => r.name)].sort();

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf)' : !builtCli() ? 'run `npm run build` first' : false;

interface SerfKeys {
  status: number | null;
  out: string;
}

function serfKeys(...args: string[]): SerfKeys {
  const r = spawnSync('serf', ['keys', `-rpc-addr=${SERF.rpc}`, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `serf keys -list`'s table: key → [holders, total] */
function listed(out: string): Map<string, [number, number]> {
  const rows = new Map<string, [number, number]>();
  for (const m of out.matchAll(/^(\S+)\s+\[(\d+)\/(\d+)\]\s*$/gm)) rows.set(m[1]!, [Number(m[2]), Number(m[3])]);
  return rows;
}

/** `failed: | node | message` lines of a failed `serf keys` run */
function failures(out: string): Map<string, string> {
  return new Map([...out.matchAll(/^failed:\s+(\S+)\s+(.*?)\s*$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** `rxswim keys --cluster ...` through an rxswim agent */
function rxClusterKeys(http: string, ...args: string[]): SerfKeys {
  const r = spawnSync(process.execPath, [CLI, 'keys', '--cluster', ...args, '--http', http], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function rxKeys(http: string): Promise<{ keys: string[]; primary: string }> {
  const res = await fetch(`http://${http}/v1/keys`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  return (await res.json()) as { keys: string[]; primary: string };
}

function keygen(): string {
  const r = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 0, `serf keygen: ${r.stderr}`);
  return r.stdout.trim();
}

async function allAlive(what: string): Promise<void> {
  await waitFor(`${what}: serf lists 3 alive`, () => serfMembers(SERF.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 3, 30_000);
  for (const r of RX) {
    await waitFor(`${what}: ${r.name} lists 3 alive`, () => httpMembers(r.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 3, 30_000);
  }
  assert.deepEqual(serfMembers(SERF.rpc).map((m) => m.name).sort(), ALL);
}

test('serf keys -list/-install/-use/-remove reach rxswim agents; a refused removal names them', { timeout: 240_000, skip }, async (t) => {
  const g = new ProcGroup();
  try {
    const k1 = keygen();
    const k2 = keygen();
    assert.notEqual(k1, k2);
    g.serf(SERF.name, SERF.bind, SERF.rpc, [`-encrypt=${k1}`]);
    await waitFor('serf RPC', () => serfMembers(SERF.rpc).length, (n) => n === 1, 15_000);
    for (const r of RX) g.agent(r.name, r.bind, r.http, ['--encrypt', k1, '--join', SERF.bind]);
    await allAlive('joined');

    // -list: every member answers with its one key.
    let r = serfKeys('-list');
    assert.equal(r.status, 0, r.out);
    assert.deepEqual([...listed(r.out)], [[k1, [3, 3]]], r.out);

    // -install K2: every member reports success, and the rxswim agents hold K2 (K1 still primary).
    r = serfKeys('-install', k2);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Successfully installed key/);
    for (const x of RX) assert.deepEqual(await rxKeys(x.http), { keys: [k1, k2], primary: k1 }, x.name);
    r = serfKeys('-list');
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(new Map(listed(r.out)), new Map([[k1, [3, 3]], [k2, [3, 3]]]), r.out);
    t.diagnostic(`serf keys -list after -install:\n${r.out}`);

    // -use K2: the new primary everywhere.
    r = serfKeys('-use', k2);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Successfully changed primary key/);
    for (const x of RX) assert.deepEqual(await rxKeys(x.http), { keys: [k2, k1], primary: k2 }, x.name);

    // Removing the primary is refused by every member, rxswim's named with Serf's message.
    r = serfKeys('-remove', k2);
    assert.equal(r.status, 1, r.out);
    const failed = failures(r.out);
    assert.deepEqual([...failed.keys()].sort(), ALL, r.out);
    for (const x of RX) assert.equal(failed.get(x.name), 'Removing the primary key is not allowed', r.out);
    assert.match(r.out, /3\/3 nodes reported failure/);
    t.diagnostic(`serf keys -remove <primary>:\n${r.out}`);
    for (const x of RX) assert.deepEqual(await rxKeys(x.http), { keys: [k2, k1], primary: k2 }, `${x.name} unchanged by the refusal`);

    // -remove K1: gone from the rxswim agents; the cluster now runs on K2 alone.
    r = serfKeys('-remove', k1);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Successfully removed key/);
    for (const x of RX) assert.deepEqual(await rxKeys(x.http), { keys: [k2], primary: k2 }, x.name);
    r = serfKeys('-list');
    assert.equal(r.status, 0, r.out);
    assert.deepEqual([...listed(r.out)], [[k2, [3, 3]]], r.out);

    // Still formed a few probe intervals later (lan: 1 s), with nothing failing to decrypt since.
    const before = await Promise.all(RX.map((x) => metricValue(x.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })));
    await sleep(6000);
    await allAlive('after the rotation');
    const after = await Promise.all(RX.map((x) => metricValue(x.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })));
    assert.deepEqual(after, before, 'no packet failed to decrypt after the rotation');

    // Each rxswim agent counted what it answered: 3 lists, 1 install, 1 use, 2 removes (one refused).
    for (const x of RX) {
      const v = (op: string, result: string) => metricValue(x.http, 'rxswim_serf_key_queries_total', { op, result });
      assert.equal(await v('list', 'ok'), 3, `${x.name} list ok`);
      assert.equal(await v('install', 'ok'), 1, `${x.name} install ok`);
      assert.equal(await v('use', 'ok'), 1, `${x.name} use ok`);
      assert.equal(await v('remove', 'ok'), 1, `${x.name} remove ok`);
      assert.equal(await v('remove', 'error'), 1, `${x.name} remove error`);
      assert.equal(await v('install', 'malformed'), 0, `${x.name} install malformed`);
    }

    // The other way: `rxswim keys --cluster` sends the same queries, and the Serf agent answers them.
    const k3 = keygen();
    r = rxClusterKeys(RX[0]!.http, 'install', k3);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Successfully installed key/);
    r = serfKeys('-list');
    assert.equal(r.status, 0, r.out);
    assert.deepEqual(new Map(listed(r.out)), new Map([[k2, [3, 3]], [k3, [3, 3]]]), `serf's view after rxswim installed K3:\n${r.out}`);
    r = rxClusterKeys(RX[1]!.http, 'list', '--json');
    assert.equal(r.status, 0, r.out);
    const summary = JSON.parse(r.out) as { numNodes: number; numResp: number; numErr: number; keys: Record<string, number>; primaryKeys: Record<string, number> };
    assert.deepEqual(summary, { op: 'list', numNodes: 3, numResp: 3, numErr: 0, messages: {}, keys: { [k2]: 3, [k3]: 3 }, primaryKeys: { [k2]: 3 } });
    r = rxClusterKeys(RX[1]!.http, 'remove', k2);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, new RegExp(`failed: ${SERF.name}\\s+Removing the primary key is not allowed`), r.out);
    assert.match(r.out, /Error removing key: 3\/3 nodes reported failure/);
    t.diagnostic(`rxswim keys --cluster remove <primary>:\n${r.out}`);
    r = rxClusterKeys(RX[1]!.http, 'remove', k3);
    assert.equal(r.status, 0, r.out);
    r = serfKeys('-list');
    assert.deepEqual([...listed(r.out)], [[k2, [3, 3]]], r.out);
  } finally {
    await g.killAll();
  }
});

test('without encryption: serf keys names the rxswim agent with Serf\'s refusal, and nothing changes', { timeout: 90_000, skip }, async () => {
  const g = new ProcGroup();
  const rx = RX[0]!;
  try {
    g.serf(SERF.name, SERF.bind, SERF.rpc);
    await waitFor('serf RPC', () => serfMembers(SERF.rpc).length, (n) => n === 1, 15_000);
    g.agent(rx.name, rx.bind, rx.http, ['--join', SERF.bind]);
    await waitFor('serf lists 2 alive', () => serfMembers(SERF.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 2, 30_000);

    let r = serfKeys('-list');
    assert.equal(r.status, 1, r.out);
    assert.equal(failures(r.out).get(rx.name), 'Keyring is empty (encryption not enabled)', r.out);
    assert.match(r.out, /2\/2 nodes reported failure/);
    r = serfKeys('-install', keygen());
    assert.equal(r.status, 1, r.out);
    assert.equal(failures(r.out).get(rx.name), 'No keyring to modify (encryption not enabled)', r.out);
    assert.equal(failures(r.out).get(SERF.name), 'No keyring to modify (encryption not enabled)', r.out);
    assert.deepEqual(await rxKeys(rx.http), { keys: [], primary: null });
    assert.equal(await metricValue(rx.http, 'rxswim_serf_key_queries_total', { op: 'install', result: 'error' }), 1);
    assert.equal(await metricValue(rx.http, 'rxswim_serf_key_queries_total', { op: 'list', result: 'error' }), 1);
  } finally {
    await g.killAll();
  }
});
