// A 50/50 partition: each half declares the other failed; after healing, Serf-style
// reconnect merges the halves back without anyone calling join.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

const SEED = Number(process.env.RXSWIM_SEED ?? 11);

test(`partition 5/5 for 60 s, then heal: both sides see the other failed, then all 10 alive again (seed ${SEED})`, { timeout: 120_000 }, async () => {
  const N = 10;
  const c = new VirtualCluster({ size: N, seed: SEED });
  try {
    await c.boot();
    const hosts = [...Array(N).keys()].map((i) => VirtualCluster.hostOf(i));
    const left = [...Array(N / 2).keys()];
    const right = left.map((i) => i + N / 2);
    const name = (i: number) => `node-${i}`;

    c.network.partition(left.map((i) => hosts[i]!), right.map((i) => hosts[i]!));
    await c.advance(60_000);
    for (const a of left) {
      for (const b of right) {
        assert.equal(c.stateOf(name(a), name(b)), 'dead', `${name(a)} sees ${name(b)} failed during the partition`);
        assert.equal(c.stateOf(name(b), name(a)), 'dead', `${name(b)} sees ${name(a)} failed during the partition`);
      }
    }

    c.network.heal();
    const healedAt = c.now;
    const merged = await c.until(
      () => [...c.nodes.values()].every((n) => n.members().filter((m) => m.state === 'alive').length === N),
      180_000,
      100,
    );
    assert.ok(merged !== undefined, 'the halves merged back to 10 alive everywhere within 180 s of healing');
    console.log(`# merged ${merged - healedAt} ms after healing (reconnect interval 30 s)`);
  } finally {
    await c.stopAll();
  }
});
