// A join reaches every member even when gossip carries it to none of them: the joiner
// announces itself directly to the members it learned from its seed, and push-pulls
// with one more member a probe interval later (issue 12, "no missed join").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';
import { decodePacket } from '../../src/wire/index.js';

const N = 10;
const JOINER = `node-${N}`;

async function pushPullsOk(c: VirtualCluster, name: string): Promise<number> {
  const m = await c.nodes.get(name)!.metrics.registry.getSingleMetric('rxswim_push_pulls_total')!.get();
  return m.values.find((v) => v.labels.result === 'ok')?.value ?? 0;
}

test('no member relays the joiner\'s alive, and still every member lists it within a few gossip rounds', { timeout: 60_000 }, async () => {
  const c = new VirtualCluster({ size: N, seed: 7, config: { pushPullInterval: 0 } });
  try {
    await c.boot();
    const joinerHost = VirtualCluster.hostOf(N);
    let dropped = 0;
    // Every copy of the joiner's alive that another member passes on is lost.
    c.network.setDropFilter((from, _to, data) => {
      if (from.host === joinerHost) return false;
      const relays = decodePacket(data).messages.some((m) => m.type === 'alive' && m.node === JOINER);
      if (relays) dropped++;
      return relays;
    });
    await c.add(N);
    const t0 = c.now;
    const joined = c.nodes.get(JOINER)!.join([`${VirtualCluster.hostOf(0)}:7946`]);
    await c.advance(50);
    assert.equal(await joined, 1);
    const all = await c.until(() => [...c.nodes.keys()].every((o) => o === JOINER || c.stateOf(o, JOINER) === 'alive'), 2_000);
    assert.ok(all !== undefined, `every member lists ${JOINER} within 2 s: ${[...c.nodes.keys()].filter((o) => c.stateOf(o, JOINER) !== 'alive').join(', ')} do not`);
    await c.advance(1_000);
    console.log(`# all ${N} members list the joiner ${all - t0} ms after join(); ${dropped} relayed copies dropped in the next second`);
    assert.ok(dropped > 0, 'the fault was injected: relayed copies of the alive were dropped');
  } finally {
    await c.stopAll();
  }
});

test('the joiner push-pulls with a second member (not its seed) one probe interval after joining', { timeout: 60_000 }, async () => {
  const c = new VirtualCluster({ size: 4, seed: 3, config: { pushPullInterval: 0 } });
  try {
    await c.boot();
    await c.add(4);
    const joined = c.nodes.get('node-4')!.join([`${VirtualCluster.hostOf(0)}:7946`]);
    await c.advance(50);
    await joined;
    assert.equal(await pushPullsOk(c, 'node-4'), 1, 'the join itself');
    await c.advance(c.nodes.get('node-4')!.config.probeInterval + 500);
    assert.equal(await pushPullsOk(c, 'node-4'), 2, 'and one more');
    await c.advance(30_000);
    assert.equal(await pushPullsOk(c, 'node-4'), 2, 'only one (periodic push-pull is off here)');
  } finally {
    await c.stopAll();
  }
});

test('a joiner whose seeds had never met (two clusters merged) makes each seed list the other, with every relayed alive lost', { timeout: 60_000 }, async () => {
  const c = new VirtualCluster({ size: 0, seed: 11, config: { pushPullInterval: 0 } });
  try {
    for (const i of [0, 1, 2]) await c.add(i);
    let dropped = 0;
    // Only first-hand alives get through: a copy of X's alive sent by anyone but X is lost,
    // so the seeds can learn of each other only from the joiner's push-pulls.
    const hostOfName = (name: string) => VirtualCluster.hostOf(Number(name.slice('node-'.length)));
    c.network.setDropFilter((from, _to, data) => {
      const relays = decodePacket(data).messages.some((m) => m.type === 'alive' && hostOfName(m.node) !== from.host);
      if (relays) dropped++;
      return relays;
    });
    const t0 = c.now;
    const joined = c.nodes.get('node-2')!.join([`${VirtualCluster.hostOf(0)}:7946`, `${VirtualCluster.hostOf(1)}:7946`]);
    await c.advance(50);
    assert.equal(await joined, 2);
    const met = await c.until(() => c.stateOf('node-0', 'node-1') === 'alive' && c.stateOf('node-1', 'node-0') === 'alive', 2_000);
    assert.ok(met !== undefined, `each seed lists the other within 2 s: node-0 sees node-1 ${c.stateOf('node-0', 'node-1')}, node-1 sees node-0 ${c.stateOf('node-1', 'node-0')}`);
    await c.advance(1_000);
    assert.ok(dropped > 0, 'the fault was injected: the joiner relayed a seed\'s alive, and it was dropped');
    assert.equal(await pushPullsOk(c, 'node-2'), 4, 'two for the join, one more with each seed');
    console.log(`# seeds that had not met list each other ${met - t0} ms after the join began; ${dropped} relayed alives dropped`);
  } finally {
    await c.stopAll();
  }
});
