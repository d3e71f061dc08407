// Serf's force-leave and live tags across rxswim agents and real Serf 0.8 agents (issue
// 13), on 127.0.123.x (plain) and 127.0.124.x (encrypted):
// - `serf force-leave NODE` of a member killed with SIGKILL (its PID confirmed gone),
//   run after the rxswim agent's memberlist layer has forgotten it (GossipToTheDeadTime
//   2 s here; the case), makes rxswim list it `left` (a `left` event, and its
//   `member-leave` handler runs); with `-prune` rxswim no longer lists it (a `reaped`
//   event, and its `member-reap` handler runs);
// - `rxswim force-leave NODE` (the CLI against an rxswim agent) makes Serf list it
//   `left`, and `--prune` takes it out of `serf members`; our own name and an unknown
//   name are refused;
// - `rxswim tags --set/--delete` shows in `serf members -format=json`, and
//   `serf tags -set/-delete` in rxswim's members (an `updated` event);
// - an rxswim agent restarted under the same name after it left, and after Serf pruned
//   it, is listed alive by the Serf agents that had it as left: its join intent is newer
//   than the leave Serf still holds in its recent intents (without it, Serf lists the
//   new life as `leaving`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCli, CLI, hasSerf, httpMembers, kill, ProcGroup, serfMembers, type Proc } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

const KEY = spawnSync('serf', ['keygen'], { encoding: 'utf8', timeout: 5000 }).stdout?.trim() ?? '';

/**
 * The membership events an rxswim agent logged (`--log-format json`) about one member,
 * without suspicions and their refutations: on a loaded machine a member still starting
 * can miss a probe's deadline (suspected, then recovered), which is not what these tests
 * are about.
 */
function lifeOf(p: Proc, node: string): string[] {
  return eventsAbout(p, node).filter((e) => e !== 'suspected' && e !== 'recovered');
}

function eventsAbout(p: Proc, node: string): string[] {
  return p.lines.flatMap((l) => {
    try {
      const j = JSON.parse(l) as { event?: string; member?: { name?: string } };
      return j.member?.name === node && j.event ? [j.event] : [];
    } catch {
      return [];
    }
  });
}

/** SIGKILL, then prove the process is gone: its PID no longer exists */
async function killHard(p: Proc): Promise<void> {
  const pid = p.child.pid!;
  await kill(p, 'SIGKILL');
  assert.equal(p.child.signalCode, 'SIGKILL', `${p.name} died of SIGKILL`);
  assert.throws(() => process.kill(pid, 0), (e: NodeJS.ErrnoException) => e.code === 'ESRCH', `${p.name}'s PID ${pid} is gone`);
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 15_000 });
}

function serf(args: string[]) {
  return spawnSync('serf', args, { encoding: 'utf8', timeout: 15_000 });
}

const serfStatus = (rpc: string, node: string) => serfMembers(rpc).find((m) => m.name === node)?.status;
const sameTags = (t: Record<string, string> | undefined, want: Record<string, string>) => t !== undefined && JSON.stringify(Object.entries(t).sort()) === JSON.stringify(Object.entries(want).sort());
const rxState = async (http: string, node: string) => (await httpMembers(http))?.find((m) => m.name === node)?.state;

