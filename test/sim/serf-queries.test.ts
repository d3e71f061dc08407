// Serf queries between rxswim nodes in virtual time, over a network where the path
// from half the nodes back to the querier is broken (every datagram from node-5..9
// to node-0 that carries a query reply is dropped): without a relay factor only the
// other half's answers arrive; with one, the answers also travel through random
// other members, and those that go through a member with a working path arrive,
// each member counted once however many copies arrive. Deterministic from the seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import type { SerfQueryReply } from '../../src/api.js';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

const SEED = Number(process.env.RXSWIM_SEED ?? 11);
const FROM = Buffer.from([0xa4, ...Buffer.from('From')]);
const contains = (hay: Uint8Array, needle: Buffer) => Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(needle);

test(`relays bring answers around a broken return path (10 nodes, seed ${SEED})`, { timeout: 120_000 }, async () => {
  const N = 10;
  const c = new VirtualCluster({ size: N, seed: SEED, profile: 'local' });
  try {
    await c.boot();
    // who heard each query: gossip reaches every member only with high probability,
    // and a cut member that never heard the first query has nothing to drop
    const heard = new Set<string>();
    for (const [name, node] of c.nodes) node.serfQueries$.subscribe((q) => {
      heard.add(name);
      void q.respond(`${name}`);
    });
    const querierHost = VirtualCluster.hostOf(0);
    const cutHosts = new Set(Array.from({ length: 5 }, (_, i) => VirtualCluster.hostOf(5 + i)));
    let dropped = 0;
    c.network.setDropFilter((from, to, data) => {
      const hit = to.host === querierHost && cutHosts.has(from.host) && contains(data, FROM);
      if (hit) dropped++;
      return hit;
    });
    const q0 = c.nodes.get('node-0')!;
    const ask = async (relayFactor: number) => {
      const done = lastValueFrom(q0.serfQuery('who', '', { timeoutMs: 3000, relayFactor }).pipe(toArray()));
      await c.advance(3500);
      const replies: SerfQueryReply[] = await done;
      const from = (type: string) => replies.filter((r) => r.type === type).map((r) => Number(r.from.slice(5))).sort((a, b) => a - b);
      return { acks: from('ack'), responses: from('response') };
    };
    const direct = await ask(0);
    assert.deepEqual(direct, { acks: [0, 1, 2, 3, 4], responses: [0, 1, 2, 3, 4] }, 'without relays the cut half is not heard');
    const cutHeard = Array.from({ length: 5 }, (_, i) => `node-${5 + i}`).filter((n) => heard.has(n)).length;
    // without relays each cut member that heard it sends node-0 one ack and one response, both cut
    assert.ok(cutHeard >= 3, `only ${cutHeard} of the 5 cut members heard the query`);
    assert.equal(dropped, 2 * cutHeard, `replies dropped: ${dropped}, cut members that heard the query: ${cutHeard}`);
    const relayed = await ask(4);
    // Each cut member's answer goes through 4 of its 9 others; it arrives unless all 4 are cut too (or node-0).
    assert.ok(relayed.responses.length >= 9 && relayed.acks.length >= 9, `with relays: ${JSON.stringify(relayed)}`);
    assert.deepEqual(relayed.responses.slice(0, 5), [0, 1, 2, 3, 4]);
    const dups = (await q0.metrics.registry.getSingleMetric('rxswim_serf_queries_ignored_total')!.get()).values.find((v) => v.labels.reason === 'duplicate_reply')?.value ?? 0;
    assert.ok(dups > 0, 'relayed copies of answers that also came directly were dropped as duplicates');
    console.log(`# relay factor 0: ${direct.responses.length}/10 responses; relay factor 4: ${relayed.responses.length}/10 responses, ${relayed.acks.length}/10 acks; ${dups} duplicate replies dropped; ${dropped} datagrams dropped`);
  } finally {
    await c.stopAll();
  }
});
