// User messages between five in-process nodes over real UDP/TCP on loopback:
// broadcasts, topics, direct sends (UDP and TCP), tag updates and the push-pull
// delegate's application state on join.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { MemberEvent } from '../../src/api.js';
import { decodeTags } from '../../src/membership/tags.js';
import { createNode, type RxSwimNode, type UserMessage } from '../../src/node.js';
import { sleep, waitFor } from '../helpers/wait.js';

const N = 5;
const name = (i: number) => `node-${i}`;
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

interface DelegateLog {
  localState: boolean[];
  merged: Array<{ state: string; join: boolean }>;
}

test('broadcast, topics, send over UDP and TCP, setTags and the push-pull delegate between five nodes', { timeout: 60_000 }, async () => {
  const delegates: DelegateLog[] = [];
  const nodes: RxSwimNode[] = [];
  for (let i = 0; i < N; i++) {
    const log: DelegateLog = { localState: [], merged: [] };
    delegates.push(log);
    nodes.push(
      createNode({
        name: name(i),
        bind: `127.0.35.${i + 1}:0`,
        profile: 'local',
        // The `local` preset sends each gossip message only 2 × ceil(log10(n+1)) = 2
        // times, so a member can miss an update until the next push-pull (15 s). This
        // test is about the API, not that bound, so gossip a little more, as `lan` does.
        config: { retransmitMult: 4 },
        delegate: {
          localState: (join) => {
            log.localState.push(join);
            return Buffer.from(`state-of-${name(i)}`);
          },
          mergeRemoteState: (state, join) => {
            log.merged.push({ state: text(state), join });
          },
        },
      }),
    );
  }
  // Everything each node delivers or observes, from the start.
  const inbox: UserMessage[][] = nodes.map(() => []);
  const events: MemberEvent[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    n.messages$.subscribe((m) => inbox[i]!.push(m));
    n.events$.subscribe((e) => events[i]!.push(e));
  });
  try {
    for (const n of nodes) await n.start();
    const seed = `${nodes[0]!.address!.host}:${nodes[0]!.address!.port}`;
    for (let i = 1; i < N; i++) assert.equal(await nodes[i]!.join([seed]), 1);
    // Gossip spreads each join at once with high probability, not certainty: a member that
    // misses it learns it at its next push-pull (15 s in `local`). Seen once in CI: node-3
    // still at 4 of 5 after 10 s. (Issue 12 is about closing that gap.)
    for (let i = 0; i < N; i++) {
      await waitFor(`${name(i)} sees ${N} alive`, () => nodes[i]!.members().filter((m) => m.state === 'alive').length, (c) => c === N, 20_000);
    }

    // ---- the push-pull delegate on join ----
    // Each joiner push-pulls the seed once with join=true: the joiner sends its
    // localState(true), the seed replies with its own localState(true) (the reply
    // carries the request's join flag, as in memberlist), and each side merges the
    // other's state with join=true.
    for (let i = 1; i < N; i++) {
      assert.ok(delegates[i]!.localState.includes(true), `${name(i)} was asked for its local state with join=true`);
      assert.deepEqual(
        delegates[i]!.merged.filter((m) => m.join),
        [{ state: 'state-of-node-0', join: true }],
        `${name(i)} merged the seed's state, once, with join=true`,
      );
    }
    assert.ok(delegates[0]!.localState.filter((j) => j).length >= N - 1, 'the seed answered every join with localState(true)');
    assert.deepEqual(
      delegates[0]!.merged.filter((m) => m.join).map((m) => m.state).sort(),
      [1, 2, 3, 4].map((i) => `state-of-${name(i)}`),
      "the seed merged every joiner's state with join=true",
    );

    // ---- broadcast: every other node, exactly once, from the origin ----
    const hello = (i: number) => inbox[i]!.filter((m) => text(m.payload) === 'hello');
    assert.equal(nodes[2]!.broadcast('hello'), true);
    for (const i of [0, 1, 3, 4]) await waitFor(`${name(i)} to receive the broadcast`, () => hello(i).length, (c) => c >= 1, 20_000); // gossip at once, push-pull (15 s) at worst
    // Let every receiver re-gossip it for its whole retransmit budget (a few 100 ms rounds).
    await sleep(2000);
    for (const i of [0, 1, 3, 4]) {
      assert.deepEqual(hello(i), [{ from: 'node-2', topic: '', payload: new Uint8Array(Buffer.from('hello')), via: 'broadcast' }], `${name(i)} got it exactly once`);
    }
    assert.equal(hello(2).length, 0, 'the origin does not deliver its own broadcast');

    // ---- topics: subscribers of the topic only ----
    const onT: UserMessage[][] = nodes.map(() => []);
    const onU: UserMessage[][] = nodes.map(() => []);
    const topicSubs = nodes.flatMap((n, i) => [n.topic('t').messages$.subscribe((m) => onT[i]!.push(m)), n.topic('u').messages$.subscribe((m) => onU[i]!.push(m))]);
    try {
      assert.equal(nodes[0]!.topic('t').publish('on-t'), true);
      for (const i of [1, 2, 3, 4]) await waitFor(`${name(i)}'s topic t subscriber`, () => onT[i]!.length, (c) => c >= 1, 20_000); // gossip at once, push-pull (15 s) at worst
      await sleep(1500);
      for (const i of [1, 2, 3, 4]) {
        assert.deepEqual(onT[i], [{ from: 'node-0', topic: 't', payload: new Uint8Array(Buffer.from('on-t')), via: 'broadcast' }], `${name(i)} topic t`);
        assert.deepEqual(onU[i], [], `${name(i)} topic u saw nothing`);
      }
      assert.deepEqual(onT[0], [], 'the publisher does not deliver to itself');
    } finally {
      for (const s of topicSubs) s.unsubscribe();
    }

    // ---- send: UDP ----
    const mark = inbox.map((m) => m.length);
    const since = (i: number) => inbox[i]!.slice(mark[i]);
    await nodes[1]!.send('node-3', 'direct-udp');
    await nodes[1]!.send('node-3', 'direct-udp-topic', { topic: 'd' });
    await waitFor('node-3 to receive both UDP sends', () => since(3).length, (c) => c >= 2, 5_000);
    assert.deepEqual(
      since(3).map((m) => ({ ...m, payload: text(m.payload) })).sort((a, b) => a.payload.localeCompare(b.payload)),
      [
        { from: 'node-1', topic: '', payload: 'direct-udp', via: 'udp' },
        { from: 'node-1', topic: 'd', payload: 'direct-udp-topic', via: 'udp' },
      ],
    );

    // ---- send: TCP, 200 kB (too big for a datagram) ----
    const big = new Uint8Array(randomBytes(200_000));
    await assert.rejects(nodes[4]!.send('node-0', big), RangeError, 'a 200 kB UDP send is refused');
    await nodes[4]!.send('node-0', big, { reliable: true, topic: 'bulk' });
    await waitFor('node-0 to receive the 200 kB stream', () => since(0).length, (c) => c >= 1, 5_000);
    assert.equal(since(0).length, 1);
    const got = since(0)[0]!;
    assert.equal(got.from, 'node-4');
    assert.equal(got.via, 'tcp');
    assert.equal(got.topic, 'bulk');
    assert.equal(got.payload.length, big.length);
    assert.ok(Buffer.from(got.payload).equals(Buffer.from(big)), 'payload arrives intact');

    // Direct messages reach only their addressee.
    await sleep(500);
    for (const i of [1, 2, 4]) assert.deepEqual(since(i), [], `${name(i)} got no direct message`);
    assert.equal(since(3).length, 2);

    // ---- setTags: an `updated` event everywhere, meta decodes to the tags ----
    const evMark = events.map((e) => e.length);
    nodes[2]!.setTags({ role: 'x' });
    for (const i of [0, 1, 3, 4]) {
      await waitFor(
        `${name(i)} to see node-2 updated`,
        () => events[i]!.slice(evMark[i]).filter((e) => e.type === 'updated' && e.member.name === 'node-2'),
        (es) => es.length >= 1,
        // gossip normally, push-pull anti-entropy (15 s in `local`) at worst
        20_000,
      );
      const ev = events[i]!.slice(evMark[i]).find((e) => e.type === 'updated' && e.member.name === 'node-2')!;
      assert.deepEqual(decodeTags(ev.member.meta), { role: 'x' }, `${name(i)}: node-2's meta decodes to its tags`);
      assert.equal(ev.member.state, 'alive');
      assert.deepEqual(decodeTags(nodes[i]!.members().find((m) => m.name === 'node-2')!.meta), { role: 'x' });
    }
    assert.deepEqual(decodeTags(nodes[2]!.localMember.meta), { role: 'x' });

    // Nothing failed or was suspected along the way.
    for (let i = 0; i < N; i++) {
      assert.deepEqual(events[i]!.filter((e) => e.type === 'failed' || e.type === 'suspected').map((e) => `${e.type} ${e.member.name}`), [], name(i));
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});
