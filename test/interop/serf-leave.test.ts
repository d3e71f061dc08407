// Leaves across rxswim and real Serf 0.8 agents are recorded as leaves, never as
// failures (issue 12), both ways:
// - an rxswim agent that leaves (SIGTERM) sends Serf's leave intent before memberlist's
//   leave, so `serf members` shows it `left`; it is restarted under the same name each
//   run, so its intent must also beat the Lamport time of its previous leave;
// - the scenario: an rxswim and a Serf agent are killed, and once both are seen
//   dead the seed Serf agent leaves: no rxswim agent records that leave as a failure.
// RXSWIM_LEAVE_RUNS sets the repetitions (CI: 3; `RXSWIM_LEAVE_RUNS=20` for the 20).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { builtCli, hasSerf, httpMembers, kill, metricValue, ProcGroup, serfMembers, type Proc } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const RUNS = Number(process.env.RXSWIM_LEAVE_RUNS ?? 3);
const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

const serfFailedLine = (p: Proc, node: string, from: number) => p.lines.slice(from).filter((l) => l.includes('EventMemberFailed') && l.includes(`${node} `));

test(`an rxswim agent that leaves is "left" in serf members, never "failed" (${RUNS} runs, restarted under one name)`, { timeout: 60_000 + RUNS * 40_000, skip }, async () => {
  const g = new ProcGroup();
  const serf = [
    { name: 'serf-1', bind: '127.0.37.1:7946', rpc: '127.0.37.1:7373' },
    { name: 'serf-2', bind: '127.0.37.2:7946', rpc: '127.0.37.2:7373' },
  ];
  const peer = { name: 'rx-peer', bind: '127.0.37.11:7946', http: '127.0.37.11:8946' };
  const leaver = { name: 'rx-leaver', bind: '127.0.37.12:7946', http: '127.0.37.12:8946' };
  try {
    const s = [g.serf(serf[0]!.name, serf[0]!.bind, serf[0]!.rpc)];
    await waitFor('serf-1 RPC', () => serfMembers(serf[0]!.rpc).length, (n) => n === 1, 15_000);
    s.push(g.serf(serf[1]!.name, serf[1]!.bind, serf[1]!.rpc, [`-join=${serf[0]!.bind}`]));
    g.agent(peer.name, peer.bind, peer.http, ['--join', serf[0]!.bind]);
    await waitFor('serf-1 lists 3 alive', () => serfMembers(serf[0]!.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 3, 30_000);
    const outcomes: string[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Alternate seeds: through a Serf agent (whose push-pull state carries Serf's
      // Lamport clock) and through the rxswim peer.
      const seed = run % 2 === 0 ? serf[1]!.bind : peer.bind;
      const marks = s.map((p) => p.lines.length);
      const a = g.agent(leaver.name, leaver.bind, leaver.http, ['--join', seed]);
      for (const x of serf) {
        await waitFor(`run ${run + 1}: ${x.name} lists ${leaver.name} alive`, () => serfMembers(x.rpc).find((m) => m.name === leaver.name)?.status, (st) => st === 'alive', 30_000);
      }
      await waitFor(`run ${run + 1}: ${leaver.name} lists all 4 alive`, () => httpMembers(leaver.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 4, 30_000);
      const code = await kill(a, 'SIGTERM');
      assert.equal(code, 0, `run ${run + 1}: the agent left and exited cleanly`);
      for (const x of serf) {
        await waitFor(`run ${run + 1}: ${x.name} lists ${leaver.name} left`, () => serfMembers(x.rpc).find((m) => m.name === leaver.name)?.status, (st) => st === 'left', 20_000);
      }
      await waitFor(`run ${run + 1}: ${peer.name} lists ${leaver.name} left`, async () => (await httpMembers(peer.http))?.find((m) => m.name === leaver.name)?.state, (st) => st === 'left', 20_000);
      s.forEach((p, i) => assert.deepEqual(serfFailedLine(p, leaver.name, marks[i]!), [], `run ${run + 1}: ${serf[i]!.name} logged no failure of ${leaver.name}`));
      outcomes.push('left');
    }
    assert.equal(outcomes.length, RUNS);
    console.log(`# ${RUNS}/${RUNS} runs: serf-1 and serf-2 list ${leaver.name} left, no EventMemberFailed`);
  } finally {
    await g.killAll();
  }
});

test(`the issue's scenario: after an rxswim and a Serf agent die, the seed Serf agent's leave is "left" at every rxswim agent (${RUNS} runs)`, { timeout: 30_000 + RUNS * 90_000, skip }, async () => {
  for (let run = 0; run < RUNS; run++) {
    const g = new ProcGroup();
    const n = 20 + run; // a fresh address block per run: no stale state between runs
    const serf = [1, 2].map((i) => ({ name: `serf-${i}`, bind: `127.0.${38}.${n * 4 + i}:7946`, rpc: `127.0.38.${n * 4 + i}:7373` }));
    const rx = [0, 1, 2].map((i) => ({ name: `rx-${i + 1}`, bind: `127.0.39.${n * 4 + i}:7946`, http: `127.0.39.${n * 4 + i}:8946` }));
    try {
      g.serf(serf[0]!.name, serf[0]!.bind, serf[0]!.rpc);
      await waitFor('serf-1 RPC', () => serfMembers(serf[0]!.rpc).length, (k) => k === 1, 15_000);
      const s2 = g.serf(serf[1]!.name, serf[1]!.bind, serf[1]!.rpc, [`-join=${serf[0]!.bind}`]);
      const agents = rx.map((r) => g.agent(r.name, r.bind, r.http, ['--join', serf[0]!.bind]));
      for (const r of rx) await waitFor(`run ${run + 1}: ${r.name} lists all 5 alive`, () => httpMembers(r.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 5, 30_000);
      await kill(agents[2]!, 'SIGKILL');
      await kill(s2, 'SIGKILL');
      const live = rx.slice(0, 2);
      const stateAt = (r: (typeof rx)[number], node: string) => httpMembers(r.http).then((ms) => ms?.find((m) => m.name === node)?.state);
      await waitFor(`run ${run + 1}: rx-1 and rx-2 see rx-3 and serf-2 failed`, () => Promise.all(live.flatMap((r) => [stateAt(r, 'rx-3'), stateAt(r, 'serf-2')])), (st) => st.every((x) => x === 'dead'), 60_000);
      await waitFor(`run ${run + 1}: serf-1 sees them failed`, () => serfMembers(serf[0]!.rpc).filter((m) => m.status === 'failed').length, (k) => k === 2, 60_000);
      const failures = () => Promise.all(live.map((r) => metricValue(r.http, 'rxswim_member_transitions_total', { to: 'dead' })));
      const before = await failures();
      assert.ok(before.every((x) => (x ?? 0) >= 2), `the failure counter counts: ${before.join(', ')} (rx-3 and serf-2 at least)`);
      const leave = spawnSync('serf', ['leave', `-rpc-addr=${serf[0]!.rpc}`], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(leave.status, 0, `serf leave failed: ${leave.stderr}`);
      await waitFor(`run ${run + 1}: rx-1 and rx-2 list serf-1 left`, () => Promise.all(live.map((r) => stateAt(r, 'serf-1'))), (st) => st.every((x) => x === 'left'), 30_000);
      const after = await failures();
      assert.deepEqual(after, before, `run ${run + 1}: no rxswim agent recorded a failure after serf-1's leave`);
    } finally {
      await g.killAll();
    }
  }
  console.log(`# ${RUNS}/${RUNS} runs: serf-1's leave was "left" at rx-1 and rx-2, with no failure recorded`);
});
