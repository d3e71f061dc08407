// rxswim against a real Go program on HashiCorp memberlist 0.2.x (Debian's
// golang-github-hashicorp-memberlist-dev, built here from test/go/memberlist-peer):
// a plain memberlist application, no Serf, no rxswim envelope. On loopback
// 127.0.119.0/24, with encryption off and on (memberlist's SecretKey, rxswim's
// keyring): both see each other alive with the other's NodeMeta; raw user messages
// cross unchanged both ways, best effort and reliable; a broadcast each way (the Go
// side's TransmitLimitedQueue through GetBroadcasts, ours through broadcastRaw); the
// delegate's LocalState/MergeRemoteState bytes cross unchanged both ways on join and
// on periodic push-pull, and once we have an envelope broadcast in flight our state is
// wrapped (the documented caveat); a Go peer killed is seen failed; our leave is seen
// by memberlist as a leave (StateLeft), not a failure.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { MemberEvent } from '../../src/api.js';
import type { RawMessage } from '../../src/messaging/raw-messages.js';
import { createNode, type RxSwimNode } from '../../src/node.js';
import { kill, ProcGroup, type Proc } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const GOCODE = '/usr/share/gocode';
const MEMBERLIST_SRC = join(GOCODE, 'src/github.com/hashicorp/memberlist');

function skipReason(): string | false {
  if (spawnSync('go', ['version']).status !== 0) return '`go` is not installed (apt-get install -y golang-go; .ci/run does it)';
  if (!existsSync(MEMBERLIST_SRC)) return `no memberlist sources in ${MEMBERLIST_SRC} (apt-get install -y golang-github-hashicorp-memberlist-dev; .ci/run does it)`;
  return false;
}
const skip = skipReason();

/** the Go peer, built once: GOPATH mode against Debian's sources, no module proxy */
let built: string | undefined;
function buildPeer(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-go-'));
  const out = join(dir, 'peer');
  const r = spawnSync('go', ['build', '-o', out, './test/go/memberlist-peer'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: `${dir}:${GOCODE}`, GOCACHE: join(tmpdir(), 'rxswim-go-build-cache'), GOFLAGS: '' },
  });
  assert.equal(r.status, 0, `go build failed:\n${r.stderr}${r.error ?? ''}`);
  return (built = out);
}

interface GoPeer {
  proc: Proc;
  /** the JSON lines it printed so far */
  events(): Array<Record<string, any>>;
  command(line: string): void;
}

function startGo(g: ProcGroup, bin: string, name: string, args: string[]): GoPeer {
  const child = spawn(bin, ['-name', name, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const proc: Proc = { name, child, lines: [] };
  const json: Array<Record<string, any>> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    proc.lines.push(l);
    try {
      json.push(JSON.parse(l) as Record<string, any>);
    } catch {
      /* not ours */
    }
  });
  createInterface({ input: child.stderr! }).on('line', (l) => proc.lines.push(l));
  g.procs.push(proc);
  return { proc, events: () => json, command: (line) => child.stdin!.write(`${line}\n`) };
}

const hex = (b: Uint8Array | string) => Buffer.from(b).toString('hex');
const RX_META = 'rx-meta:role=web';
const GO_META = 'go-meta:role=db';
// Neither begins with 0xf5 (our envelope) nor 2 (Serf's state): plain application bytes.
const RX_STATE = Buffer.from('rx-state\x00\x01\xff');
const GO_STATE = Buffer.from('go-state\x00\x02\xfe');

async function dropped(node: RxSwimNode): Promise<number> {
  const { values } = await node.metrics.registry.getSingleMetric('rxswim_packets_dropped_total')!.get();
  return values.reduce((s, v) => s + v.value, 0);
}

async function rawCount(node: RxSwimNode, via: 'udp' | 'tcp'): Promise<number> {
  const { values } = await node.metrics.registry.getSingleMetric('rxswim_raw_messages_received_total')!.get();
  return values.find((v) => v.labels.via === via)?.value ?? 0;
}

