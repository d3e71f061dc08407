// rxswim's agent event handlers driven by a real Serf agent (Debian's serf), with
// encryption off and on:
// - `serf event deploy v1` runs rxswim's `user:deploy` handler once, with
//   SERF_EVENT=user, SERF_USER_EVENT, SERF_USER_LTIME and the payload on stdin;
// - `serf tags -set` on the Serf agent runs rxswim's member-update handler with the
//   Serf member's new tags on stdin;
// - `serf query load PAYLOAD` gets rxswim's `query:load` handler's stdout as rxswim's
//   response in its output; a handler printing more than Serf's 1024-byte response
//   limit is acked but not answered, and counted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRuns, recordingScript, type HandlerRun } from '../helpers/handler-runs.js';
import { builtCli, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

interface SerfQueryJson {
  Acks: string[] | null;
  Responses: Record<string, string> | null;
}

function serfQuery(rpc: string, name: string, payload: string): SerfQueryJson {
  const r = spawnSync('serf', ['query', `-rpc-addr=${rpc}`, '-format=json', '-timeout=5s', name, payload], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `serf query ${name} failed: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as SerfQueryJson;
}

for (const encrypted of [false, true]) {
  const mode = encrypted ? 'encrypted' : 'plain';
  test(`rxswim's event handlers run for serf event, serf tags and serf query (${mode})`, { timeout: 120_000, skip }, async () => {
    const host = encrypted ? 2 : 1;
    const serf = { name: `serf-h-${mode}`, bind: `127.0.125.${20 + host}:7946`, rpc: `127.0.125.${20 + host}:7373` };
    const rx = { name: `rx-h-${mode}`, bind: `127.0.125.${30 + host}:7946`, http: `127.0.125.${30 + host}:8946` };
    const dir = mkdtempSync(join(tmpdir(), 'rxswim-serf-handlers-'));
    const out = join(dir, 'runs.txt');
    const script = recordingScript(dir, out);
    const key = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
    const g = new ProcGroup();
    const runs = () => readRuns(out);
    const waitRun = async (what: string, pred: (r: HandlerRun) => boolean, from: number) => {
      await waitFor(what, () => runs().slice(from), (rs) => rs.some(pred), 20_000, 100);
      return runs().slice(from).filter(pred);
    };
    try {
      g.serf(serf.name, serf.bind, serf.rpc, ['-tag', 'role=cache', ...(encrypted ? [`-encrypt=${key}`] : [])]);
      await waitFor(`${serf.name} RPC`, () => serfMembers(serf.rpc).length, (n) => n === 1, 15_000);
      g.agent(rx.name, rx.bind, rx.http, [
        '--join', serf.bind,
        '--tag', 'role=api',
        '--event-handler', `user:deploy,member-update=${script}`,
        '--event-handler', `query:load=printf 'load of %s: %s' "$SERF_SELF_NAME" "$(cat)"`,
        '--event-handler', `query:big=head -c 2000 /dev/zero | tr '\\0' x`,
        ...(encrypted ? ['--encrypt', key] : []),
      ]);
      await waitFor(`${serf.name} lists both alive`, () => serfMembers(serf.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 2, 30_000);
      await waitFor(`${rx.name} lists both alive`, () => httpMembers(rx.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 2, 30_000);

      // serf event → rxswim's user:deploy handler, once
      const ev = spawnSync('serf', ['event', `-rpc-addr=${serf.rpc}`, 'deploy', 'v1'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(ev.status, 0, `serf event failed: ${ev.stderr}`);
      const [user] = await waitRun('the user:deploy handler', (r) => r.env.SERF_EVENT === 'user', 0);
      assert.deepEqual([user!.env.SERF_USER_EVENT, user!.env.SERF_USER_LTIME, user!.stdin], ['deploy', '1', 'v1\n']);
      assert.deepEqual([user!.env.SERF_SELF_NAME, user!.env.SERF_SELF_ROLE, user!.env.SERF_TAG_ROLE], [rx.name, 'api', 'api']);

      // serf tags -set → rxswim's member-update handler with the new tags
      let mark = runs().length;
      const tags = spawnSync('serf', ['tags', `-rpc-addr=${serf.rpc}`, '-set', 'role=cache', '-set', 'v=2'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(tags.status, 0, `serf tags failed: ${tags.stderr}`);
      const [update] = await waitRun('the member-update handler', (r) => r.env.SERF_EVENT === 'member-update', mark);
      assert.equal(update!.stdin, `${serf.name}\t127.0.125.${20 + host}\tcache\trole=cache,v=2\n`);

      // serf query → rxswim's query:load handler's stdout is rxswim's response
      const q = serfQuery(serf.rpc, 'load', 'ping');
      assert.ok(q.Acks?.includes(rx.name), `rxswim acked: ${JSON.stringify(q)}`);
      assert.equal(q.Responses?.[rx.name], `load of ${rx.name}: ping`, JSON.stringify(q));
      // the text output, as an operator reads it
      const text = spawnSync('serf', ['query', `-rpc-addr=${serf.rpc}`, '-timeout=5s', 'load', 'again'], { encoding: 'utf8', timeout: 20_000 });
      assert.match(text.stdout, new RegExp(`Response from '${rx.name}': load of ${rx.name}: again`), text.stdout);
      assert.equal(await metricValue(rx.http, 'rxswim_event_handler_query_responses_total', { result: 'sent' }), 2);

      // over Serf's response limit: acked, not answered, counted
      const big = serfQuery(serf.rpc, 'big', '');
      assert.ok(big.Acks?.includes(rx.name), JSON.stringify(big));
      assert.equal(big.Responses?.[rx.name], undefined, JSON.stringify(big));
      await waitFor('the too-long answer counted', () => metricValue(rx.http, 'rxswim_event_handler_query_responses_total', { result: 'too_large' }), (v) => v === 1, 10_000);
      // a query no handler takes is acked and gets no answer
      const none = serfQuery(serf.rpc, 'nobody', '');
      assert.ok(none.Acks?.includes(rx.name));
      assert.equal(none.Responses?.[rx.name], undefined);

      // each ran once: no duplicate run of the user event
      await sleep(2000);
      assert.equal(runs().filter((r) => r.env.SERF_EVENT === 'user').length, 1);
      assert.equal(await metricValue(rx.http, 'rxswim_event_handler_runs_total', { result: 'ok' }), runs().length + 3, 'the recorder, load twice, big');
      if (encrypted) assert.equal((await metricValue(rx.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })) ?? 0, 0);
    } finally {
      await g.killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