for (const encrypted of [false, true]) {
  const mode = encrypted ? 'encrypted' : 'plain';
  const net = encrypted ? '127.0.124' : '127.0.123';
  const enc = (flag: string) => (encrypted ? [flag, KEY] : []);
  const serfEnc = encrypted ? [`-encrypt=${KEY}`] : [];

  test(`serf force-leave (and -prune) of killed members: rxswim lists them left, then no longer (${mode})`, { timeout: 150_000, skip }, async () => {
    const g = new ProcGroup();
    const s1 = { name: 'serf-1', bind: `${net}.1:7946`, rpc: `${net}.1:7373` };
    const sv = { name: 'serf-victim', bind: `${net}.2:7946`, rpc: `${net}.2:7373` };
    const rx = { name: 'rx-1', bind: `${net}.11:7946`, http: `${net}.11:8946` };
    const rv = { name: 'rx-victim', bind: `${net}.12:7946`, http: `${net}.12:8946` };
    const dir = mkdtempSync(join(tmpdir(), 'rxswim-force-leave-'));
    const out = join(dir, 'handled.txt');
    const handler = join(dir, 'handler.sh');
    writeFileSync(handler, `#!/bin/sh\nwhile IFS='\t' read -r name rest; do printf '%s %s\\n' "$SERF_EVENT" "$name" >> '${out}'; done\n`);
    chmodSync(handler, 0o755);
    const handled = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
    try {
      g.serf(s1.name, s1.bind, s1.rpc, serfEnc);
      await waitFor('serf-1 RPC', () => serfMembers(s1.rpc).length, (n) => n === 1, 15_000);
      const victimSerf = g.serf(sv.name, sv.bind, sv.rpc, [`-join=${s1.bind}`, ...serfEnc]);
      // The observer forgets the dead at memberlist's level after 2 s, so the
      // force-leave below comes after that, as it usually does in production.
      const a = g.agent(rx.name, rx.bind, rx.http, ['--join', s1.bind, '--gossip-to-the-dead-time', '2s', '--event-handler', `member-leave,member-reap=${handler}`, ...enc('--encrypt')]);
      const victimRx = g.agent(rv.name, rv.bind, rv.http, ['--join', s1.bind, ...enc('--encrypt')]);
      await waitFor('serf-1 lists 4 alive', () => serfMembers(s1.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 4, 30_000);
      await waitFor('rx-1 lists 4 alive', () => httpMembers(rx.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 4, 30_000);

      await killHard(victimRx);
      await killHard(victimSerf);
      await waitFor('rx-1 lists both victims failed', async () => [await rxState(rx.http, rv.name), await rxState(rx.http, sv.name)], (s) => s.every((x) => x === 'dead'), 60_000);
      await waitFor('serf-1 lists both victims failed', () => [serfStatus(s1.rpc, rv.name), serfStatus(s1.rpc, sv.name)], (s) => s.every((x) => x === 'failed'), 60_000);
      await sleep(4000); // past rx-1's GossipToTheDeadTime, and a probe round for the reap

      const fl = serf(['force-leave', `-rpc-addr=${s1.rpc}`, rv.name]);
      assert.equal(fl.status, 0, `serf force-leave: ${fl.stderr}`);
      await waitFor(`rx-1 lists ${rv.name} left`, () => rxState(rx.http, rv.name), (s) => s === 'left', 20_000);
      assert.deepEqual(lifeOf(a, rv.name), ['joined', 'failed', 'left'], `rx-1's events about ${rv.name}: ${eventsAbout(a, rv.name).join(', ')}`);
      assert.equal(serfStatus(s1.rpc, rv.name), 'left');

      const pr = serf(['force-leave', '-prune', `-rpc-addr=${s1.rpc}`, sv.name]);
      assert.equal(pr.status, 0, `serf force-leave -prune: ${pr.stderr}`);
      await waitFor(`rx-1 no longer lists ${sv.name}`, async () => (await httpMembers(rx.http))?.map((m) => m.name), (ns) => ns !== undefined && !ns.includes(sv.name), 20_000);
      assert.deepEqual(lifeOf(a, sv.name), ['joined', 'failed', 'left', 'reaped'], `rx-1's events about ${sv.name}: ${eventsAbout(a, sv.name).join(', ')}`);
      assert.equal(serfStatus(s1.rpc, sv.name), undefined, 'serf-1 erased it too');
      // It stays gone: nothing gossiped afterwards brings it back.
      await sleep(3000);
      assert.equal(await rxState(rx.http, sv.name), undefined);
      assert.equal(await rxState(rx.http, rv.name), 'left');
      // The agent's handlers ran for both, as a Serf agent's would. Coalesced as Serf
      // coalesces member events (a member's latest in a burst), the pruned member's
      // leave may be folded into its reap.
      await waitFor('the member-reap handler ran', () => handled(), (l) => l.includes(`member-reap ${sv.name}`), 10_000);
      assert.deepEqual(handled().filter((l) => l !== `member-leave ${sv.name}`).sort(), [`member-leave ${rv.name}`, `member-reap ${sv.name}`]);
      console.log(`# ${mode}: serf force-leave → rx-1 lists ${rv.name} left; -prune → rx-1 no longer lists ${sv.name}`);
    } finally {
      await g.killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`rxswim force-leave (and --prune) of killed members: serf lists them left, then no longer (${mode})`, { timeout: 150_000, skip }, async () => {
    const g = new ProcGroup();
    const s1 = { name: 'serf-1', bind: `${net}.21:7946`, rpc: `${net}.21:7373` };
    const s2 = { name: 'serf-2', bind: `${net}.22:7946`, rpc: `${net}.22:7373` };
    const sv = { name: 'serf-victim', bind: `${net}.23:7946`, rpc: `${net}.23:7373` };
    const rx = { name: 'rx-1', bind: `${net}.31:7946`, http: `${net}.31:8946` };
    const rv = { name: 'rx-victim', bind: `${net}.32:7946`, http: `${net}.32:8946` };
    try {
      g.serf(s1.name, s1.bind, s1.rpc, serfEnc);
      await waitFor('serf-1 RPC', () => serfMembers(s1.rpc).length, (n) => n === 1, 15_000);
      g.serf(s2.name, s2.bind, s2.rpc, [`-join=${s1.bind}`, ...serfEnc]);
      const victimSerf = g.serf(sv.name, sv.bind, sv.rpc, [`-join=${s1.bind}`, ...serfEnc]);
      g.agent(rx.name, rx.bind, rx.http, ['--join', s1.bind, ...enc('--encrypt')]);
      const victimRx = g.agent(rv.name, rv.bind, rv.http, ['--join', s1.bind, ...enc('--encrypt')]);
      for (const s of [s1, s2]) await waitFor(`${s.name} lists 5 alive`, () => serfMembers(s.rpc), (ms) => ms.filter((m) => m.status === 'alive').length === 5, 30_000);
      await waitFor('rx-1 lists 5 alive', () => httpMembers(rx.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 5, 30_000);

      // Refused: our own name, and a name rx-1 does not list (Serf would send the intent anyway).
      const self = cli(['force-leave', '--http', rx.http, rx.name]);
      assert.equal(self.status, 1, self.stderr);
      assert.match(self.stderr, /409 forceLeave\(\): "rx-1" is this node; use leave\(\)/);
      const unknown = cli(['force-leave', '--http', rx.http, 'nobody']);
      assert.equal(unknown.status, 1, unknown.stderr);
      assert.match(unknown.stderr, /404 forceLeave\(\): "nobody" is not a member this node lists/);

      await killHard(victimSerf);
      await killHard(victimRx);
      for (const s of [s1, s2]) await waitFor(`${s.name} lists both victims failed`, () => [serfStatus(s.rpc, sv.name), serfStatus(s.rpc, rv.name)], (st) => st.every((x) => x === 'failed'), 60_000);
      await waitFor('rx-1 lists both victims failed', async () => [await rxState(rx.http, sv.name), await rxState(rx.http, rv.name)], (st) => st.every((x) => x === 'dead'), 60_000);

      const fl = cli(['force-leave', '--http', rx.http, sv.name]);
      assert.equal(fl.status, 0, fl.stderr);
      assert.match(fl.stdout, /^force-leave serf-victim sent \(ltime \d+\)\n$/);
      for (const s of [s1, s2]) await waitFor(`${s.name} lists ${sv.name} left`, () => serfStatus(s.rpc, sv.name), (st) => st === 'left', 20_000);
      assert.equal(await rxState(rx.http, sv.name), 'left');

      const pr = cli(['force-leave', '--http', rx.http, '--prune', rv.name]);
      assert.equal(pr.status, 0, pr.stderr);
      assert.match(pr.stdout, /^force-leave rx-victim \(prune\) sent \(ltime \d+\)\n$/);
      for (const s of [s1, s2]) await waitFor(`${s.name} no longer lists ${rv.name}`, () => serfMembers(s.rpc).map((m) => m.name), (ns) => ns.length > 0 && !ns.includes(rv.name), 20_000);
      assert.equal(await rxState(rx.http, rv.name), undefined);
      await sleep(3000);
      for (const s of [s1, s2]) {
        assert.equal(serfStatus(s.rpc, rv.name), undefined, `${s.name}: still gone`);
        assert.equal(serfStatus(s.rpc, sv.name), 'left', `${s.name}: still left`);
      }
      console.log(`# ${mode}: rxswim force-leave → serf lists ${sv.name} left; --prune → gone from serf members`);
    } finally {
      await g.killAll();
    }
  });
}

test('rxswim tags --set/--delete shows in serf members; serf tags -set/-delete in rxswim (plain)', { timeout: 90_000, skip }, async () => {
  const g = new ProcGroup();
  const s1 = { name: 'serf-tags', bind: '127.0.123.41:7946', rpc: '127.0.123.41:7373' };
  const rx = { name: 'rx-tags', bind: '127.0.123.42:7946', http: '127.0.123.42:8946' };
  try {
    g.serf(s1.name, s1.bind, s1.rpc, ['-tag', 'role=web']);
    await waitFor('serf RPC', () => serfMembers(s1.rpc).length, (n) => n === 1, 15_000);
    const a = g.agent(rx.name, rx.bind, rx.http, ['--join', s1.bind, '--tag', 'zone=a']);
    await waitFor('serf lists rx-tags with its tags', () => serfMembers(s1.rpc).find((m) => m.name === rx.name)?.tags, (t) => t?.zone === 'a', 30_000);

    const set = cli(['tags', '--http', rx.http, '--set', 'version=2', '--set', 'zone=b', '--delete', 'absent']);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(set.stdout, 'tags: ok\nversion=2\nzone=b\n');
    await waitFor('serf members shows the new tags', () => serfMembers(s1.rpc).find((m) => m.name === rx.name)?.tags, (t) => sameTags(t, { version: '2', zone: 'b' }), 15_000);
    const del = cli(['tags', '--http', rx.http, '--delete', 'version']);
    assert.equal(del.status, 0, del.stderr);
    await waitFor('serf members shows the tag deleted', () => serfMembers(s1.rpc).find((m) => m.name === rx.name)?.tags, (t) => sameTags(t, { zone: 'b' }), 15_000);
    const show = cli(['tags', '--http', rx.http, '--json']);
    assert.deepEqual(JSON.parse(show.stdout), { zone: 'b' });
    // Serf's limit: the encoded tags must fit memberlist's 512 bytes of meta.
    const big = cli(['tags', '--http', rx.http, '--set', `big=${'x'.repeat(600)}`]);
    assert.equal(big.status, 1);
    assert.match(big.stderr, /400 tags: encoded tags are \d+ bytes, at most 512 allowed/);
    const bad = cli(['tags', '--http', rx.http, '--set', 'novalue']);
    assert.equal(bad.status, 2, 'a malformed --set is a usage error');
    assert.match(bad.stderr, /--set: expected KEY=VALUE/);

    const st = serf(['tags', `-rpc-addr=${s1.rpc}`, '-set', 'color=blue', '-delete', 'role']);
    assert.equal(st.status, 0, st.stderr);
    await waitFor("rx-tags lists serf's new tags", async () => (await httpMembers(rx.http))?.find((m) => m.name === s1.name)?.tags, (t) => sameTags(t, { color: 'blue' }), 15_000);
    await waitFor('rx-tags logged an updated event for serf-tags', () => eventsAbout(a, s1.name), (e) => e.includes('updated'), 5000);
    console.log('# rxswim tags → serf members; serf tags → rxswim members (updated)');
  } finally {
    await g.killAll();
  }
});

test('an rxswim agent restarted under its name after it left (and after -prune) is alive, not left or leaving, at the Serf agents (plain)', { timeout: 180_000, skip }, async () => {
  const g = new ProcGroup();
  const serfs = [1, 2].map((i) => ({ name: `serf-r${i}`, bind: `127.0.123.5${i}:7946`, rpc: `127.0.123.5${i}:7373` }));
  const rx = { name: 'rx-obs', bind: '127.0.123.61:7946', http: '127.0.123.61:8946' };
  const x = { name: 'rx-again', bind: '127.0.123.62:7946', http: '127.0.123.62:8946' };
  const stays = async (what: string) => {
    for (const s of serfs) await waitFor(`${what}: ${s.name} lists ${x.name} alive`, () => serfStatus(s.rpc, x.name), (st) => st === 'alive', 30_000);
    // and it stays so: no old leave catches up with it
    await sleep(4000);
    for (const s of serfs) assert.equal(serfStatus(s.rpc, x.name), 'alive', `${what}: ${s.name} still lists it alive`);
  };
  try {
    g.serf(serfs[0]!.name, serfs[0]!.bind, serfs[0]!.rpc);
    await waitFor('serf-r1 RPC', () => serfMembers(serfs[0]!.rpc).length, (n) => n === 1, 15_000);
    g.serf(serfs[1]!.name, serfs[1]!.bind, serfs[1]!.rpc, [`-join=${serfs[0]!.bind}`]);
    g.agent(rx.name, rx.bind, rx.http, ['--join', serfs[0]!.bind]);
    let agent = g.agent(x.name, x.bind, x.http, ['--join', serfs[1]!.bind]);
    await stays('first life');

    // 1. It leaves; the Serf agents list it left; it comes back under the same name.
    assert.equal(await kill(agent, 'SIGTERM'), 0);
    for (const s of serfs) await waitFor(`${s.name} lists ${x.name} left`, () => serfStatus(s.rpc, x.name), (st) => st === 'left', 20_000);
    agent = g.agent(x.name, x.bind, x.http, ['--join', serfs[0]!.bind]);
    await stays('after a leave');

    // 2. It leaves, and is pruned (`rxswim force-leave --prune`): the Serf agents erase it
    // but keep the leave among their recent intents, and take a node of that name that
    // joins within RecentIntentTimeout for `leaving` until a newer join intent says otherwise.
    assert.equal(await kill(agent, 'SIGTERM'), 0);
    for (const s of serfs) await waitFor(`${s.name} lists ${x.name} left`, () => serfStatus(s.rpc, x.name), (st) => st === 'left', 20_000);
    const pr = cli(['force-leave', '--http', rx.http, '--prune', x.name]);
    assert.equal(pr.status, 0, pr.stderr);
    for (const s of serfs) await waitFor(`${s.name} erased ${x.name}`, () => serfMembers(s.rpc).map((m) => m.name), (ns) => ns.length > 0 && !ns.includes(x.name), 20_000);
    await sleep(2000); // the prune's copies go round: now a recent intent at each Serf agent
    agent = g.agent(x.name, x.bind, x.http, ['--join', serfs[1]!.bind]);
    await stays('after a leave and a prune');
    await waitFor(`${rx.name} lists ${x.name} alive`, () => rxState(rx.http, x.name), (st) => st === 'alive', 20_000);
    console.log(`# ${x.name} restarted twice under its name: alive at both Serf agents each time`);
  } finally {
    await g.killAll();
  }
});
