// The `inspect` option reaches every member actor: an XState inspector sees a
// member's machine go alive → suspect → dead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InspectionEvent } from 'xstate';
import { VirtualCluster } from '../../src/sim/virtual-cluster.js';

test('inspection events show a crashed member going alive → suspect → dead', { timeout: 60_000 }, async () => {
  const seen: InspectionEvent[] = [];
  const c = new VirtualCluster({ size: 4, seed: 3, inspectFor: (i) => (i === 0 ? (e) => seen.push(e) : undefined) });
  try {
    await c.boot();
    await c.crash('node-2');
    await c.until(() => c.stateOf('node-0', 'node-2') === 'dead', 60_000);
    const states = seen
      .filter((e): e is Extract<InspectionEvent, { type: '@xstate.snapshot' }> => e.type === '@xstate.snapshot')
      .map((e) => e.snapshot as unknown as { value: unknown; context?: { name?: string } })
      .filter((snap) => snap.context?.name === 'node-2')
      .map((snap) => String(snap.value));
    const distinct = states.filter((v, i) => i === 0 || v !== states[i - 1]);
    assert.deepEqual(distinct, ['alive', 'suspect', 'dead']);
    assert.ok(seen.some((e) => e.type === '@xstate.actor'), 'actor creation is inspected too');
  } finally {
    await c.stopAll();
  }
});
