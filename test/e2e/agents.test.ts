// Five rxswim agents as separate processes over real UDP/TCP on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS } from '../../src/config.js';
import { detectionBoundMs } from '../../src/swim/formulas.js';
import { builtCli, httpMembers, kill, ProcGroup } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const N = 5;
const host = (i: number) => `127.0.31.${i + 1}`;
const bind = (i: number) => `${host(i)}:7946`;
const http = (i: number) => `${host(i)}:8946`;

test('five agents converge; kill -9 is seen as failed within the bound; a graceful leave is seen as left', { timeout: 120_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const g = new ProcGroup();
  try {
    for (let i = 0; i < N; i++) {
      g.agent(`agent-${i}`, bind(i), http(i), ['--profile', 'local', ...(i > 0 ? ['--join', bind(0)] : [])]);
      if (i === 0) await waitFor('seed HTTP', () => httpMembers(http(0)), (m) => m !== undefined, 10_000);
    }
    for (let i = 0; i < N; i++) {
      await waitFor(`agent-${i} sees ${N} alive`, () => httpMembers(http(i)), (m) => m?.filter((x) => x.state === 'alive').length === N, 20_000);
    }

    // The bound the `local` preset implies (see test/sim/cluster.test.ts for the terms).
    const cfg = PRESETS.local;
    const bound = detectionBoundMs(cfg, N);
    const procs = g.procs;
    await kill(procs[4]!, 'SIGKILL');
    const observers = [0, 1, 2, 3];
    const took = await waitFor(
      'everyone to mark agent-4 failed',
      async () => Promise.all(observers.map(async (i) => (await httpMembers(http(i)))?.find((m) => m.name === 'agent-4')?.state)),
      (states) => states.every((s) => s === 'dead'),
      bound + 5_000,
    );
    console.log(`# kill -9 detected by all ${observers.length} observers in ${took} ms (bound ${bound} ms)`);
    assert.ok(took <= bound, `detection took ${took} ms, over ${bound} ms`);

    // Graceful leave: SIGTERM makes the agent gossip its leave, then exit 0.
    const code = await kill(procs[3]!, 'SIGTERM');
    assert.equal(code, 0, 'agent exits 0 after leaving');
    await waitFor(
      'everyone to mark agent-3 left',
      async () => Promise.all([0, 1, 2].map(async (i) => (await httpMembers(http(i)))?.find((m) => m.name === 'agent-3')?.state)),
      (states) => states.every((s) => s === 'left'),
      10_000,
    );
    // Every membership event is one JSON line with a millisecond time, the event and the member.
    const events = procs[0]!.lines.map((l) => JSON.parse(l) as { time: number; event?: string; member?: { name: string } }).filter((e) => e.event);
    assert.ok(events.some((e) => e.event === 'failed' && e.member?.name === 'agent-4'));
    assert.ok(events.some((e) => e.event === 'left' && e.member?.name === 'agent-3'));
    assert.ok(events.every((e) => Number.isInteger(e.time) && e.time > 1e12));
  } finally {
    await g.killAll();
  }
});
