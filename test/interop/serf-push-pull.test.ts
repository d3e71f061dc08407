// rxswim's push-pull user state, as a real Serf agent reads it (encryption off and
// on): Serf's own messagePushPull leads it, so the Serf agent learns rxswim's event
// ring and Lamport times, and logs no "Remote state" error. The proof is an event that
// can only arrive by that state: `rxswim event deploy v7` sent while the rxswim agent
// is alone, then `rxswim join` to a Serf agent (whose `-event-handler` records every
// user event it handles); gossip of the event ended before the Serf agent was
// reachable, so only the join's push-pull can carry it. Before Serf's state led ours,
// the Serf agent logged "Remote state has bad type prefix: 245" and never ran the handler.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCli, CLI, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

for (const encrypted of [false, true]) {
  const mode = encrypted ? 'encrypted' : 'plain';
  test(`a Serf agent reads rxswim's push-pull state: an event carried only by it reaches Serf's handler (${mode})`, { timeout: 90_000, skip }, async () => {
    const host = encrypted ? 2 : 1;
    const serf = { name: `serf-pp-${mode}`, bind: `127.0.127.${20 + host}:7946`, rpc: `127.0.127.${20 + host}:7373` };
    const rx = { name: `rx-pp-${mode}`, bind: `127.0.127.${30 + host}:7946`, http: `127.0.127.${30 + host}:8946` };
    const dir = mkdtempSync(join(tmpdir(), 'rxswim-serf-pp-'));
    const out = join(dir, 'events.txt');
    const handler = join(dir, 'handler.sh');
    writeFileSync(handler, `#!/bin/sh\nprintf '%s %s %s\\n' "$SERF_USER_EVENT" "$SERF_USER_LTIME" "$(cat)" >> '${out}'\n`);
    chmodSync(handler, 0o755);
    const key = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
    const enc = (flag: string) => (encrypted ? [flag, key] : []);
    const g = new ProcGroup();
    try {
      g.agent(rx.name, rx.bind, rx.http, enc('--encrypt'));
      await waitFor(`${rx.name} answers`, () => httpMembers(rx.http), (ms) => ms?.length === 1, 20_000);
      const sent = spawnSync(process.execPath, [CLI, 'event', '--http', rx.http, 'deploy', 'v7'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(sent.status, 0, `rxswim event failed: ${sent.stderr}`);

      const s = g.serf(serf.name, serf.bind, serf.rpc, [`-event-handler=user:deploy=${handler}`, ...(encrypted ? [`-encrypt=${key}`] : [])]);
      await waitFor(`${serf.name} RPC`, () => serfMembers(serf.rpc).length, (n) => n === 1, 15_000);
      // The fault this test guards against is real: the Serf agent has no other way to hear it.
      assert.equal(existsSync(out), false, 'no event reached the Serf agent before the join');
      const joined = spawnSync(process.execPath, [CLI, 'join', '--http', rx.http, serf.bind], { encoding: 'utf8', timeout: 15_000 });
      assert.equal(joined.status, 0, `rxswim join failed: ${joined.stderr}`);
      await waitFor(`${serf.name} lists both alive`, () => serfMembers(serf.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 2, 30_000);

      const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
      await waitFor(`${serf.name}'s handler runs for deploy v7`, () => lines().length, (n) => n >= 1, 20_000);
      await sleep(2000);
      assert.deepEqual(lines(), ['deploy 1 v7'], `${serf.name}'s handler output; serf log:\n${s.lines.slice(-20).join('\n')}`);
      const stateErrors = s.lines.filter((l) => /Remote state|Failed to decode remote state/.test(l));
      assert.deepEqual(stateErrors, [], 'the Serf agent read our push-pull state without complaint');
      if (encrypted) assert.equal((await metricValue(rx.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })) ?? 0, 0);
      console.log(`# ${mode}: an event carried only by rxswim's push-pull state ran serf's handler once`);
    } finally {
      await g.killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
