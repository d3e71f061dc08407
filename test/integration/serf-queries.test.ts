// Serf queries between three in-process rxswim nodes over real UDP on loopback: a
// query reaches every node (the querier's own included), acks and responses come
// back once per member even with relays doubling them, node and tag filters keep
// members out, a querier that is not a member (a bare UDP socket) gets its answers
// at its address, and stop() ends an open query at once. (With real Serf agents:
// test/interop/serf-queries.test.ts.)
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import type { SerfQueryReply } from '../../src/api.js';
import { createNode, type RxSwimNode } from '../../src/node.js';
import { addrFromString } from '../../src/membership/address.js';
import { decodeSerfQueryResponse, encodeSerfQuery, QueryFlag } from '../../src/serf/query-messages.js';
import { decodePacket } from '../../src/wire/index.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { sleep, waitFor } from '../helpers/wait.js';

const N = 3;
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function counter(node: RxSwimNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await node.metrics.registry.getSingleMetric(name)!.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x) && Object.keys(v.labels).length === Object.keys(labels).length);
  return hit?.value ?? 0;
}
const summary = (rs: SerfQueryReply[]) => rs.map((r) => (r.type === 'ack' ? `ack:${r.from}` : `response:${r.from}:${text(r.payload)}`)).sort();

test('serf queries between rxswim nodes: replies once each, relays, filters, a non-member querier, stop()', { timeout: 90_000 }, async () => {
  const nodes = Array.from({ length: N }, (_, i) =>
    createNode({ name: `q-${i}`, bind: `127.0.120.${i + 1}:0`, profile: 'local', tags: { role: i === 2 ? 'db' : 'web', idx: String(i) } }),
  );
  nodes.forEach((n) => n.serfQueries$.subscribe((q) => void q.respond(`${n.name} got ${q.name}/${text(q.payload)}`).catch(() => {})));
  try {
    for (const n of nodes) await n.start();
    const seed = `${nodes[0]!.address!.host}:${nodes[0]!.address!.port}`;
    for (let i = 1; i < N; i++) await nodes[i]!.join([seed]);
    await waitFor('all see 3 alive', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === N), (ok) => ok, 15_000);

    // Everyone answers, relayed through 2 other members: 3 copies of each reply arrive, each taken once.
    const all = await lastValueFrom(nodes[0]!.serfQuery('ping', 'x', { timeoutMs: 3000, relayFactor: 2 }).pipe(toArray()));
    const names = nodes.map((n) => n.name);
    assert.deepEqual(summary(all), [...names.map((n) => `ack:${n}`), ...names.map((n) => `response:${n}:${n} got ping/x`)].sort());
    assert.ok((await counter(nodes[0]!, 'rxswim_serf_queries_ignored_total', { reason: 'duplicate_reply' })) > 0, 'relayed copies dropped as duplicates');
    assert.ok((await counter(nodes[1]!, 'rxswim_serf_query_replies_sent_total', { type: 'relay' })) > 0);
    const forwarded = (await Promise.all(nodes.map((n) => counter(n, 'rxswim_serf_query_replies_sent_total', { type: 'forward' })))).reduce((a, b) => a + b, 0);
    assert.ok(forwarded >= 4, `relays forwarded: ${forwarded}`);
    assert.equal(await counter(nodes[0]!, 'rxswim_serf_queries_sent_total'), 1);
    assert.equal(await counter(nodes[0]!, 'rxswim_serf_query_replies_received_total', { type: 'response' }), 3);

    // Filters: by name, by tag regexp; late subscribers get the replay.
    const byName = nodes[1]!.serfQuery('who', '', { timeoutMs: 2500, nodes: ['q-2'] });
    const byTag = nodes[2]!.serfQuery('who', '', { timeoutMs: 2500, tags: { role: '^w.b$' } });
    const noAck = nodes[0]!.serfQuery('quiet', '', { timeoutMs: 2500, ack: false, tags: { idx: '[12]' } });
    assert.deepEqual(summary(await lastValueFrom(byName.pipe(toArray()))), ['ack:q-2', 'response:q-2:q-2 got who/']);
    assert.deepEqual(summary(await lastValueFrom(byTag.pipe(toArray()))), ['ack:q-0', 'ack:q-1', 'response:q-0:q-0 got who/', 'response:q-1:q-1 got who/']);
    assert.deepEqual(summary(await lastValueFrom(noAck.pipe(toArray()))), ['response:q-1:q-1 got quiet/', 'response:q-2:q-2 got quiet/']);
    assert.ok((await counter(nodes[0]!, 'rxswim_serf_queries_ignored_total', { reason: 'filtered' })) >= 2);

    // A querier that is no member: a bare socket. Answers come to the address it named.
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.120.9', () => r()));
    const got: string[] = [];
    sock.on('message', (buf) => {
      for (const m of decodePacket(new Uint8Array(buf)).messages) {
        if (m.type !== 'user') continue;
        const d = decodeSerfQueryResponse(m.payload);
        if (d.ok) got.push(`${d.message.flags & QueryFlag.ack ? 'ack' : 'response'}:${d.message.from}:${text(d.message.payload)}`);
      }
    });
    const q = encodeSerfQuery({
      ltime: 1000n, id: 4242, addr: addrFromString('127.0.120.9'), port: sock.address().port, sourceNode: 'outsider', filters: [],
      flags: QueryFlag.ack | QueryFlag.noBroadcast, relayFactor: 0, timeoutNs: 5_000_000_000n, name: 'direct', payload: new Uint8Array(0),
    });
    const heardBefore = await Promise.all(nodes.map((n) => counter(n, 'rxswim_serf_queries_received_total')));
    sock.send(encodeMessage({ type: 'user', payload: q }), nodes[1]!.address!.port, nodes[1]!.address!.host);
    await waitFor('the outsider gets the ack and the response', () => got.slice().sort(), (g) => g.length >= 2, 10_000);
    assert.deepEqual(got.sort(), ['ack:q-1:', 'response:q-1:q-1 got direct/']);
    sock.close();
    // noBroadcast: q-1 did not pass it on; the others never heard it.
    await sleep(1000);
    const heardAfter = await Promise.all(nodes.map((n) => counter(n, 'rxswim_serf_queries_received_total')));
    assert.deepEqual(heardAfter.map((v, i) => v - heardBefore[i]!), [0, 1, 0]);

    // Serf's limits and the off switch.
    assert.throws(() => nodes[0]!.serfQuery('big', new Uint8Array(1000)), /QuerySizeLimit/);
    assert.throws(() => nodes[0]!.serfQuery('x', '', { relayFactor: 300 }), /relayFactor/);
    assert.throws(() => nodes[0]!.serfQuery('x', '', { tags: { role: '(' } }), /tags\.role/);

    // stop() ends an open query at once, its timer cancelled.
    const open = nodes[0]!.serfQuery('long', '', { timeoutMs: 60_000 });
    const t0 = Date.now();
    const ended = lastValueFrom(open.pipe(toArray()));
    await nodes[0]!.stop();
    await ended;
    assert.ok(Date.now() - t0 < 5000, 'completed on stop, not at its timeout');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

test('serfQuery() and serfQueries$ with serfIntents: false', { timeout: 20_000 }, async () => {
  const n = createNode({ name: 'q-off', bind: '127.0.120.20:0', profile: 'local', serfIntents: false });
  await n.start();
  try {
    assert.throws(() => n.serfQuery('x'), /serfIntents: false/);
  } finally {
    await n.stop();
  }
});

test('stop() with queries open both ways leaves no timer, socket or subscription behind', { timeout: 30_000 }, async () => {
  const handles = () => {
    const c: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) c[r] = (c[r] ?? 0) + 1;
    return c;
  };
  const before = handles();
  const a = createNode({ name: 'qa', bind: '127.0.120.21:0', profile: 'local' });
  const b = createNode({ name: 'qb', bind: '127.0.120.22:0', profile: 'local' });
  const unanswered: Array<{ respond(p: string): Promise<void> }> = [];
  b.serfQueries$.subscribe((q) => unanswered.push(q));
  let completions: Promise<unknown>[] = [];
  try {
    await a.start();
    await b.start();
    await b.join([`${a.address!.host}:${a.address!.port}`]);
    await waitFor('both alive', () => a.members().filter((m) => m.state === 'alive').length, (n) => n === 2, 10_000);
    completions = [a.serfQuery('slow', '', { timeoutMs: 120_000 }), a.serfQuery('slow2', '', { timeoutMs: 120_000, relayFactor: 1 })].map((o) => lastValueFrom(o.pipe(toArray())));
    await waitFor('b holds both queries, unanswered', () => unanswered.length, (n) => n === 2, 10_000);
  } finally {
    await a.stop();
    await b.stop();
  }
  await Promise.all(completions);
  await assert.rejects(unanswered[0]!.respond('too late'), /stopped/);
  await new Promise((r) => setImmediate(r));
  const after = handles();
  for (const kind of ['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap', 'Timeout']) {
    assert.equal(after[kind] ?? 0, before[kind] ?? 0, `${kind}: ${before[kind] ?? 0} before, ${after[kind] ?? 0} after stop()`);
  }
});
