// Dead-node reclaim: a node that restarts under the same name at a new address is
// refused while its old self is freshly dead (a name conflict), and accepted once
// the old entry has been dead for DeadNodeReclaimTime.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

test('restart with the same name at a new address: one member of that name, alive, at the new address after the reclaim time', { timeout: 60_000 }, async () => {
  const reclaim = 10_000;
  const c = new VirtualCluster({ size: 5, seed: 5, config: { deadNodeReclaimTime: reclaim, pushPullInterval: 5_000 } });
  try {
    await c.boot();
    await c.crash('node-3');
    const others = ['node-0', 'node-1', 'node-2', 'node-4'];
    const deadAt = await c.until(() => others.every((o) => c.stateOf(o, 'node-3') === 'dead'), 60_000);
    assert.ok(deadAt !== undefined, 'node-3 declared dead');

    const newHost = '10.0.9.99';
    const reborn = await c.add(3, newHost);
    const joined = reborn.join([`${VirtualCluster.hostOf(0)}:7946`]);
    await c.advance(100);
    await joined;
    // Right after the restart the old entry is freshly dead: the new address is a conflict.
    for (const o of others) {
      const m = c.nodes.get(o)!.members().find((x) => x.name === 'node-3')!;
      if (c.now - deadAt < reclaim) assert.equal(m.address, VirtualCluster.hostOf(3), `${o} keeps the old address before the reclaim time`);
    }
    const settled = await c.until(
      () =>
        others.every((o) => {
          const ms = c.nodes.get(o)!.members().filter((x) => x.name === 'node-3');
          return ms.length === 1 && ms[0]!.state === 'alive' && ms[0]!.address === newHost;
        }),
      reclaim + 60_000,
      100,
    );
    assert.ok(settled !== undefined, 'every member ends with one node-3, alive, at the new address');
    assert.ok(settled - deadAt >= reclaim, `accepted ${settled - deadAt} ms after the death, not before the reclaim time`);
    // ...and by the reclaim rule, not because the dead entry was forgotten (GossipToTheDeadTime, 30 s).
    assert.ok(settled - deadAt < 30_000, `accepted ${settled - deadAt} ms after the death`);
    console.log(`# new address accepted everywhere ${settled - deadAt} ms after the death (reclaim time ${reclaim} ms)`);
  } finally {
    await c.stopAll();
  }
});
