// clusterKeys() (src/shell/cluster-keys.ts) between three encrypted in-process rxswim
// nodes over real UDP/TCP on loopback: Serf's key queries sent by one rxswim node and
// answered by every node, a full rotation, a refusal named by member, and the usage
// errors. (With a real Serf agent in the cluster: test/interop/serf-keys.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { createNode } from '../../src/node.js';
import { clusterKeys } from '../../src/shell/cluster-keys.js';
import { waitFor } from '../helpers/wait.js';

const N = 3;
const key = () => randomBytes(32).toString('base64');

test('clusterKeys(): install, use, remove and list across three rxswim nodes; the primary cannot be removed', { timeout: 90_000 }, async () => {
  const k1 = key();
  const k2 = key();
  const nodes = Array.from({ length: N }, (_, i) => createNode({ name: `ck-${i}`, bind: `127.0.122.${31 + i}:0`, profile: 'local', keyring: [k1] }));
  try {
    for (const n of nodes) await n.start();
    const seed = `${nodes[0]!.address!.host}:${nodes[0]!.address!.port}`;
    for (let i = 1; i < N; i++) await nodes[i]!.join([seed]);
    await waitFor('all see 3 alive', () => nodes.every((n) => n.countByState().alive === N), (ok) => ok, 15_000);
    const names = nodes.map((n) => n.name).sort();
    const asker = nodes[1]!;
    const timeoutMs = 5000;

    let r = await clusterKeys(asker, 'list', undefined, { timeoutMs });
    assert.deepEqual({ ...r, messages: r.messages }, { op: 'list', numNodes: 3, numResp: 3, numErr: 0, messages: {}, keys: { [k1]: 3 }, primaryKeys: { [k1]: 3 } });

    r = await clusterKeys(asker, 'install', k2, { timeoutMs });
    assert.equal(r.error, undefined, JSON.stringify(r));
    assert.equal(r.numResp, 3);
    for (const n of nodes) assert.deepEqual(n.keyring.list(), [k1, k2], n.name);

    r = await clusterKeys(asker, 'use', k2, { timeoutMs });
    assert.equal(r.error, undefined, JSON.stringify(r));
    for (const n of nodes) assert.deepEqual(n.keyring.list(), [k2, k1], n.name);

    r = await clusterKeys(asker, 'remove', k2, { timeoutMs });
    assert.equal(r.error, '3/3 nodes reported failure');
    assert.deepEqual(Object.keys(r.messages).sort(), names);
    for (const m of Object.values(r.messages)) assert.equal(m, 'Removing the primary key is not allowed');

    r = await clusterKeys(asker, 'remove', k1, { timeoutMs });
    assert.equal(r.error, undefined, JSON.stringify(r));
    for (const n of nodes) assert.deepEqual(n.keyring.list(), [k2], n.name);
    r = await clusterKeys(nodes[0]!, 'list', undefined, { timeoutMs });
    assert.deepEqual(r.keys, { [k2]: 3 });
    assert.deepEqual(r.primaryKeys, { [k2]: 3 });

    // A member that left is not waited for: Serf counts only the members neither dead nor left.
    await nodes[2]!.leave();
    await waitFor('the others see ck-2 gone', () => nodes.slice(0, 2).every((n) => n.countByState().left === 1), (ok) => ok, 30_000);
    const started = Date.now();
    r = await clusterKeys(asker, 'list', undefined, { timeoutMs: 20_000 });
    assert.equal(r.numNodes, 2);
    assert.equal(r.numResp, 2);
    assert.ok(Date.now() - started < 10_000, 'resolved when both answered, not at the timeout');

    // Usage errors name the field before anything is sent.
    await assert.rejects(clusterKeys(asker, 'install'), (e) => e instanceof ConfigError && e.field === 'key');
    await assert.rejects(clusterKeys(asker, 'list', k1), (e) => e instanceof ConfigError && e.field === 'key');
    await assert.rejects(clusterKeys(asker, 'use', 'AAAA'), (e) => e instanceof ConfigError && e.field === 'key');
    await assert.rejects(clusterKeys(asker, 'rotate' as never, k1), (e) => e instanceof ConfigError && e.field === 'op');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});
