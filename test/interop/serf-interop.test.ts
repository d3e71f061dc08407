// Interop with real HashiCorp Serf agents (Debian package `serf`, memberlist 0.2.x):
// two Serf agents and three rxswim agents form one cluster and see each other fail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { builtCli, hasSerf, httpMembers, kill, ProcGroup, serfMembers } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const SERF = [
  { name: 'serf-1', bind: '127.0.32.1:7946', rpc: '127.0.32.1:7373' },
  { name: 'serf-2', bind: '127.0.32.2:7946', rpc: '127.0.32.2:7373' },
];
const RX = [0, 1, 2].map((i) => ({ name: `rx-${i + 1}`, bind: `127.0.32.${11 + i}:7946`, http: `127.0.32.${11 + i}:8946` }));

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

test('rxswim and Serf agents form one cluster and see each other fail and leave', { timeout: 180_000, skip }, async () => {
  const g = new ProcGroup();
  try {
    g.serf(SERF[0]!.name, SERF[0]!.bind, SERF[0]!.rpc);
    await waitFor('serf-1 RPC', () => serfMembers(SERF[0]!.rpc).length, (n) => n === 1, 15_000);
    const s2 = g.serf(SERF[1]!.name, SERF[1]!.bind, SERF[1]!.rpc, [`-join=${SERF[0]!.bind}`]);
    const rx = RX.map((r, i) => g.agent(r.name, r.bind, r.http, ['--join', i === 0 ? SERF[0]!.bind : SERF[1]!.bind]));
    const all = [...SERF.map((s) => s.name), ...RX.map((r) => r.name)].sort();

    // Serf lists every rxswim node alive, and rxswim lists every Serf node alive.
    for (const s of SERF) {
      await waitFor(`${s.name} lists all 5 alive`, () => serfMembers(s.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 5, 30_000);
      assert.deepEqual(serfMembers(s.rpc).map((m) => m.name).sort(), all);
      // An rxswim agent without tags announces an empty tag map, so Serf shows no tags
      // for it (a bare, empty meta would read as the legacy `role=` tag).
      for (const r of RX) assert.deepEqual(serfMembers(s.rpc).find((m) => m.name === r.name)?.tags, {}, `${s.name}'s tags for ${r.name}`);
    }
    for (const r of RX) {
      await waitFor(`${r.name} lists all 5 alive`, () => httpMembers(r.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 5, 30_000);
    }

    // kill -9 of an rxswim agent: Serf reports it failed.
    await kill(rx[2]!, 'SIGKILL');
    await waitFor(
      'both Serf agents to report rx-3 failed',
      () => SERF.map((s) => serfMembers(s.rpc).find((m) => m.name === 'rx-3')?.status),
      (st) => st.every((x) => x === 'failed'),
      60_000,
    );

    // kill -9 of a Serf agent: rxswim marks it failed.
    await kill(s2, 'SIGKILL');
    await waitFor(
      'rx-1 and rx-2 to mark serf-2 failed',
      () => Promise.all(RX.slice(0, 2).map(async (r) => (await httpMembers(r.http))?.find((m) => m.name === 'serf-2')?.state)),
      (st) => st.every((x) => x === 'dead'),
      60_000,
    );

    // `serf leave`: rxswim marks it left.
    const leave = spawnSync('serf', ['leave', `-rpc-addr=${SERF[0]!.rpc}`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(leave.status, 0, `serf leave failed: ${leave.stderr}`);
    await waitFor(
      'rx-1 and rx-2 to mark serf-1 left',
      () => Promise.all(RX.slice(0, 2).map(async (r) => (await httpMembers(r.http))?.find((m) => m.name === 'serf-1')?.state)),
      (st) => st.every((x) => x === 'left'),
      30_000,
    );
  } finally {
    await g.killAll();
  }
});