for (const encrypted of [false, true]) {
  const net = encrypted ? 20 : 0;
  const ip = (i: number) => `127.0.119.${net + i}`;
  test(`Go memberlist 0.2 peer ⇄ rxswim node, encryption ${encrypted ? 'on' : 'off'}: meta, raw messages, broadcasts, delegate state, failure, leave`, { timeout: 240_000, skip }, async () => {
    const bin = buildPeer();
    const g = new ProcGroup();
    const key = randomBytes(32).toString('base64');
    const rawIn: RawMessage[] = [];
    const rxEvents: MemberEvent[] = [];
    const merged: Array<{ state: string; join: boolean }> = [];
    const asked: boolean[] = [];
    const node = createNode({
      name: 'rx',
      bind: `${ip(1)}:7946`,
      profile: 'local',
      config: { pushPullInterval: 2000 },
      meta: Buffer.from(RX_META),
      // memberlist's own default: a plain application advertises delegate versions
      // 0,0,0, and memberlist refuses a push-pull with anyone outside that.
      delegateVersion: [0, 0, 0],
      // no Serf here: our leave must not send Serf's leave intent to a plain application
      serfIntents: false,
      ...(encrypted ? { keyring: [key] } : {}),
      delegate: {
        localState: (j) => {
          asked.push(j);
          return RX_STATE;
        },
        mergeRemoteState: (s, j) => merged.push({ state: hex(s), join: j }),
      },
    });
    const subs = [node.rawMessages$.subscribe((m) => rawIn.push(m)), node.events$.subscribe((e) => rxEvents.push(e))];
    try {
      await node.start();
      const goArgs = (i: number) => [
        '-bind', ip(i), '-port', '7946', '-join', `${ip(1)}:7946`, '-meta', GO_META, '-state', hex(GO_STATE), '-push-pull', '2s',
        ...(encrypted ? ['-key', key] : []),
      ];
      let droppedBefore = 0;
      if (encrypted) {
        // The key is really in use: a Go peer with another key cannot join, and we count why.
        const bad = startGo(g, bin, 'go-badkey', ['-bind', ip(4), '-port', '7946', '-join', `${ip(1)}:7946`, '-key', randomBytes(32).toString('base64')]);
        await waitFor('go-badkey tried to join', () => bad.events().find((e) => e.event === 'joined'), (e) => e !== undefined, 20_000);
        assert.equal(bad.events().find((e) => e.event === 'joined')!.count, 0, 'a wrong key cannot join');
        await kill(bad.proc, 'SIGKILL');
        droppedBefore = await dropped(node);
        assert.ok(droppedBefore > 0, 'the wrong-key push-pull was dropped and counted');
        assert.equal(node.member('go-badkey'), undefined);
      }
      const go = startGo(g, bin, 'go-1', goArgs(2));
      const go2 = startGo(g, bin, 'go-2', goArgs(3));

      // Each side sees the other alive, with the other's NodeMeta byte for byte.
      await waitFor('rx sees go-1 and go-2 alive', () => node.members().filter((m) => m.state === 'alive').map((m) => m.name).sort(), (ns) => ns.join() === 'go-1,go-2,rx', 30_000);
      for (const n of ['go-1', 'go-2']) assert.equal(Buffer.from(node.member(n)!.meta).toString(), GO_META, `rx's view of ${n}'s meta`);
      const goMembers = () => [...go.events()].reverse().find((e) => e.event === 'members')?.members as Array<Record<string, any>> | undefined;
      await waitFor('go-1 lists rx, go-1, go-2', () => goMembers()?.map((m) => m.name).sort().join(), (s) => s === 'go-1,go-2,rx', 30_000);
      const rxSeen = goMembers()!.find((m) => m.name === 'rx')!;
      assert.equal(rxSeen.meta, hex(RX_META), "go-1's view of our NodeMeta");
      assert.equal(`${rxSeen.addr}:${rxSeen.port}`, `${ip(1)}:7946`);

      // Delegate state on join, both ways, unchanged: go-1's Join push-pulls with us.
      assert.ok(merged.some((m) => m.join && m.state === hex(GO_STATE)), `rx merged go's state on join: ${JSON.stringify(merged)}`);
      await waitFor("go-1 merged rx's state on join", () => go.events().some((e) => e.event === 'merge' && e.join === true && e.hex === hex(RX_STATE)), Boolean, 10_000);
      assert.ok(asked.includes(true), 'our LocalState was asked for a join');
      // And a join we start: rx → go-1, the same bytes each way.
      const goJoinMerges = () => go.events().filter((e) => e.event === 'merge' && e.join === true && e.hex === hex(RX_STATE)).length;
      const rxJoinMerges = () => merged.filter((m) => m.join && m.state === hex(GO_STATE)).length;
      const [goBefore, rxBefore] = [goJoinMerges(), rxJoinMerges()];
      assert.equal(await node.join([`${ip(2)}:7946`]), 1);
      assert.equal(rxJoinMerges(), rxBefore + 1, "we merged go-1's answer to our join");
      await waitFor("go-1 merged our state on our join", goJoinMerges, (n) => n === goBefore + 1, 10_000);

      // Raw user messages, rx → go-1: one datagram, one TCP userMsg stream.
      const toGo = { udp: randomBytes(40), tcp: randomBytes(3000) };
      await node.sendRaw('go-1', toGo.udp);
      await node.sendRaw('go-1', toGo.tcp, { reliable: true });
      const goMsgs = () => go.events().filter((e) => e.event === 'msg').map((e) => e.hex as string);
      await waitFor('go-1 got both raw messages unchanged', goMsgs, (ms) => ms.includes(hex(toGo.udp)) && ms.includes(hex(toGo.tcp)), 10_000);

      // go-1 → rx with each of memberlist's four calls.
      const fromGo = { besteffort: randomBytes(30), udp: randomBytes(31), reliable: randomBytes(2500), tcp: randomBytes(33) };
      for (const [mode, b] of Object.entries(fromGo)) go.command(`send rx ${hex(b)} ${mode}`);
      const got = (b: Uint8Array) => rawIn.find((m) => hex(m.payload) === hex(b));
      await waitFor('rx got all four of go-1\'s messages', () => Object.values(fromGo).filter((b) => got(b)).length, (n) => n === 4, 10_000);
      assert.equal(got(fromGo.besteffort)!.via, 'udp');
      assert.equal(got(fromGo.udp)!.via, 'udp');
      assert.equal(got(fromGo.reliable)!.via, 'tcp');
      assert.equal(got(fromGo.tcp)!.via, 'tcp');
      assert.ok((await rawCount(node, 'udp')) >= 2 && (await rawCount(node, 'tcp')) >= 2, 'raw messages are counted by path');
      assert.equal(go.events().filter((e) => e.event === 'done' && e.error).length, 0, `go-1's commands failed: ${JSON.stringify(go.events().filter((e) => e.error))}`);

      // Broadcasts: ours through broadcastRaw reaches both Go peers (GetBroadcasts'
      // counterpart); go-1's TransmitLimitedQueue reaches us.
      const ours = randomBytes(100);
      assert.equal(node.broadcastRaw(ours), true);
      for (const p of [go, go2]) {
        await waitFor(`${p.proc.name} got our raw broadcast`, () => p.events().some((e) => e.event === 'msg' && e.hex === hex(ours)), Boolean, 10_000);
      }
      const theirs = randomBytes(90);
      go.command(`broadcast ${hex(theirs)}`);
      await waitFor("rx got go-1's broadcast", () => got(theirs) !== undefined, Boolean, 10_000);
      // memberlist semantics: we deliver it, we do not gossip it on, and it is not our state.
      const userQueue = async () => (await node.metrics.registry.getSingleMetric('rxswim_user_queue_depth')!.get()).values[0]!.value;
      await waitFor('our user queue drains (our own broadcast sent out, theirs never queued)', userQueue, (n) => n === 0, 10_000);

      // Periodic push-pull (2 s on both sides), both ways, still the bare bytes.
      await waitFor('a periodic merge each way', () => ({
        rx: merged.some((m) => !m.join && m.state === hex(GO_STATE)),
        go: go.events().some((e) => e.event === 'merge' && e.join === false && e.hex === hex(RX_STATE)),
      }), (v) => v.rx && v.go, 20_000);
      assert.ok(asked.includes(false), 'our LocalState was asked for a periodic push-pull');

      // The caveat: with an envelope broadcast recent, our state goes in the envelope
      // (0xf5 0x02, msgpack {App, Recent}) and a plain application sees that instead.
      const before = go.events().length;
      node.broadcast('enveloped');
      // (go-1 merges go-2's state too: look for ours)
      const wrapped = () => go.events().slice(before).find((e) => e.event === 'merge' && !e.join && (e.hex as string).startsWith('f502'));
      await waitFor('go-1 merges our state in the envelope', wrapped, (e) => e !== undefined, 20_000);
      assert.ok((wrapped()!.hex as string).includes(hex(RX_STATE)), 'the envelope holds our state');
      await waitFor("go-1's NotifyMsg got the envelope broadcast (0xf5...)", () => goMsgs().some((h) => h.startsWith('f501')), Boolean, 10_000);

      // go-2 killed: seen failed by rxswim (and dead, not left, by go-1).
      await kill(go2.proc, 'SIGKILL');
      await waitFor('rx sees go-2 failed', () => rxEvents.some((e) => e.type === 'failed' && e.member.name === 'go-2'), Boolean, 40_000);
      assert.ok(!rxEvents.some((e) => e.type === 'left' && e.member.name === 'go-2'));

      // Our leave: go-1's memberlist calls NotifyLeave, and as a leave, not a failure:
      // memberlist 0.2's EventDelegate cannot tell them apart (Node.State is never
      // set), but a failure goes through a suspicion that memberlist logs.
      const leaveAt = Date.now();
      await node.leave();
      await waitFor('go-1 sees rx leave', () => go.events().some((e) => e.event === 'leave' && e.node.name === 'rx'), Boolean, 20_000);
      const tookMs = Date.now() - leaveAt;
      const suspected = go.proc.lines.filter((l) => /memberlist: (Suspect rx has failed|Marking rx as failed)/.test(l));
      assert.deepEqual(suspected, [], 'go-1 never suspected us: it took our dead-about-self as a leave');
      assert.ok(tookMs < node.config.leaveTimeout + 2000, `the leave reached go-1 within the leave timeout (${tookMs} ms)`);
      assert.equal(await dropped(node), droppedBefore, 'nothing the Go peers with our key sent was dropped');
      // No message of ours reached go-1 with Serf's type bytes: serfIntents is off.
      // (the raw messages this test sent are random bytes: 1 in 256 starts with 00 too)
      const sentRaw = new Set([toGo.udp, toGo.tcp, ours].map(hex));
      assert.ok(!goMsgs().some((h) => h.startsWith('00') && !sentRaw.has(h)), 'no Serf leave intent sent to a plain application');
    } catch (e) {
      for (const p of g.procs) console.error(`--- ${p.name}\n${p.lines.slice(-60).join('\n')}`);
      throw e;
    } finally {
      for (const s of subs) s.unsubscribe();
      await node.stop();
      await g.killAll();
    }
  });
}

