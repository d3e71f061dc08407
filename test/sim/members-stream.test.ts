// members$ under virtual time: the list on subscribe, then one up-to-date list per burst
// of changes (a join that brings eleven members is one emission, not eleven).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

test('members$ coalesces a burst: a push-pull that brings 11 members is one emission, and it is current', { timeout: 60_000 }, async () => {
  const c = new VirtualCluster({ size: 12, seed: 5, profile: 'local' });
  try {
    await c.boot(3_000);
    const late = await c.add(20);
    const lists: string[][] = [];
    const sub = late.members$.subscribe((ms) => lists.push(ms.map((m) => `${m.name}:${m.state}`)));
    assert.deepEqual(lists, [['node-20:alive']], 'the list on subscribe, synchronously');
    const joined = late.join([`${VirtualCluster.hostOf(0)}:7946`]);
    await c.advance(50);
    assert.equal(await joined, 1);
    // The push-pull brought node-0..node-11 at once: one list for the burst, with all of them.
    assert.equal(lists.length, 2, `emissions: ${lists.map((l) => l.length).join(', ')}`);
    assert.equal(lists[1]!.length, 13);
    assert.ok(lists[1]!.every((m) => m.endsWith(':alive')));
    // A later single change still arrives, up to date.
    await c.crash('node-5');
    const seen = await c.until(() => lists.at(-1)!.includes('node-5:dead'), 60_000);
    assert.ok(seen !== undefined, 'node-5 dead in the latest list');
    assert.deepEqual(lists.at(-1), late.members().map((m) => `${m.name}:${m.state}`));
    let completed = false;
    sub.add(() => (completed = true));
    await late.stop();
    await c.advance(10);
    assert.ok(completed, 'members$ completes on stop');
  } finally {
    await c.stopAll();
  }
});
