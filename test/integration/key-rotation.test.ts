// Rotating the encryption key of a live cluster (memberlist's install / use / remove)
// on four in-process nodes over real UDP/TCP: no member is ever suspected, nothing
// fails to decrypt, and afterwards a node holding only the old key cannot join.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { MemberEvent } from '../../src/api.js';
import { JoinError } from '../../src/errors.js';
import { createNode, type RxSwimNode } from '../../src/node.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { counterValue } from '../helpers/metrics.js';

const N = 4;
const STEP_MS = 1000;

test('key rotation on a live encrypted cluster: nobody is suspected; the old key is then refused', { timeout: 90_000 }, async () => {
  const key1 = randomBytes(32).toString('base64');
  const key2 = randomBytes(32).toString('base64');
  // Push-pull every second so the TCP path (encrypted streams) runs throughout the rotation too.
  const config = { pushPullInterval: 1000 };
  const nodes = Array.from({ length: N }, (_, i) =>
    createNode({ name: `node-${i}`, bind: `127.0.36.${i + 1}:0`, profile: 'local', keyring: [key1], config }),
  );
  const late: RxSwimNode[] = [];
  const events: MemberEvent[][] = nodes.map(() => []);
  nodes.forEach((n, i) => n.events$.subscribe((e) => events[i]!.push(e)));
  const bad = () => nodes.flatMap((n, i) => events[i]!.filter((e) => e.type === 'failed' || e.type === 'suspected').map((e) => `${n.name}: ${e.type} ${e.member.name}`));
  const allAlive = () =>
    nodes.every((n) => {
      const ms = n.members();
      return ms.length === N && ms.every((m) => m.state === 'alive');
    });
  const decryptFailures = async () => Promise.all(nodes.map((n) => counterValue(n, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })));
  const pushPulls = async (result: string) => (await Promise.all(nodes.map((n) => counterValue(n, 'rxswim_push_pulls_total', { result })))).reduce((a, b) => a + b, 0);

  try {
    for (const n of nodes) await n.start();
    const seed = `${nodes[0]!.address!.host}:${nodes[0]!.address!.port}`;
    for (let i = 1; i < N; i++) assert.equal(await nodes[i]!.join([seed]), 1);
    await waitFor('all 4 nodes to see 4 alive', allAlive, (ok) => ok, 10_000);
    for (const n of nodes) assert.deepEqual(n.keyring.list(), [key1]);
    await sleep(STEP_MS);
    const ppBefore = await pushPulls('ok');

    // 1. Install key2 everywhere: still encrypting with key1, now able to decrypt key2.
    for (const n of nodes) n.keyring.install(key2);
    for (const n of nodes) assert.deepEqual(n.keyring.list(), [key1, key2]);
    await sleep(STEP_MS);
    assert.ok(allAlive(), 'all alive after install');

    // 2. Use key2, one node at a time, with gossip and probes running in between: for a
    //    while some nodes send with key1 and some with key2, and everyone decrypts both.
    for (const n of nodes) {
      n.keyring.use(key2);
      assert.deepEqual(n.keyring.list(), [key2, key1]);
      await sleep(STEP_MS);
      assert.ok(allAlive(), `all alive after ${n.name} switched to key2`);
      assert.deepEqual(bad(), []);
    }

    // 3. Remove key1 everywhere.
    for (const n of nodes) {
      n.keyring.remove(key1);
      assert.deepEqual(n.keyring.list(), [key2]);
      await sleep(STEP_MS);
      assert.ok(allAlive(), `all alive after ${n.name} removed key1`);
    }

    // 4. Five more seconds on key2 alone.
    await sleep(5000);
    assert.deepEqual(bad(), [], 'no failed or suspected event anywhere, during the rotation or after');
    assert.ok(allAlive(), 'all four alive at the end');
    assert.deepEqual(await decryptFailures(), [0, 0, 0, 0], 'no packet or stream failed to decrypt during the rotation');
    for (const n of nodes) assert.equal(await counterValue(n, 'rxswim_suspicions_raised_total', {}), 0, `${n.name} raised no suspicion`);
    assert.ok((await pushPulls('ok')) > ppBefore + N, 'periodic push-pulls (TCP) kept succeeding during the rotation');
    assert.equal(await pushPulls('failed'), 0, 'no push-pull failed');

    // 5. A node holding only key1 cannot join: its push-pull stream is not decryptable
    //    by the seed, which drops it (counted as decrypt_failed) and closes the stream.
    const old = createNode({ name: 'old-key', bind: '127.0.36.11:0', profile: 'local', keyring: [key1] });
    late.push(old);
    await old.start();
    await assert.rejects(old.join([seed]), (e: unknown) => {
      assert.ok(e instanceof JoinError, `expected a JoinError, got ${String(e)}`);
      assert.deepEqual(e.failures.map((f) => f.seed), [seed]);
      return true;
    });
    await waitFor('the seed to count the refused stream', () => counterValue(nodes[0]!, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' }), (v) => v === 1, 3000);
    assert.deepEqual(old.members().map((m) => m.name), ['old-key'], 'the old-key node learned nobody');
    await sleep(1000);
    for (const n of nodes) assert.ok(!n.members().some((m) => m.name === 'old-key'), `${n.name} never lists old-key`);
    assert.ok(allAlive());

    // Control: the same join with the new key succeeds, so the refusal was the key's doing.
    const fresh = createNode({ name: 'new-key', bind: '127.0.36.12:0', profile: 'local', keyring: [key2] });
    late.push(fresh);
    await fresh.start();
    assert.equal(await fresh.join([seed]), 1);
    await waitFor('new-key to see all 5 alive', () => fresh.members().filter((m) => m.state === 'alive').length, (c) => c === N + 1, 10_000);
    assert.deepEqual(bad(), []);
  } finally {
    await Promise.all([...nodes, ...late].map((n) => n.stop()));
  }
});
