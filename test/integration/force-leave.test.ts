// Serf's force-leave and live tags between in-process rxswim nodes over real UDP/TCP
// on 127.0.124.x: forceLeave() of a crashed member makes every node list it left (event
// `left`), with prune removes it (event `reaped`, gone from members() and members$); a
// live member that is force-left refutes with a join intent, so its later crash is a
// failure again; our own name and unknown names are refused; setTags() reaches the
// others as `updated`. The HTTP routes (POST /v1/force-leave, GET/POST /v1/tags) are
// checked on the same nodes. (With real Serf agents: test/interop/serf-force-leave.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemberEvent } from '../../src/api.js';
import { ForceLeaveError, StateError } from '../../src/errors.js';
import { startHttpApi } from '../../src/http/server.js';
import { createNode, type RxSwimNode } from '../../src/node.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { counterSum } from '../helpers/metrics.js';

const stateAt = (n: RxSwimNode, name: string) => n.member(name)?.state;

test('forceLeave(): crashed members become left, pruned ones are removed; a live one refutes; refusals; setTags; HTTP routes', { timeout: 90_000 }, async () => {
  const names = ['fl-a', 'fl-b', 'fl-c', 'fl-d', 'fl-e'];
  const nodes = names.map((name, i) => createNode({ name, bind: `127.0.124.${i + 1}:0`, profile: 'local', tags: { n: String(i) }, config: { retransmitMult: 4 } }));
  const [a, b, c, d, e] = nodes as [RxSwimNode, RxSwimNode, RxSwimNode, RxSwimNode, RxSwimNode];
  const events: MemberEvent[] = [];
  b.events$.subscribe((ev) => events.push(ev));
  const lists: Array<readonly string[]> = [];
  const http = { close: async () => {} };
  try {
    for (const n of nodes) await n.start();
    const seed = `${a.address!.host}:${a.address!.port}`;
    for (const n of nodes.slice(1)) await n.join([seed]);
    await waitFor('all see 5 alive', () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === 5), (ok) => ok, 20_000);
    const sub = b.members$.subscribe((ms) => lists.push(ms.map((m) => m.name)));

    // Refusals: our own name, a name nobody lists; nothing is sent for them.
    assert.throws(() => a.forceLeave('fl-a'), (err: Error) => err instanceof ForceLeaveError && err.reason === 'self' && /is this node; use leave\(\)/.test(err.message));
    assert.throws(() => a.forceLeave('nobody'), (err: Error) => err instanceof ForceLeaveError && err.reason === 'unknown' && err instanceof StateError);

    // Crash c and d (stop without a leave): seen failed.
    const mark = events.length;
    const after = (name: string) => events.slice(mark).filter((ev) => ev.member.name === name && ev.type !== 'suspected');
    await c.stop();
    await d.stop();
    await waitFor('a and b see c and d failed', () => [a, b].flatMap((n) => [stateAt(n, 'fl-c'), stateAt(n, 'fl-d')]), (s) => s.every((x) => x === 'dead'), 30_000);

    const before = await counterSum(b, 'rxswim_serf_intents_received_total', { type: 'leave' });
    const ltime = a.forceLeave('fl-c');
    assert.equal(typeof ltime, 'bigint');
    assert.equal(stateAt(a, 'fl-c'), 'left', 'applied at once where it was asked');
    await waitFor('b lists c left', () => stateAt(b, 'fl-c'), (s) => s === 'left', 10_000);
    assert.deepEqual(after('fl-c').map((ev) => ev.type), ['failed', 'left']);
    assert.equal(await counterSum(b, 'rxswim_serf_intents_received_total', { type: 'leave' }), before + 1);

    a.forceLeave('fl-d', { prune: true });
    assert.equal(a.member('fl-d'), undefined);
    await waitFor('b no longer lists d', () => b.member('fl-d'), (m) => m === undefined, 10_000);
    assert.deepEqual(after('fl-d').map((ev) => `${ev.type}:${ev.member.state}`), ['failed:dead', 'left:left', 'reaped:left']);
    await sleep(200); // members$ emits once the burst is over
    assert.ok(!lists.at(-1)!.includes('fl-d'), `members$ drops it: ${JSON.stringify(lists.at(-1))}`);
    assert.ok(lists.some((l) => l.includes('fl-d')), 'it was listed before');
    // Gossip about it from here on (a push-pull, a late dead) does not bring it back.
    await sleep(1500);
    assert.equal(b.member('fl-d'), undefined);
    // Pruning a member already left removes it as well.
    a.forceLeave('fl-c', { prune: true });
    await waitFor('b no longer lists c', () => b.member('fl-c'), (m) => m === undefined, 10_000);
    assert.throws(() => a.forceLeave('fl-c'), (err: Error) => err instanceof ForceLeaveError && err.reason === 'unknown', 'no longer listed here either');

    // A live member force-left refutes with a join intent: it stays, and its crash is a failure.
    const joinsAtA = await counterSum(a, 'rxswim_serf_intents_received_total', { type: 'join' });
    a.forceLeave('fl-e');
    await waitFor("a hears e's join intent (its refutation)", () => counterSum(a, 'rxswim_serf_intents_received_total', { type: 'join' }), (v) => v > joinsAtA, 10_000);
    assert.equal(stateAt(a, 'fl-e'), 'alive');
    await sleep(500);
    await e.stop();
    await waitFor('b sees e gone', () => stateAt(b, 'fl-e'), (s) => s === 'dead' || s === 'left', 30_000);
    assert.equal(stateAt(b, 'fl-e'), 'dead', 'failed, not left: the leave intent was refuted');
    await waitFor('a sees e gone', () => stateAt(a, 'fl-e'), (s) => s === 'dead' || s === 'left', 30_000);
    assert.equal(stateAt(a, 'fl-e'), 'dead');

    // setTags: the others see `updated` with the new tags.
    a.setTags({ n: '0', role: 'web' });
    await waitFor('b sees a updated', () => events.find((ev) => ev.type === 'updated' && ev.member.name === 'fl-a')?.member.tags, (t) => t?.role === 'web', 10_000);

    // The HTTP routes, on a.
    // a's API: the routes under test, with or without a token
    const apiOf = (token?: string) =>
      startHttpApi({
        host: '127.0.124.9',
        port: 0,
        registry: a.metrics.registry,
        members: () => a.members(),
        forceLeave: (n, prune) => a.forceLeave(n, { prune }),
        tags: { get: () => a.localMember.tags, set: (t) => a.setTags(t) },
        ...(token ? { token } : {}),
      });
    const api = await apiOf();
    http.close = () => api.close();
    const url = `http://127.0.124.9:${api.address.port}`;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    assert.deepEqual(await call('GET', '/v1/tags'), { status: 200, json: { tags: { n: '0', role: 'web' } } });
    assert.deepEqual(await call('POST', '/v1/tags', { set: { zone: 'b', n: '9' }, delete: ['role', 'absent'] }), { status: 200, json: { tags: { n: '9', zone: 'b' } } });
    assert.deepEqual(a.localMember.tags, { n: '9', zone: 'b' });
    await waitFor('b sees the tags set over HTTP', () => b.member('fl-a')?.tags, (t) => t?.zone === 'b' && t.n === '9' && t.role === undefined, 10_000);
    const big = await call('POST', '/v1/tags', { set: { big: 'x'.repeat(600) } });
    assert.equal(big.status, 400);
    assert.match(String(big.json.error), /^tags: encoded tags are \d+ bytes, at most 512 allowed/);
    assert.deepEqual(a.localMember.tags, { n: '9', zone: 'b' }, 'unchanged by a refused change');
    assert.equal((await call('POST', '/v1/tags', { set: { x: 1 } })).status, 400);
    assert.match(String((await call('POST', '/v1/tags', { remove: ['x'] })).json.error), /unknown field remove/);
    const self = await call('POST', '/v1/force-leave', { node: 'fl-a' });
    assert.equal(self.status, 409);
    assert.equal(self.json.reason, 'self');
    const unknown = await call('POST', '/v1/force-leave', { node: 'nobody' });
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json.error), /"nobody" is not a member this node lists/);
    assert.match(String((await call('POST', '/v1/force-leave', {})).json.error), /node must be a string/);
    assert.match(String((await call('POST', '/v1/force-leave', { node: 'fl-e', prune: 'yes' })).json.error), /prune must be true or false/);
    const ok = await call('POST', '/v1/force-leave', { node: 'fl-e', prune: true });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.node, 'fl-e');
    assert.equal(ok.json.prune, true);
    assert.match(String(ok.json.ltime), /^\d+$/);
    await waitFor('b no longer lists e', () => b.member('fl-e'), (m) => m === undefined, 10_000);

    // With a token: both POST routes need it, reading the tags does not.
    const guarded = await apiOf('sesame');
    try {
      const g = `http://127.0.124.9:${guarded.address.port}`;
      for (const [path, body] of [['/v1/force-leave', { node: 'fl-b' }], ['/v1/tags', { set: { x: 'y' } }]] as const) {
        const res = await fetch(`${g}${path}`, { method: 'POST', body: JSON.stringify(body) });
        assert.equal(res.status, 401, path);
      }
      assert.equal((await fetch(`${g}/v1/tags`)).status, 200);
      assert.equal(stateAt(a, 'fl-b'), 'alive');
      assert.deepEqual(a.localMember.tags, { n: '9', zone: 'b' }, 'nothing changed without the token');
    } finally {
      await guarded.close();
    }
    sub.unsubscribe();
  } finally {
    await http.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
});
