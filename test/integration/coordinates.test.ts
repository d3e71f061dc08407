// Network coordinates between three rxswim agents in process on 127.0.118.4x: every
// node learns a coordinate for every other, the estimates sit near the probe RTTs
// they measure on loopback, `rxswim rtt` prints Serf's line, and with
// `coordinates: false` the acks are memberlist's 18 bytes again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/cli/agent.js';
import { loadAgentConfig } from '../../src/cli/agent-config.js';
import { rttCommand } from '../../src/cli/client.js';
import { createNode } from '../../src/node.js';
import type { Transport } from '../../src/transport/transport.js';
import { createUdpTcpTransport } from '../../src/transport/udp-tcp.js';
import { decodePacket, encodeMessage } from '../../src/wire/index.js';
import { estimateRtt } from '../../src/serf/network-coordinates.js';
import { waitFor } from '../helpers/wait.js';

function agentOf(flags: Record<string, unknown>): Agent {
  const logger = pino({ level: 'warn', base: undefined }, { write: () => {} });
  return new Agent(loadAgentConfig({ flags: { profile: 'local', ...flags }, env: {} }), { logger });
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } };
}

test('three agents: coordinates for every pair, estimates near the measured RTT, rxswim rtt prints one', { timeout: 60_000 }, async () => {
  const names = ['co-a', 'co-b', 'co-c'];
  const agents = names.map((node, i) =>
    agentOf({ node, bind: `127.0.118.4${i + 1}:7946`, http: `127.0.118.4${i + 1}:8946`, ...(i > 0 ? { join: ['127.0.118.41'] } : {}) }),
  );
  try {
    for (const a of agents) await a.start();
    const nodes = agents.map((a) => a.node!);
    // Each node has cached a coordinate of both others (from direct acks) and moved its own.
    await waitFor(
      'every node has a coordinate for every other',
      () => nodes.every((n) => names.every((m) => n.coordinateOf(m) !== undefined)),
      (ok) => ok,
      30_000,
      200,
    );
    // A few more rounds (local profile: a probe every 200 ms per node).
    await new Promise((r) => setTimeout(r, 3000));
    const figures: string[] = [];
    for (const n of nodes) {
      // Moved off the origin. (Its error need not have fallen: on noisy loopback one
      // RTT far off the estimate puts it back at the 1.5 cap.)
      assert.ok(n.coordinate!.vec.some((x) => x !== 0), `${n.name} moved off the origin`);
      assert.ok(n.coordinate!.error > 0 && n.coordinate!.error <= 1.5, `${n.name}'s error ${n.coordinate!.error}`);
      assert.equal(n.coordinates()[0]!.name, n.name, 'ours first');
      assert.equal(n.coordinates().length, 3);
      for (const m of names.filter((x) => x !== n.name)) {
        const est = estimateRtt(n.coordinate!, n.coordinateOf(m)!);
        assert.ok(Number.isFinite(est) && est > 0 && est < 50, `${n.name} → ${m}: ${est} ms`);
        figures.push(`${n.name}→${m} ${est.toFixed(3)} ms`);
      }
      const sum = await metricSum(n.metrics.registry, 'rxswim_probe_rtt_seconds_sum');
      const count = await metricSum(n.metrics.registry, 'rxswim_probe_rtt_seconds_count');
      const updates = await metricSum(n.metrics.registry, 'rxswim_coordinate_updates_total');
      assert.ok(updates > 3, `${n.name}: ${updates} updates`);
      figures.push(`${n.name}: probe RTT mean ${((sum / count) * 1000).toFixed(3)} ms over ${count}, error ${n.coordinate!.error.toFixed(3)}, ${updates} updates`);
    }
    console.log(`# ${figures.join('; ')}`);

    const o = io();
    assert.equal(await rttCommand(['co-b'], { http: '127.0.118.41:8946' }, o.io), 0, o.err.join(''));
    assert.match(o.out.join(''), /^Estimated co-b <-> co-a rtt: \d+\.\d{3} ms\n$/);
    const o2 = io();
    assert.equal(await rttCommand(['co-b', 'co-c'], { http: '127.0.118.41:8946' }, o2.io), 0);
    const ms = Number(/rtt: (\S+) ms/.exec(o2.out.join(''))![1]);
    assert.ok(ms > 0 && ms < 50, `co-b <-> co-c as co-a sees them: ${ms} ms`);
    const o3 = io();
    assert.equal(await rttCommand(['nobody'], { http: '127.0.118.41:8946' }, o3.io), 1);
    assert.match(o3.err.join(''), /could not find a coordinate for node "nobody"/);
  } finally {
    for (const a of agents.reverse()) await a.stop();
  }
});

