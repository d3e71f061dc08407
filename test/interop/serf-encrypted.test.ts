// An encrypted mixed cluster: two Debian `serf` agents (`-encrypt`) and two rxswim
// agents (`--encrypt`) with the same AES-256 key, tags both ways; a third rxswim
// agent with the wrong key is refused; kill -9 of an rxswim agent is seen as failed
// by Serf.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { builtCli, hasSerf, httpMembers, kill, metricValue, ProcGroup, serfMembers, type Proc } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SERF = [
  { name: 'serf-1', bind: '127.0.34.1:7946', rpc: '127.0.34.1:7373' },
  { name: 'serf-2', bind: '127.0.34.2:7946', rpc: '127.0.34.2:7373' },
];
const RX = [0, 1].map((i) => ({ name: `rx-${i + 1}`, bind: `127.0.34.${11 + i}:7946`, http: `127.0.34.${11 + i}:8946` }));
const BAD = { name: 'rx-badkey', bind: '127.0.34.21:7946', http: '127.0.34.21:8946' };
const RX_TAGS = { role: 'web', zone: 'a' };
const SERF_TAGS = { role: 'db' };
const DECRYPT_FAILED = { reason: 'decrypt_failed' };

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

/** the exit code of a process that is expected to exit on its own */
function exitCode(p: Proc, timeoutMs: number): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve(p.child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${p.name} still running after ${timeoutMs} ms; output:\n${p.lines.join('\n')}`)), timeoutMs);
    p.child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

function jsonLines(p: Proc): Array<Record<string, unknown>> {
  return p.lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

test('encrypted Serf + rxswim cluster: tags both ways, a wrong key is refused, kill -9 is seen as failed', { timeout: 180_000, skip }, async () => {
  const g = new ProcGroup();
  try {
    const keygen = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 });
    assert.equal(keygen.status, 0, `serf keygen failed: ${keygen.stderr}`);
    const key = keygen.stdout.trim();
    assert.equal(Buffer.from(key, 'base64').length, 32, 'serf keygen gives an AES-256 key');
    const wrongKey = randomBytes(32).toString('base64');

    const serfArgs = [`-encrypt=${key}`, ...Object.entries(SERF_TAGS).flatMap(([k, v]) => ['-tag', `${k}=${v}`])];
    const rxArgs = ['--encrypt', key, ...Object.entries(RX_TAGS).flatMap(([k, v]) => ['--tag', `${k}=${v}`])];

    g.serf(SERF[0]!.name, SERF[0]!.bind, SERF[0]!.rpc, serfArgs);
    await waitFor('serf-1 RPC', () => serfMembers(SERF[0]!.rpc).length, (n) => n === 1, 15_000);
    g.serf(SERF[1]!.name, SERF[1]!.bind, SERF[1]!.rpc, [...serfArgs, `-join=${SERF[0]!.bind}`]);
    const rx = RX.map((r, i) => g.agent(r.name, r.bind, r.http, [...rxArgs, '--join', SERF[i]!.bind]));
    const all = [...SERF.map((s) => s.name), ...RX.map((r) => r.name)].sort();

    // Serf sees both rxswim nodes alive, with the tags given on rxswim's command line.
    for (const s of SERF) {
      await waitFor(`${s.name} lists all 4 alive`, () => serfMembers(s.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 4, 30_000);
      const ms = serfMembers(s.rpc);
      assert.deepEqual(ms.map((m) => m.name).sort(), all);
      for (const r of RX) assert.deepEqual(ms.find((m) => m.name === r.name)?.tags, RX_TAGS, `${s.name}'s view of ${r.name}'s tags`);
    }
    // rxswim sees both Serf nodes alive with role=db, and the other rxswim node with its tags.
    for (const r of RX) {
      await waitFor(`${r.name} lists all 4 alive`, () => httpMembers(r.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 4, 30_000);
      const ms = (await httpMembers(r.http))!;
      assert.deepEqual(ms.map((m) => m.name).sort(), all);
      for (const s of SERF) assert.deepEqual(ms.find((m) => m.name === s.name)?.tags, SERF_TAGS, `${r.name}'s view of ${s.name}'s tags`);
      for (const o of RX) assert.deepEqual(ms.find((m) => m.name === o.name)?.tags, RX_TAGS, `${r.name}'s view of ${o.name}'s tags`);
    }
    // The agents really run encrypted, and nothing has failed to decrypt so far.
    for (const p of rx) {
      assert.ok(jsonLines(p).some((l) => l.event === 'started' && l.encrypted === true), `${p.name} logs encrypted: true`);
    }
    for (const r of RX) assert.equal(await metricValue(r.http, 'rxswim_packets_dropped_total', DECRYPT_FAILED), 0, `${r.name} decrypt_failed before the wrong key`);

    // An rxswim agent with the wrong key joins via rx-1 and serf-1.
    //
    // What it sends (src/node.ts): start() sends nothing by itself — the prober and the
    // gossip loop pick targets from the member table, which holds only the node itself
    // until a push-pull merges a remote state. join() push-pulls each seed over TCP
    // (pushPull → dial + writeStream), so the only traffic is one encrypted TCP stream
    // per seed and no UDP at all. Each seed fails to decrypt that stream (see below for
    // what it answers), every seed has failed, so join() rejects with a JoinError and
    // the agent exits 2 (src/cli/agent.ts, src/cli/main.ts).
    // On rx-1 the refused stream is counted once in
    // rxswim_packets_dropped_total{reason="decrypt_failed"} (onConnection's error path;
    // the metric has no transport label, so "exactly +1" together with the
    // "dropped stream" log line is what pins it to the TCP path) — the UDP path
    // (onPacket) sees nothing from this node.
    const before = await metricValue(RX[0]!.http, 'rxswim_packets_dropped_total', DECRYPT_FAILED);
    const bad = g.agent(BAD.name, BAD.bind, BAD.http, ['--encrypt', wrongKey, '--tag', 'role=intruder', '--join', RX[0]!.bind, '--join', SERF[0]!.bind]);
    assert.equal(await exitCode(bad, 30_000), 2, `wrong-key agent exits 2; output:\n${bad.lines.join('\n')}`);
    const badLog = jsonLines(bad);
    const joinFailed = badLog.find((l) => l.event === 'join_failed');
    assert.ok(joinFailed, `wrong-key agent logs join_failed; output:\n${bad.lines.join('\n')}`);
    assert.match(String(joinFailed.err), /join failed for every seed/);
    // Why each seed failed, as the joiner sees it: rx-1 closes the stream without a word;
    // Serf (memberlist's handleConn) answers with an error message encrypted under the
    // cluster key, which the joiner in turn cannot decrypt.
    const seedReasons = Object.fromEntries(
      badLog.filter((l) => l.msg === 'join: seed failed').map((l) => [String(l.seed), String(l.reason)]),
    );
    assert.match(seedReasons[RX[0]!.bind] ?? '', /stream closed after 0 bytes/);
    assert.match(seedReasons[SERF[0]!.bind] ?? '', /no installed key could decrypt/);

    await waitFor(
      'rx-1 to count the refused stream as decrypt_failed',
      () => metricValue(RX[0]!.http, 'rxswim_packets_dropped_total', DECRYPT_FAILED),
      (v) => v !== undefined && v >= before! + 1,
      5_000,
    );
    assert.ok(
      jsonLines(rx[0]!).some((l) => l.msg === 'dropped stream' && /could decrypt/i.test(String(l.err))),
      `rx-1 logs the dropped stream with the decryption error; output:\n${rx[0]!.lines.slice(-20).join('\n')}`,
    );
    // Serf, too, refuses the stream.
    await waitFor(
      'serf-1 to log the decryption failure',
      () => g.procs[0]!.lines,
      (ls) => ls.some((l) => /memberlist: failed to receive: No installed keys could decrypt the message/.test(l)),
      5_000,
    );

    // Give gossip a few rounds: the wrong-key node appears nowhere, and nothing else changed.
    await sleep(3000);
    assert.equal(await metricValue(RX[0]!.http, 'rxswim_packets_dropped_total', DECRYPT_FAILED), before! + 1, 'exactly one refused stream on rx-1');
    assert.equal(await metricValue(RX[1]!.http, 'rxswim_packets_dropped_total', DECRYPT_FAILED), 0, 'rx-2 was not contacted');
    for (const s of SERF) {
      const ms = serfMembers(s.rpc);
      assert.deepEqual(ms.map((m) => m.name).sort(), all, `${s.name} never lists ${BAD.name}`);
      assert.ok(ms.every((m) => m.status === 'alive'));
    }
    for (const r of RX) {
      const ms = (await httpMembers(r.http))!;
      assert.deepEqual(ms.map((m) => m.name).sort(), all, `${r.name} never lists ${BAD.name}`);
      assert.ok(ms.every((m) => m.state === 'alive'));
    }

    // kill -9 of an rxswim agent: both Serf agents report it failed (and rx-1 marks it dead).
    await kill(rx[1]!, 'SIGKILL');
    const took = await waitFor(
      'both Serf agents to report rx-2 failed',
      () => SERF.map((s) => serfMembers(s.rpc).find((m) => m.name === 'rx-2')?.status),
      (st) => st.every((x) => x === 'failed'),
      60_000,
    );
    console.log(`# Serf reported the killed rxswim agent failed after ${took} ms`);
    await waitFor('rx-1 to mark rx-2 dead', async () => (await httpMembers(RX[0]!.http))?.find((m) => m.name === 'rx-2')?.state, (s) => s === 'dead', 30_000);
  } finally {
    await g.killAll();
  }
});