// memberlist's verifyProtocol: every alive node's delegate version must lie within
// every alive node's [DMin, DMax]. rxswim's default is Serf's (2, 5, 5); a plain
// memberlist application's is (0, 0, 0): they cannot merge until one side adapts.
test("delegate versions: rxswim's Serf default and memberlist's 0,0,0 refuse each other; either side can adapt", { timeout: 120_000, skip }, async () => {
  const bin = buildPeer();
  const g = new ProcGroup();
  const node = createNode({ name: 'rx', bind: '127.0.119.41:7946', profile: 'local', serfIntents: false });
  try {
    await node.start();
    const plain = startGo(g, bin, 'go-plain', ['-bind', '127.0.119.42', '-port', '7946', '-join', '127.0.119.41:7946']);
    await waitFor('go-plain tried to join', () => plain.events().find((e) => e.event === 'joined'), (e) => e !== undefined, 20_000);
    const res = plain.events().find((e) => e.event === 'joined')!;
    assert.equal(res.count, 0, 'memberlist 0,0,0 cannot join rxswim 2,5,5');
    assert.match(String(res.error), /delegate protocol version/);
    const adapted = startGo(g, bin, 'go-adapted', ['-bind', '127.0.119.43', '-port', '7946', '-join', '127.0.119.41:7946', '-delegate-version', '2,5,5']);
    await waitFor('go-adapted joined', () => adapted.events().find((e) => e.event === 'joined'), (e) => e !== undefined, 20_000);
    assert.equal(adapted.events().find((e) => e.event === 'joined')!.count, 1, `go-adapted: ${JSON.stringify(adapted.events().find((e) => e.event === 'joined'))}`);
    await waitFor('rx sees go-adapted alive', () => node.member('go-adapted')?.state, (s) => s === 'alive', 15_000);
    assert.equal(node.member('go-plain'), undefined, 'the refused node was not merged');
  } catch (e) {
    for (const p of g.procs) console.error(`--- ${p.name}\n${p.lines.slice(-30).join('\n')}`);
    throw e;
  } finally {
    await node.stop();
    await g.killAll();
  }
});

test.after(() => {
  if (built) rmSync(join(built, '..'), { recursive: true, force: true });
});
