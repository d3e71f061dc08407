// Issue 12's first scenario, with exactly the messages that matter dropped: a member
// misses every copy of another's graceful leave. memberlist would probe the gone
// member, suspect it and record a failure. Members that saw the leave answer the
// accuser's indirect probes and its suspicion with the leave, so it records a leave.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';
import { decodePacket } from '../../src/wire/index.js';
import { decodeSerfMessage } from '../../src/serf/messages.js';

const X = 'node-3'; // leaves
const B = 'node-1'; // misses the leave
const N = 4;

/** whether a datagram carries X's own leave (a dead about X, from X), or also its Serf leave intent */
function carriesLeave(data: Uint8Array, intent: boolean): boolean {
  return decodePacket(data).messages.some((m) => {
    if (m.type === 'dead') return m.node === X && m.from === X;
    if (m.type !== 'user' || !intent) return false;
    const d = decodeSerfMessage(m.payload);
    return d.ok && d.message.type === 'leave' && d.message.node === X;
  });
}

/**
 * X leaves; for `dropForMs` B gets no datagram carrying X's leave (nor, with
 * `intent`, its Serf leave intent). Push-pull is off, so that B cannot learn the
 * leave from anti-entropy and the test sees what gossip and answers do alone.
 */
async function scenario(seed: number, dropForMs: number, intent = true) {
  const c = new VirtualCluster({ size: N, seed, config: { pushPullInterval: 0 } });
  try {
    await c.boot();
    const bHost = VirtualCluster.hostOf(1);
    let dropped = 0;
    let until = Infinity;
    c.network.setDropFilter((_from, to, data) => {
      if (to.host !== bHost || c.now >= until || !carriesLeave(data, intent)) return false;
      dropped++;
      return true;
    });
    const start = c.now;
    until = start + dropForMs;
    const leaving = c.nodes.get(X)!.leave();
    await c.advance(40_000);
    await leaving;
    const seen = c.events.filter((e) => e.observer === B && e.member.name === X && e.at >= start).map((e) => e.type);
    const at = c.events.filter((e) => e.observer === B && e.member.name === X && e.at >= start).map((e) => `${e.type}@${e.at - start}`);
    const others = [0, 2].map((i) => c.stateOf(`node-${i}`, X));
    return { dropped, final: c.stateOf(B, X), seen, at, others };
  } finally {
    await c.stopAll();
  }
}

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`seed ${seed}: a member that missed every gossiped copy of a leave and its Serf intent still records a leave, not a failure`, { timeout: 60_000 }, async () => {
    // 1.5 s: longer than the leave's gossip lasts (4 transmits per member at 200 ms ticks)
    const r = await scenario(seed, 1_500);
    console.log(`# seed ${seed}: ${r.dropped} datagrams dropped; ${B} saw ${r.at.join(', ')} (ms after the leave)`);
    assert.ok(r.dropped > 0, `the fault was injected: ${r.dropped} datagrams with the leave kept from ${B}`);
    assert.deepEqual(r.others, ['left', 'left'], 'the others saw the leave');
    assert.equal(r.final, 'left');
    assert.ok(!r.seen.includes('failed'), `${B} never recorded a failure (events: ${r.seen.join(', ')})`);
  });
}

test('control: when every copy of the leave is kept from the member, answers included, it records a failure', { timeout: 60_000 }, async () => {
  const r = await scenario(1, Infinity);
  assert.ok(r.dropped > 0);
  assert.equal(r.final, 'dead');
  assert.ok(r.seen.includes('failed'));
});

test("Serf's leave intent alone is enough: a member that missed every copy of the leave but got the intent records a leave", { timeout: 60_000 }, async () => {
  const r = await scenario(1, Infinity, false);
  assert.ok(r.dropped > 0);
  assert.equal(r.final, 'left');
  assert.ok(!r.seen.includes('failed'), r.at.join(', '));
});
