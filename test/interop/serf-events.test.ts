// Serf user events across rxswim and a real Serf 0.8 agent, both ways, with
// encryption off and on:
// - `serf event deploy v1` (the serf CLI against the Serf agent's RPC) reaches the
//   rxswim agent exactly once: one `user_event` JSON log line, and
//   rxswim_serf_events_received_total = 1 on its /metrics;
// - `rxswim event deploy v2` (the CLI against the rxswim agent's HTTP API) reaches the
//   Serf agent's event handler (`-event-handler=user:deploy=<script>`, which appends
//   SERF_USER_EVENT, SERF_USER_LTIME and stdin to a file) exactly once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCli, CLI, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers, type Proc } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

/** how long duplicates have to show up (several gossip rounds and retransmits) */
const SETTLE_MS = 3000;

function userEventLines(p: Proc): Array<Record<string, unknown>> {
  return p.lines.flatMap((l) => {
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      return j.event === 'user_event' ? [j] : [];
    } catch {
      return [];
    }
  });
}

for (const encrypted of [false, true]) {
  const mode = encrypted ? 'encrypted' : 'plain';
  test(`Serf user events both ways between serf 0.8 and rxswim (${mode})`, { timeout: 90_000, skip }, async () => {
    const host = encrypted ? 2 : 1;
    const serf = { name: `serf-${mode}`, bind: `127.0.117.${20 + host}:7946`, rpc: `127.0.117.${20 + host}:7373` };
    const rx = { name: `rx-${mode}`, bind: `127.0.117.${30 + host}:7946`, http: `127.0.117.${30 + host}:8946` };
    const dir = mkdtempSync(join(tmpdir(), 'rxswim-serf-events-'));
    const out = join(dir, 'events.txt');
    const handler = join(dir, 'handler.sh');
    writeFileSync(handler, `#!/bin/sh\nprintf '%s %s %s\\n' "$SERF_USER_EVENT" "$SERF_USER_LTIME" "$(cat)" >> '${out}'\n`);
    chmodSync(handler, 0o755);
    const key = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
    const g = new ProcGroup();
    try {
      const s = g.serf(serf.name, serf.bind, serf.rpc, [`-event-handler=user:deploy=${handler}`, ...(encrypted ? [`-encrypt=${key}`] : [])]);
      await waitFor(`${serf.name} RPC`, () => serfMembers(serf.rpc).length, (n) => n === 1, 15_000);
      const a = g.agent(rx.name, rx.bind, rx.http, ['--join', serf.bind, ...(encrypted ? ['--encrypt', key] : [])]);
      await waitFor(`${serf.name} lists both alive`, () => serfMembers(serf.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 2, 30_000);
      await waitFor(`${rx.name} lists both alive`, () => httpMembers(rx.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 2, 30_000);

      // Serf → rxswim
      const ev = spawnSync('serf', ['event', `-rpc-addr=${serf.rpc}`, 'deploy', 'v1'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(ev.status, 0, `serf event failed: ${ev.stderr}`);
      await waitFor(`${rx.name} logs the user event`, () => userEventLines(a).length, (n) => n >= 1, 15_000);
      await sleep(SETTLE_MS);
      const got = userEventLines(a);
      assert.equal(got.length, 1, `exactly one user_event line:\n${got.map((j) => JSON.stringify(j)).join('\n')}`);
      assert.equal(got[0]!.name, 'deploy');
      assert.equal(got[0]!.payload, 'v1');
      assert.equal(got[0]!.coalesce, true, '`serf event` coalesces by default');
      assert.equal(await metricValue(rx.http, 'rxswim_serf_events_received_total'), 1);
      if (encrypted) assert.equal((await metricValue(rx.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })) ?? 0, 0);

      // rxswim → Serf
      const sent = spawnSync(process.execPath, [CLI, 'event', '--http', rx.http, 'deploy', 'v2'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(sent.status, 0, `rxswim event failed: ${sent.stderr}`);
      assert.match(sent.stdout, /event deploy sent \(ltime 2\)/, 'the event clock moved past serf\'s event at 1');
      const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
      await waitFor(`${serf.name}'s handler runs for deploy v2`, () => lines().filter((l) => l.endsWith(' v2')).length, (n) => n >= 1, 15_000);
      await sleep(SETTLE_MS);
      // The handler ran for serf's own v1 too (Serf delivers its own events), each once.
      assert.deepEqual(lines().sort(), ['deploy 1 v1', 'deploy 2 v2'], `${serf.name}'s handler output; serf log:\n${s.lines.slice(-20).join('\n')}`);
      assert.equal(await metricValue(rx.http, 'rxswim_serf_events_sent_total'), 1);
      // rxswim delivers its own event to itself too, as Serf does.
      assert.deepEqual(userEventLines(a).map((j) => j.payload), ['v1', 'v2']);
      console.log(`# ${mode}: serf event reached rxswim once; rxswim event reached serf's handler once`);
    } finally {
      await g.killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
