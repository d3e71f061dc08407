// What the registry does to keep a member small (issue 11) without changing what it
// holds: equal metadata and versions are one shared array, a member's events still
// reach the registry through its one listener, and nothing is registered by systemId.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { clockFromScheduler } from '../../src/clock.js';
import { createRandom } from '../../src/sim/random.js';
import { Registry } from '../../src/swim/registry.js';

const BOUNDS = { minMs: 1000, maxMs: 1000, k: 0 };

function setup() {
  const s = new VirtualTimeScheduler();
  const changes: string[] = [];
  const expired: Array<[string, number]> = [];
  const reg = new Registry({
    clock: clockFromScheduler(s),
    random: createRandom(3),
    onChange: (change, m) => void changes.push(`${change}:${m.name}:${m.state}`),
    onExpired: (name, inc) => void expired.push([name, inc]),
  });
  return { s, reg, changes, expired };
}

test('members with equal meta and vsn bytes share one array each; the values are unchanged', () => {
  const { reg } = setup();
  for (let i = 0; i < 3; i++) {
    reg.create(`m${i}`, { addr: Uint8Array.of(10, 0, 0, i), port: 7946, meta: Uint8Array.of(0x80), vsn: Uint8Array.of(1, 5, 2, 2, 5, 4), incarnation: 1, at: 0 });
  }
  const ctx = (n: string) => reg.actor(n)!.getSnapshot().context;
  assert.equal(ctx('m0').meta, ctx('m1').meta);
  assert.equal(ctx('m1').vsn, ctx('m2').vsn);
  assert.notEqual(ctx('m0').addr, ctx('m1').addr);
  assert.deepEqual([...ctx('m2').vsn], [1, 5, 2, 2, 5, 4]);
  assert.deepEqual([...ctx('m2').meta], [0x80]);
  assert.equal(reg.member('m0')!.vsn, reg.member('m1')!.vsn, 'the frozen vsn list is shared too');
  assert.deepEqual(reg.member('m0')!.vsn, [1, 5, 2, 2, 5, 4]);
  // an accepted alive with new metadata stores it, interned like the rest
  assert.equal(reg.deliver('m0', { type: 'ALIVE', incarnation: 2, at: 1, addr: Uint8Array.of(10, 0, 0, 0), port: 7946, meta: Uint8Array.of(9), vsn: Uint8Array.of(1, 5, 2, 2, 5, 4) }), true);
  assert.deepEqual([...ctx('m0').meta], [9]);
  assert.equal(ctx('m0').vsn, ctx('m1').vsn);
  assert.equal(reg.actor('m0')!.system.get('member:m0'), undefined);
  reg.stop();
});

test('both emitted events still reach the registry through the one listener', () => {
  const { s, reg, changes, expired } = setup();
  reg.create('a', { addr: Uint8Array.of(10, 0, 0, 1), port: 7946, meta: new Uint8Array(0), vsn: Uint8Array.of(1, 5, 2, 2, 5, 4), incarnation: 1, at: 0 });
  assert.equal(reg.deliver('a', { type: 'SUSPECT', incarnation: 1, from: 'x', at: 0, bounds: BOUNDS }), true);
  s.schedule(() => {}, 1500);
  s.maxFrames = 1500;
  s.flush();
  assert.deepEqual(changes, ['suspected:a:suspect', 'failed:a:dead']);
  assert.deepEqual(expired, [['a', 1]]);
  const counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
  reg.countInto(counts);
  assert.deepEqual(counts, { alive: 0, suspect: 0, dead: 1, left: 0 });
  reg.stop();
});

test("members with equal Serf tags share one frozen tags object; other members' tags stay their own", async () => {
  const { encodeTags } = await import('../../src/membership/tags.js');
  const { reg } = setup();
  const vsn = Uint8Array.of(1, 5, 2, 2, 5, 4);
  const make = (name: string, i: number, tags: Record<string, string>) =>
    reg.create(name, { addr: Uint8Array.of(10, 0, 0, i), port: 7946, meta: encodeTags(tags), vsn, incarnation: 1, at: 0 });
  make('a', 1, { role: 'web' });
  make('b', 2, { role: 'web' });
  make('c', 3, { role: 'db' });
  const a = reg.member('a')!;
  assert.deepEqual(a.tags, { role: 'web' });
  assert.equal(a.tags, reg.member('b')!.tags);
  assert.ok(Object.isFrozen(a.tags));
  assert.deepEqual(reg.member('c')!.tags, { role: 'db' });
  // a new snapshot of the same member (new incarnation, same meta) keeps the same tags object
  assert.equal(reg.deliver('a', { type: 'ALIVE', incarnation: 2, at: 1, addr: Uint8Array.of(10, 0, 0, 1), port: 7946, meta: encodeTags({ role: 'web' }), vsn }), true);
  assert.equal(reg.member('a')!.incarnation, 2);
  assert.equal(reg.member('a')!.tags, reg.member('b')!.tags);
  reg.stop();
});
