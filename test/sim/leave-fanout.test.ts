// A graceful leave tells its leave (Serf's leave intent, then memberlist's dead-from-self)
// to at most ANNOUNCE_MAX members directly and leaves the rest to gossip. Telling every
// member was one synchronous loop of 2 × N datagrams: 20,000 at 10,000 members.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANNOUNCE_MAX } from '../../src/node.js';
import { decodeSerfMessage } from '../../src/serf/messages.js';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';
import { decodePacket } from '../../src/wire/index.js';

const N = ANNOUNCE_MAX + 16;
const X = 'node-5';

/** X's leave intent or its dead-from-self, when it is the datagram's only message (as a direct send is) */
function loneLeave(data: Uint8Array): 'dead' | 'intent' | undefined {
  const ms = decodePacket(data).messages;
  if (ms.length !== 1) return undefined;
  const m = ms[0]!;
  if (m.type === 'dead' && m.node === X && m.from === X) return 'dead';
  if (m.type !== 'user') return undefined;
  const d = decodeSerfMessage(m.payload);
  return d.ok && d.message.type === 'leave' && d.message.node === X ? 'intent' : undefined;
}

test(`a leave with ${N - 1} members: at most ${ANNOUNCE_MAX} are told directly, gossip tells the rest, everyone records a leave`, { timeout: 120_000 }, async () => {
  const c = new VirtualCluster({ size: N, seed: 7 });
  try {
    await c.boot();
    const xHost = VirtualCluster.hostOf(5);
    let leaveAt = Infinity;
    // X's lone-leave datagrams per virtual instant: a direct fan-out is one instant's loop
    const perInstant = new Map<string, number>();
    c.network.setDropFilter((from, _to, data) => {
      if (from.host !== xHost || c.now < leaveAt) return false;
      const kind = loneLeave(data);
      if (kind) perInstant.set(`${kind}@${c.now}`, (perInstant.get(`${kind}@${c.now}`) ?? 0) + 1);
      return false;
    });
    leaveAt = c.now;
    const leaving = c.nodes.get(X)!.leave();
    await c.advance(30_000);
    await leaving;
    const most = (kind: string) => Math.max(0, ...[...perInstant].filter(([k]) => k.startsWith(`${kind}@`)).map(([, n]) => n));
    // A gossip tick in the same instant may add its gossipNodes (3) packets.
    const gossipNodes = c.nodes.get('node-0')!.config.gossipNodes;
    for (const kind of ['intent', 'dead']) {
      const n = most(kind);
      assert.ok(n >= ANNOUNCE_MAX && n <= ANNOUNCE_MAX + gossipNodes, `${kind}: ${n} lone datagrams in one instant, ANNOUNCE_MAX (${ANNOUNCE_MAX}) of them direct; every member would be ${N - 1}`);
    }
    const others = [...Array(N).keys()].filter((i) => i !== 5).map((i) => c.stateOf(`node-${i}`, X));
    assert.deepEqual(
      others.filter((s) => s !== 'left'),
      [],
      `all ${N - 1} others record ${X} as left`,
    );
    assert.ok(!c.events.some((e) => e.member.name === X && e.type === 'failed'), 'nobody recorded a failure');
  } finally {
    await c.stopAll();
  }
});
