// Network coordinates with real Serf agents: `serf rtt <rxswim-node>` (without
// coordinates in rxswim's acks Serf has none and says "Could not find a coordinate")
// and `rxswim rtt <serf-node>` both print an estimate; the estimates agree roughly
// with each other and with the probe RTT rxswim measures. Plaintext and encrypted.
// Loopback round trips are tiny and noisy, so the bounds are generous: finite,
// positive, below 50 ms; the figures are printed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { builtCli, CLI, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;
const RTT_LINE = /^Estimated (\S+) <-> (\S+) rtt: (\d+\.\d{3}) ms$/;

function serfRtt(rpc: string, ...nodes: string[]) {
  return spawnSync('serf', ['rtt', `-rpc-addr=${rpc}`, ...nodes], { encoding: 'utf8', timeout: 5000 });
}
function rxRtt(http: string, ...nodes: string[]) {
  return spawnSync(process.execPath, [CLI, 'rtt', '--http', http, ...nodes], { encoding: 'utf8', timeout: 10_000 });
}
function estimateOf(r: { status: number | null; stdout: string; stderr: string }, what: string): number {
  assert.equal(r.status, 0, `${what}: exit ${r.status}: ${r.stdout}${r.stderr}`);
  const m = RTT_LINE.exec(r.stdout.trim());
  assert.ok(m, `${what} printed ${JSON.stringify(r.stdout)}`);
  const ms = Number(m[3]);
  assert.ok(Number.isFinite(ms) && ms > 0 && ms < 50, `${what}: ${ms} ms`);
  return ms;
}

async function probeRttMs(http: string): Promise<number | undefined> {
  const res = await fetch(`http://${http}/v1/self`, { signal: AbortSignal.timeout(2000) });
  return ((await res.json()) as { probeRtt: { meanMs: number | null } }).probeRtt.meanMs ?? undefined;
}

for (const encrypted of [false, true]) {
  const net = encrypted ? 20 : 10;
  const SERF = { name: 'serf-1', bind: `127.0.118.${net + 1}:7946`, rpc: `127.0.118.${net + 1}:7373` };
  const RX = { name: 'rx-1', bind: `127.0.118.${net + 2}:7946`, http: `127.0.118.${net + 2}:8946` };
  const OFF = { name: 'rx-off', bind: `127.0.118.${net + 3}:7946`, http: `127.0.118.${net + 3}:8946` };

  test(`serf rtt and rxswim rtt across Serf and rxswim (${encrypted ? 'encrypted' : 'plaintext'})`, { timeout: 120_000, skip }, async () => {
    const g = new ProcGroup();
    try {
      const key = encrypted ? spawnSync('serf', ['keygen'], { encoding: 'utf8' }).stdout.trim() : '';
      g.serf(SERF.name, SERF.bind, SERF.rpc, encrypted ? [`-encrypt=${key}`] : []);
      await waitFor('serf-1 RPC', () => serfMembers(SERF.rpc).length, (n) => n === 1, 15_000);
      const rxArgs = ['--join', SERF.bind, '--profile', 'local', ...(encrypted ? ['--encrypt', key] : [])];
      g.agent(RX.name, RX.bind, RX.http, rxArgs);
      // The control: an rxswim agent whose acks carry no coordinate.
      g.agent(OFF.name, OFF.bind, OFF.http, [...rxArgs, '--coordinates', 'false']);
      await waitFor('serf-1 lists 3 alive', () => serfMembers(SERF.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 3, 30_000);
      await waitFor('rx-1 lists 3 alive', () => httpMembers(RX.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 3, 30_000);

      // Serf probes each member once per second (its LAN profile): a few probes each.
      await waitFor('serf rtt rx-1 serf-1', () => serfRtt(SERF.rpc, RX.name, SERF.name), (r) => r.status === 0, 30_000, 500);
      // A few more updates, so the figures below are past the first one.
      await sleep(3000);
      const serfEstimate = estimateOf(serfRtt(SERF.rpc, RX.name, SERF.name), 'serf rtt rx-1 serf-1');
      // The default second node is the agent itself.
      estimateOf(serfRtt(SERF.rpc, RX.name), 'serf rtt rx-1');

      await waitFor('rxswim rtt serf-1', () => rxRtt(RX.http, SERF.name), (r) => r.status === 0, 30_000, 500);
      const rxSees = rxRtt(RX.http, SERF.name);
      const rxEstimate = estimateOf(rxSees, 'rxswim rtt serf-1');
      assert.match(rxSees.stdout, /^Estimated serf-1 <-> rx-1 rtt: /);
      estimateOf(rxRtt(RX.http, SERF.name, RX.name), 'rxswim rtt serf-1 rx-1');

      // Without coordinates, Serf has none for the node, as before this change.
      const none = serfRtt(SERF.rpc, OFF.name);
      assert.notEqual(none.status, 0);
      assert.match(none.stderr + none.stdout, /Could not find a coordinate for node "rx-off"/);
      const rxNone = rxRtt(RX.http, OFF.name);
      assert.equal(rxNone.status, 1, rxNone.stderr);
      assert.match(rxNone.stderr, /could not find a coordinate for node "rx-off"/);

      const updates = await metricValue(RX.http, 'rxswim_coordinate_updates_total');
      assert.ok(updates !== undefined && updates > 0, `rx-1 updated its coordinate (${updates})`);
      const error = await metricValue(RX.http, 'rxswim_coordinate_error');
      // Within Serf's bounds (it need not have fallen: one RTT far off the estimate puts it back at the 1.5 cap).
      assert.ok(error !== undefined && error > 0 && error <= 1.5, `rx-1's coordinate error ${error}`);
      for (const reason of ['unsupported_version', 'malformed', 'not_a_coordinate', 'dimensions', 'invalid_coordinate']) {
        assert.equal(await metricValue(RX.http, 'rxswim_coordinate_rejected_total', { reason }), 0, `nothing rejected for ${reason}`);
      }
      if (encrypted) assert.equal(await metricValue(RX.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' }), 0);

      const measured = await probeRttMs(RX.http);
      // Both sides estimate the same pair from coordinates that move independently: the
      // same order of magnitude, within Serf's error bound of 1.5 (relative), generously.
      const ratio = Math.max(serfEstimate, rxEstimate) / Math.min(serfEstimate, rxEstimate);
      console.log(
        `# ${encrypted ? 'encrypted' : 'plaintext'}: serf rtt rx-1 serf-1 = ${serfEstimate} ms, rxswim rtt serf-1 = ${rxEstimate} ms, ` +
          `ratio ${ratio.toFixed(2)}, rx-1 probe RTT mean ${measured?.toFixed(3)} ms, rx-1 coordinate error ${error?.toFixed(3)}, updates ${updates}`,
      );
      assert.ok(ratio < 20, `estimates ${serfEstimate} and ${rxEstimate} ms differ by ×${ratio}`);
    } finally {
      await g.killAll();
    }
  });
}