async function metricSum(registry: import('prom-client').Registry, name: string): Promise<number> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * a real UDP/TCP transport that records every ack it sends: the ack message's encoded
 * size, and the datagram's (LZW-compressed and CRC'd when the packet layer chose to)
 */
function recordingAcks(sizes: Array<{ message: number; packet: number }>) {
  return async (bind: { host: string; port: number }): Promise<Transport> => {
    const t = await createUdpTcpTransport(bind);
    const send = t.sendPacket.bind(t);
    t.sendPacket = (to, data) => {
      for (const m of decodePacket(data).messages) if (m.type === 'ack') sizes.push({ message: encodeMessage(m).length, packet: data.length });
      send(to, data);
    };
    return t;
  };
}

test('coordinates: false sends 18-byte acks and learns nothing; the other side learns nothing from it', { timeout: 30_000 }, async () => {
  const onAcks: Array<{ message: number; packet: number }> = [];
  const offAcks: Array<{ message: number; packet: number }> = [];
  const on = createNode({ name: 'co-on', bind: '127.0.118.45:7946', profile: 'local', transport: recordingAcks(onAcks) });
  const off = createNode({ name: 'co-off', bind: '127.0.118.46:7946', profile: 'local', coordinates: false, transport: recordingAcks(offAcks) });
  try {
    await on.start();
    await off.start();
    await off.join(['127.0.118.45:7946']);
    await waitFor('both acked a few probes', () => Math.min(onAcks.length, offAcks.length), (n) => n >= 3, 15_000, 100);
    // The ack message is 18 bytes without a coordinate and 150 with one.
    const show = (a: typeof onAcks) => JSON.stringify(a.slice(0, 5));
    assert.ok(offAcks.every((a) => a.message === 18), `co-off's acks: ${show(offAcks)}`);
    assert.ok(onAcks.every((a) => a.message === 150), `co-on's acks: ${show(onAcks)}`);
    console.log(`# ack datagrams as sent: without coordinates ${[...new Set(offAcks.map((a) => a.packet))].join('/')} bytes, with ${[...new Set(onAcks.map((a) => a.packet))].join('/')} bytes`);
    assert.equal(on.coordinateOf('co-off'), undefined);
    assert.equal(off.coordinate, undefined);
    assert.equal(off.coordinateOf('co-on'), undefined);
    assert.deepEqual(off.coordinates(), []);
    // co-on probed co-off and got acks without payload: no coordinate for it, none rejected.
    assert.equal(on.coordinateOf('co-off'), undefined);
    assert.equal(await metricSum(on.metrics.registry, 'rxswim_coordinate_rejected_total'), 0);
    assert.equal(await metricSum(on.metrics.registry, 'rxswim_coordinate_updates_total'), 0);
    assert.match(await off.metrics.registry.metrics(), /^(?!.*rxswim_coordinate_)/s, 'no coordinate metrics on a node without them');
  } finally {
    await off.stop();
    await on.stop();
  }
});

test('the agent setting: --coordinates false, RXSWIM_COORDINATES, a bad value names the setting', () => {
  const base = { node: 'x', bind: '127.0.118.47:7946' };
  assert.equal(loadAgentConfig({ flags: base, env: {} }).coordinates, undefined, 'unset: the default, on');
  assert.equal(loadAgentConfig({ flags: { ...base, coordinates: 'false' }, env: {} }).coordinates, false);
  assert.equal(loadAgentConfig({ flags: base, env: { RXSWIM_COORDINATES: 'false' } }).coordinates, false);
  assert.equal(loadAgentConfig({ flags: { ...base, coordinates: true }, env: {} }).coordinates, true);
  assert.throws(() => loadAgentConfig({ flags: { ...base, coordinates: 'maybe' }, env: {} }), /--coordinates/);
});
