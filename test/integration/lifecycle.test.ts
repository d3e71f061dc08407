// In-process nodes on real sockets: members$/events$ behaviour, join errors, and
// that stop() leaves no socket, timer or subscription behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import type { ActorRefLike, InspectionEvent } from 'xstate';
import { createNode, JoinError, ConfigError } from '../../src/index.js';
import { sleep } from '../helpers/wait.js';

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

test('two nodes join over real UDP/TCP; stop() leaves no handles, timers, actors or open streams', { timeout: 30_000 }, async () => {
  const before = handles();
  // Every member actor node a creates, seen through the inspector.
  const actors = new Map<string, ActorRefLike>();
  const inspect = (e: InspectionEvent) => {
    if (e.type === '@xstate.actor') actors.set(e.actorRef.sessionId, e.actorRef);
  };
  const a = createNode({ name: 'a', bind: '127.0.33.1:0', profile: 'local', inspect });
  const b = createNode({ name: 'b', bind: '127.0.33.2:0', profile: 'local' });
  let completed: Promise<unknown> | undefined;
  try {
    await a.start();
    await b.start();
    assert.ok(a.address && a.address.port > 0);
    const joined = firstValueFrom(a.events$.pipe(filter((e) => e.type === 'joined'), take(1)));
    assert.equal(await b.join([`${a.address!.host}:${a.address!.port}`]), 1);
    const ev = await joined;
    assert.equal(ev.member.name, 'b');

    // members$ replays the current list to a late subscriber.
    const list = await firstValueFrom(b.members$);
    assert.deepEqual(list.map((m) => `${m.name}:${m.state}`).sort(), ['a:alive', 'b:alive']);

    // Let probes, gossip and acks run for a while on real sockets.
    await sleep(2500);
    const metrics = await a.metrics.registry.getSingleMetricAsString('rxswim_probes_total');
    assert.match(metrics, /rxswim_probes_total\{outcome="direct"\} [1-9]/);
    completed = firstValueFrom(a.events$.pipe(toArray()));
  } finally {
    await b.stop();
    await a.stop();
  }
  await completed; // events$ completes on stop
  assert.ok(actors.size >= 1, 'node a created a member actor for b');
  for (const actor of actors.values()) assert.equal(actor.getSnapshot().status, 'stopped', `member actor still ${actor.getSnapshot().status}`);
  await new Promise((r) => setImmediate(r));
  const after = handles();
  for (const kind of ['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap', 'Timeout']) {
    assert.equal(after[kind] ?? 0, before[kind] ?? 0, `${kind}: ${before[kind] ?? 0} before, ${after[kind] ?? 0} after stop()`);
  }
});

test('join names every seed that failed and why', { timeout: 20_000 }, async () => {
  const a = createNode({ name: 'a', bind: '127.0.33.3:0', profile: 'local' });
  await a.start();
  try {
    await assert.rejects(a.join(['127.0.33.4:1', '127.0.33.5:2']), (e: unknown) => {
      assert.ok(e instanceof JoinError);
      assert.deepEqual(e.failures.map((f) => f.seed), ['127.0.33.4:1', '127.0.33.5:2']);
      assert.match(e.message, /127\.0\.33\.4:1 \(.*ECONNREFUSED/);
      return true;
    });
  } finally {
    await a.stop();
  }
});

test('configuration errors name the field', () => {
  assert.throws(() => createNode({ name: '' }), (e: unknown) => e instanceof ConfigError && e.field === 'name');
  assert.throws(() => createNode({ name: 'x', bind: 'nope:99999' }), (e: unknown) => e instanceof ConfigError && e.field === 'bind');
  assert.throws(() => createNode({ name: 'x', config: { gossipNodes: -1 } }), (e: unknown) => e instanceof ConfigError && e.field === 'gossipNodes');
  assert.throws(() => createNode({ name: 'x', meta: new Uint8Array(513) }), (e: unknown) => e instanceof ConfigError && e.field === 'meta');
});
