// User broadcasts: infection-style gossip delivers most at once; push-pull
// anti-entropy (recent broadcasts ride in the push-pull state) delivers the rest
// within a couple of push-pull intervals. Every node gets every broadcast exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS } from '../../src/config.js';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

const SEED = Number(process.env.RXSWIM_SEED ?? 21);

test(`every broadcast reaches every node exactly once, 10 nodes, local preset, 10 % loss (seed ${SEED})`, { timeout: 60_000 }, async () => {
  const N = 10;
  const B = 30;
  const c = new VirtualCluster({ size: N, seed: SEED, profile: 'local' });
  try {
    await c.boot();
    c.network.setLoss(0.1);
    const got = new Map<string, string[]>();
    for (const [n, node] of c.nodes) node.messages$.subscribe((m) => got.set(n, [...(got.get(n) ?? []), Buffer.from(m.payload).toString()]));
    for (let k = 0; k < B; k++) {
      c.nodes.get(`node-${k % N}`)!.broadcast(`msg-${k}`);
      await c.advance(100);
    }
    await c.advance(2_000);
    const byGossip = [...got.values()].reduce((n, l) => n + l.length, 0);
    await c.advance(2 * PRESETS.local.pushPullInterval);
    c.network.setLoss(0);
    const expected = B * (N - 1);
    const total = [...got.values()].reduce((n, l) => n + l.length, 0);
    console.log(`# ${byGossip} of ${expected} deliveries by gossip within 2 s; ${total} after two push-pull intervals`);
    for (const [n, list] of got) {
      const mine = new Set([...Array(B).keys()].filter((k) => `node-${k % N}` !== n).map((k) => `msg-${k}`));
      assert.deepEqual([...list].sort(), [...mine].sort(), `${n} got every other node's broadcast exactly once`);
    }
    assert.equal(total, expected);
  } finally {
    await c.stopAll();
  }
});
