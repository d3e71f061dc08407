// Serf user events between rxswim nodes, in virtual time: a node that gossip missed
// (every datagram carrying the event to it is dropped) gets it from the push-pull
// state of an rxswim peer, which carries recent Serf events as it carries recent user
// broadcasts; every node gets it exactly once. And a node that joins after an event
// does not get it (Serf's rule: events from before one's join are not one's own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SerfUserEvent } from '../../src/api.js';
import { PRESETS } from '../../src/config.js';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

const SEED = Number(process.env.RXSWIM_SEED ?? 7);
const NAME: Buffer = Buffer.from('serf-repair');

function contains(hay: Uint8Array, needle: Buffer): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(needle);
}

test(`a Serf event that gossip missed arrives by an rxswim peer's push-pull, once (5 nodes, seed ${SEED})`, { timeout: 60_000 }, async () => {
  const N = 5;
  const c = new VirtualCluster({ size: N, seed: SEED, profile: 'local' });
  try {
    await c.boot();
    const got = new Map<string, SerfUserEvent[]>();
    for (const [n, node] of c.nodes) node.serfEvents$.subscribe((e) => got.set(n, [...(got.get(n) ?? []), e]));
    const missHost = VirtualCluster.hostOf(4);
    let dropped = 0;
    c.network.setDropFilter((_from, to, data) => {
      const hit = to.host === missHost && contains(data, NAME);
      if (hit) dropped++;
      return hit;
    });
    c.nodes.get('node-0')!.serfEvent('serf-repair', 'x');
    await c.advance(2_000);
    assert.ok(dropped > 0, 'the fault was injected: datagrams carrying the event to node-4 were dropped');
    assert.equal(got.get('node-4'), undefined, 'node-4 missed it by gossip');
    for (let i = 0; i < 4; i++) assert.equal(got.get(`node-${i}`)?.length, 1, `node-${i} got it by gossip`);
    await c.advance(2 * PRESETS.local.pushPullInterval);
    for (let i = 0; i < N; i++) assert.deepEqual(got.get(`node-${i}`)?.map((e) => `${e.name}@${e.ltime}`), ['serf-repair@1'], `node-${i}: exactly once`);
    console.log(`# node-4 got the event by push-pull; ${dropped} datagrams carrying it to node-4 were dropped`);

    // A late joiner: the event is in its seed's push-pull state, but from before its join.
    c.network.setDropFilter(undefined);
    const late = await c.add(N);
    const lateGot: SerfUserEvent[] = [];
    late.serfEvents$.subscribe((e) => lateGot.push(e));
    const joined = late.join([`${VirtualCluster.hostOf(0)}:7946`]);
    await c.advance(50);
    assert.equal(await joined, 1);
    await c.advance(2 * PRESETS.local.pushPullInterval);
    assert.equal(lateGot.length, 0, 'a node that joined afterwards does not get the earlier event');
    c.nodes.get('node-1')!.serfEvent('after-join', '');
    // by gossip, or (when gossip's few copies all miss it, as with seed 7) by push-pull
    await c.advance(2 * PRESETS.local.pushPullInterval);
    assert.deepEqual(lateGot.map((e) => `${e.name}@${e.ltime}`), ['after-join@2'], 'it gets the next one, at a later time');
  } finally {
    await c.stopAll();
  }
});
