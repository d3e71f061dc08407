// Serf queries across rxswim and a real Serf agent, with encryption off and on:
// - `serf query` (the serf CLI against the Serf agent's RPC) gets the ack and the
//   response of an in-process rxswim node subscribed to serfQueries$, and `-node` /
//   `-tag` filters keep it in or out as they say; `-relay-factor` makes Serf relay
//   through rxswim and rxswim answer through Serf, each reply still counted once;
// - serfQuery() on the rxswim node gets the ack and the response of the Serf agent,
//   whose `-event-handler=query:NAME=<script>` echoes the payload;
// - `rxswim query NAME` (the CLI against an rxswim agent) gets the Serf agent's ack
//   and response, and the agent acks a query without answering it;
// - `_serf_ping` from Serf is acked by the rxswim node, not delivered; `_serf_conflict`
//   from rxswim is answered by the Serf agent with the member it knows by that name.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import { createNode } from '../../src/node.js';
import { encodeConflictResponse } from '../../src/serf/query-messages.js';
import { decodeMsgpack, type MsgpackMap } from '../../src/wire/msgpack.js';
import type { SerfQueryReply } from '../../src/api.js';
import { builtCli, CLI, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

interface SerfQueryJson {
  Acks: string[] | null;
  Responses: Record<string, string> | null;
}
/** asynchronous: the in-process rxswim node must keep answering while serf waits */
async function serfQuery(rpc: string, args: string[]): Promise<SerfQueryJson> {
  const r = await run('serf', ['query', `-rpc-addr=${rpc}`, '-format=json', '-timeout=4s', ...args]);
  assert.equal(r.status, 0, `serf query ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as SerfQueryJson;
}
function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}
const sorted = (q: SerfQueryJson) => ({ acks: [...(q.Acks ?? [])].sort(), responses: q.Responses ?? {} });

for (const encrypted of [false, true]) {
  const mode = encrypted ? 'encrypted' : 'plain';
  test(`Serf queries both ways between serf and rxswim (${mode})`, { timeout: 120_000, skip }, async () => {
    const h = encrypted ? 2 : 1;
    const serf = { name: `serf-${mode}`, bind: `127.0.121.${10 + h}:7946`, rpc: `127.0.121.${10 + h}:7373` };
    const rxName = `rx-${mode}`;
    const agent = { name: `rxa-${mode}`, bind: `127.0.121.${30 + h}:7946`, http: `127.0.121.${30 + h}:8946` };
    const dir = mkdtempSync(join(tmpdir(), 'rxswim-serf-queries-'));
    const handler = join(dir, 'echo.sh');
    // Serf's query handler: whatever it prints is the response.
    writeFileSync(handler, `#!/bin/sh\nprintf 'serf says %s' "$(cat)"\n`);
    chmodSync(handler, 0o755);
    const key = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
    const g = new ProcGroup();
    const node = createNode({ name: rxName, bind: `127.0.121.${20 + h}:0`, profile: 'lan', tags: { role: 'web', dc: 'east' }, ...(encrypted ? { keyring: [key] } : {}) });
    const heard: string[] = [];
    node.serfQueries$.subscribe((q) => {
      heard.push(`${q.name}:${text(q.payload)}:${q.from}`);
      void q.respond(`rx says ${text(q.payload)}`);
    });
    try {
      const s = g.serf(serf.name, serf.bind, serf.rpc, ['-tag', 'role=db', `-event-handler=query:echo=${handler}`, ...(encrypted ? [`-encrypt=${key}`] : [])]);
      await waitFor(`${serf.name} RPC`, () => serfMembers(serf.rpc).length, (n) => n === 1, 15_000);
      await node.start();
      await node.join([serf.bind]);
      await waitFor(`${serf.name} lists ${rxName} alive`, () => serfMembers(serf.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 2, 30_000);

      // serf query → the rxswim node acks and responds (Serf's agent acks too; it has no handler for `load`).
      const all = sorted(await serfQuery(serf.rpc, ['load', '1m']));
      assert.deepEqual(all.acks, [rxName, serf.name].sort(), `acks; serf log:\n${s.lines.slice(-15).join('\n')}`);
      assert.deepEqual(all.responses, { [rxName]: 'rx says 1m' });
      assert.deepEqual(heard, [`load:1m:${serf.name}`]);

      // Filters as Serf sends them: by node name, by tag regexp.
      assert.deepEqual(sorted(await serfQuery(serf.rpc, [`-node=${rxName}`, 'load', 'n'])), { acks: [rxName], responses: { [rxName]: 'rx says n' } });
      assert.deepEqual(sorted(await serfQuery(serf.rpc, [`-node=${serf.name}`, 'load', 'n'])), { acks: [serf.name], responses: {} });
      assert.deepEqual(sorted(await serfQuery(serf.rpc, ['-tag', 'role=^w.b$', 'load', 't'])), { acks: [rxName], responses: { [rxName]: 'rx says t' } });
      assert.deepEqual(sorted(await serfQuery(serf.rpc, ['-tag', 'role=^db', '-tag', 'dc=east', 'load', 't'])), { acks: [], responses: {} });
      // An internal query (Serf's ping): acked by the rxswim node, never delivered to the application.
      assert.deepEqual(sorted(await serfQuery(serf.rpc, [`-node=${rxName}`, '_serf_ping'])).acks, [rxName]);
      assert.equal(heard.filter((x) => x.startsWith('_serf')).length, 0);
      // (`_serf_conflict` cannot be asked from Serf's CLI, which allows only `_serf_ping`; rxswim asks it below.)
      // Relays: with 2 members a relay factor of 1 goes through the other one (Serf through us, we through Serf).
      assert.deepEqual(sorted(await serfQuery(serf.rpc, ['-relay-factor=1', 'load', 'r'])), { acks: [rxName, serf.name].sort(), responses: { [rxName]: 'rx says r' } });
      const relayed = (await node.metrics.registry.getSingleMetric('rxswim_serf_query_replies_sent_total')!.get()).values.find((v) => v.labels.type === 'relay')?.value ?? 0;
      assert.equal(relayed, 2, 'our ack and response, each also relayed through the Serf agent');

      // serfQuery() from rxswim: the Serf agent's handler answers, and so do we (our own query).
      const replies: SerfQueryReply[] = await lastValueFrom(node.serfQuery('echo', 'hi', { timeoutMs: 4000, relayFactor: 1 }).pipe(toArray()));
      const got = replies.map((r) => (r.type === 'ack' ? `ack:${r.from}` : `response:${r.from}:${text(r.payload)}`)).sort();
      assert.deepEqual(got, [`ack:${rxName}`, `ack:${serf.name}`, `response:${rxName}:rx says hi`, `response:${serf.name}:serf says hi`].sort(), `serf log:\n${s.lines.slice(-15).join('\n')}`);
      // The relayed copy of Serf's answers came through too, and was dropped as a duplicate.
      await waitFor('relayed duplicates counted', async () => (await node.metrics.registry.getSingleMetric('rxswim_serf_queries_ignored_total')!.get()).values.find((v) => v.labels.reason === 'duplicate_reply')?.value ?? 0, (v) => v >= 1, 5000);

      // Serf's conflict check, asked by rxswim: the Serf agent answers with the member it knows
      // by our name (messageConflictResponse, type 6 then serf.Member); we, asked about
      // ourselves, do not answer, as Serf does not.
      const conflict = await lastValueFrom(node.serfQuery('_serf_conflict', rxName, { timeoutMs: 3000 }).pipe(toArray()));
      assert.deepEqual(conflict.filter((r) => r.type === 'ack').map((r) => r.from).sort(), [rxName, serf.name].sort());
      const answers = conflict.filter((r): r is Extract<SerfQueryReply, { type: 'response' }> => r.type === 'response');
      assert.deepEqual(answers.map((r) => r.from), [serf.name]);
      assert.equal(answers[0]!.payload[0], 6);
      const m = decodeMsgpack(answers[0]!.payload.subarray(1)).value as MsgpackMap;
      assert.equal(text(m.get('Name') as Uint8Array), rxName);
      assert.equal(m.get('Port'), node.address!.port);
      assert.equal(m.get('Status'), 1, 'StatusAlive');
      const tags = m.get('Tags') as MsgpackMap;
      assert.deepEqual(Object.fromEntries(tags.entries.map(([k, v]) => [text(k as Uint8Array), text(v as Uint8Array)])), { role: 'web', dc: 'east' });
      // our encoder writes the same fields (test/unit/serf-query-messages.test.ts checks its bytes)
      const ours = decodeMsgpack(encodeConflictResponse({ name: rxName, addr: new Uint8Array(4), port: 1, tags: {}, status: 1, vsn: [] }).subarray(1)).value as MsgpackMap;
      assert.deepEqual(ours.entries.map(([k]) => text(k as Uint8Array)).sort(), m.entries.map(([k]) => text(k as Uint8Array)).sort());

      // rxswim query (CLI → rxswim agent HTTP) → the Serf agent's handler; the agent acks, does not respond.
      g.agent(agent.name, agent.bind, agent.http, ['--join', serf.bind, ...(encrypted ? ['--encrypt', key] : [])]);
      await waitFor(`${agent.name} lists 3 alive`, () => httpMembers(agent.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 3, 30_000);
      const cli = await run(process.execPath, [CLI, 'query', '--http', agent.http, '--timeout', '4s', '--node', serf.name, '--node', agent.name, 'echo', 'yo']);
      assert.equal(cli.status, 0, `rxswim query failed: ${cli.stderr}`);
      assert.match(cli.stdout, new RegExp(`Ack from '${serf.name}'`));
      assert.match(cli.stdout, new RegExp(`Ack from '${agent.name}'`));
      assert.match(cli.stdout, new RegExp(`Response from '${serf.name}': serf says yo`));
      assert.match(cli.stdout, /Total Acks: 2\n/);
      assert.match(cli.stdout, /Total Responses: 1\n/);
      const json = await run(process.execPath, [CLI, 'query', '--http', agent.http, '--timeout', '4s', '--tag', 'role=^db$', '--json', 'echo', 'j']);
      assert.equal(json.status, 0, json.stderr);
      const summary = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { acks: string[]; responses: Record<string, string> };
      assert.deepEqual(summary.acks, [serf.name]);
      assert.deepEqual(summary.responses, { [serf.name]: 'serf says j' });
      // serf query reaches the agent too: its ack, no response (the agent answers only through handlers).
      assert.deepEqual(sorted(await serfQuery(serf.rpc, [`-node=${agent.name}`, 'load', 'a'])), { acks: [agent.name], responses: {} });
      assert.equal(await metricValue(agent.http, 'rxswim_serf_queries_sent_total'), 2);
      if (encrypted) assert.equal((await metricValue(agent.http, 'rxswim_packets_dropped_total', { reason: 'decrypt_failed' })) ?? 0, 0);
      console.log(`# ${mode}: serf query ↔ rxswim node and agent: acks, responses, filters, relays`);
    } finally {
      await node.stop();
      await g.killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
