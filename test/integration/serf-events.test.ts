// Serf user events between three in-process rxswim nodes over real UDP/TCP on
// loopback: serfEvent() reaches every node's serfEvents$ exactly once (the sender's
// included, as Serf delivers its own), the counters count, rxswim's own user messages
// are unaffected, the size limit is Serf's, and a broken event from the network is
// dropped with its reason and counted, not delivered. (With real Serf agents:
// test/interop/serf-events.test.ts.)
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import type { SerfUserEvent } from '../../src/api.js';
import { createNode, type UserMessage } from '../../src/node.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { encodeMsgpack } from '../../src/wire/msgpack.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { counterValue } from '../helpers/metrics.js';

const N = 3;
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

test('serfEvent() reaches every node once; user messages unaffected; size limit; broken events counted', { timeout: 60_000 }, async () => {
  const nodes = Array.from({ length: N }, (_, i) => createNode({ name: `ev-${i}`, bind: `127.0.117.${i + 1}:0`, profile: 'local', config: { retransmitMult: 4 } }));
  const events: SerfUserEvent[][] = nodes.map(() => []);
  const messages: UserMessage[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    n.serfEvents$.subscribe((e) => events[i]!.push(e));
    n.messages$.subscribe((m) => messages[i]!.push(m));
  });
  try {
    for (const n of nodes) await n.start();
    const seed = `${nodes[0]!.address!.host}:${nodes[0]!.address!.port}`;
    for (let i = 1; i < N; i++) await nodes[i]!.join([seed]);
    await waitFor('all see 3 alive', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === N), (ok) => ok, 10_000);

    assert.equal(nodes[1]!.serfEvent('deploy', 'v2', { coalesce: true }), 1n);
    nodes[2]!.serfEvent('restart', new Uint8Array([0, 255]));
    nodes[0]!.broadcast('plain rxswim broadcast');
    const want = ['1:deploy:v2:true', '1:restart:00ff:false'];
    const seen = (i: number) => events[i]!.map((e) => `${e.ltime}:${e.name}:${e.name === 'restart' ? Buffer.from(e.payload).toString('hex') : text(e.payload)}:${e.coalesce}`).sort();
    for (let i = 0; i < N; i++) await waitFor(`ev-${i} gets both events`, () => seen(i), (s) => s.length >= 2, 10_000);
    // Gossip goes on for a while (re-gossiped by every receiver): still once each after it.
    await sleep(1500);
    for (let i = 0; i < N; i++) {
      assert.deepEqual(seen(i), want, `ev-${i}: each event exactly once`);
      assert.equal(await counterValue(nodes[i]!, 'rxswim_serf_events_received_total'), 2);
      await waitFor(`ev-${i} gets the broadcast`, () => messages[i]!.length, (k) => k >= (i === 0 ? 0 : 1), 10_000);
      // Serf events never show up as user messages.
      assert.deepEqual(messages[i]!.map((m) => [m.from, text(m.payload), m.via]), i === 0 ? [] : [['ev-0', 'plain rxswim broadcast', 'broadcast']]);
    }
    assert.equal(await counterValue(nodes[1]!, 'rxswim_serf_events_sent_total'), 1);
    // Every receiver passed each event on, so copies came back: heard again, not delivered again.
    const dups = await Promise.all(nodes.map((n) => counterValue(n, 'rxswim_serf_events_ignored_total', { reason: 'duplicate' })));
    assert.ok(dups.reduce((a, b) => a + b, 0) > 0, `duplicates counted: ${dups.join(', ')}`);
    // The event clock moved past both: the next event is at 2 wherever it is sent.
    assert.equal(nodes[0]!.serfEvent('next'), 2n);

    // Serf's limit: 512 bytes of name plus payload.
    assert.throws(() => nodes[0]!.serfEvent('big', new Uint8Array(510)), (e: Error) => e instanceof RangeError && /513 bytes/.test(e.message));

    // A broken Serf event from the network: dropped with its reason, counted, not delivered.
    const before = await counterValue(nodes[0]!, 'rxswim_packets_dropped_total', { reason: 'malformed' });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.117.9', () => r()));
    const broken = new Uint8Array([3, ...encodeMsgpack({ LTime: 'yesterday', Name: 'deploy' })]);
    sock.send(encodeMessage({ type: 'user', payload: broken }), nodes[0]!.address!.port, nodes[0]!.address!.host);
    await waitFor('the broken event counted as malformed', () => counterValue(nodes[0]!, 'rxswim_packets_dropped_total', { reason: 'malformed' }), (v) => v === before + 1, 5000);
    sock.close();
    assert.equal(events[0]!.filter((e) => e.name === 'deploy').length, 1);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});
