// Hostile input against a live node: an in-process rxswim node ("victim", real UDP/TCP
// on 127.0.50.1) in a 3-node cluster with two agent processes, attacked from raw
// dgram/net sockets on 127.0.51.*. Fuzzed datagrams, broken TCP streams, packets for an
// encrypted node without the key, and a flood from one source.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Member } from '../../src/api.js';
import { PRESETS } from '../../src/config.js';
import { vsnIsValid } from '../../src/swim/rules.js';
import { createNode, type Logger, type RxSwimNode } from '../../src/node.js';
import { createRandom } from '../../src/sim/random.js';
import { ENVELOPE_MAGIC } from '../../src/messaging/user-envelope.js';
import { decodeSerfMessage, isSerfMessage } from '../../src/serf/messages.js';
import {
  compressMessage,
  decodePacket,
  encodeCompound,
  encodeMessage,
  encodeMsgpack,
  encodePushPullHeader,
  encryptPayload,
  lzwCompress,
  addCrc,
  encodeCompressBody,
  type PacketMessage,
} from '../../src/wire/index.js';
import { builtCli, httpMembers, metricValue, ProcGroup } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const skip = !builtCli() && 'run `npm run build` first';
const VICTIM = { host: '127.0.50.1', port: 7946 };
const PEERS = [
  { name: 'peer-1', bind: '127.0.50.2:7946', http: '127.0.50.2:8946' },
  { name: 'peer-2', bind: '127.0.50.3:7946', http: '127.0.50.3:8946' },
];
const LOCKED = { host: '127.0.50.10', port: 7946 };
const NAMES = new Set(['victim', ...PEERS.map((p) => p.name)]);
const TCP_TIMEOUT = PRESETS.local.tcpTimeout;

// ---- a garbage collector, with or without --expose-gc ----
const gc: () => void = (() => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

// ---- a logger that keeps what the node says above debug ----
interface LogLine {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}
function recordingLogger(): Logger & { lines: LogLine[]; debugCount: number } {
  const lines: LogLine[] = [];
  const rec = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  const l = { lines, debugCount: 0, debug: () => void l.debugCount++, info: rec('info'), warn: rec('warn'), error: rec('error') };
  return l;
}

// ---- metrics read straight from the in-process node's registry ----
async function counters(n: RxSwimNode, name: string): Promise<Map<string, number>> {
  const m = n.metrics.registry.getSingleMetric(name);
  assert.ok(m, `metric ${name}`);
  const out = new Map<string, number>();
  for (const v of (await m.get()).values) out.set(Object.values(v.labels).join(','), (out.get(Object.values(v.labels).join(',')) ?? 0) + v.value);
  return out;
}
async function counter(n: RxSwimNode, name: string, label = ''): Promise<number> {
  return (await counters(n, name)).get(label) ?? 0;
}
function delta(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) !== 0) out[k] = v - (before.get(k) ?? 0);
  return out;
}

const stable = (ms: Member[]) =>
  ms
    .map((m) => ({ name: m.name, address: m.address, port: m.port, state: m.state, incarnation: m.incarnation }))
    .sort((a, b) => a.name.localeCompare(b.name));

function bindUdp(host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => resolve(s));
  });
}

let victim: RxSwimNode;
let log: ReturnType<typeof recordingLogger>;
const procs = new ProcGroup();

before(async () => {
  if (skip) return;
  log = recordingLogger();
  victim = createNode({ name: 'victim', bind: `${VICTIM.host}:${VICTIM.port}`, profile: 'local', logger: log });
  await victim.start();
  for (const p of PEERS) procs.agent(p.name, p.bind, p.http, ['--profile', 'local', '--join', `${VICTIM.host}:${VICTIM.port}`]);
  await waitFor('victim sees 3 alive', () => victim.members(), (ms) => ms.filter((m) => m.state === 'alive').length === 3, 20_000);
  for (const p of PEERS) await waitFor(`${p.name} sees 3 alive`, () => httpMembers(p.http), (ms) => ms?.filter((m) => m.state === 'alive').length === 3, 20_000);
});

after(async () => {
  if (skip) return;
  try {
    await procs.killAll();
  } finally {
    await victim?.stop();
  }
});

// ---------------------------------------------------------------------------
// The fuzzer: every datagram is built from a seeded PRNG, so a failure can be replayed.

const captured = (
  JSON.parse(readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8')) as {
    packets: Array<{ proto: string; hex: string }>;
  }
).packets
  .filter((p) => p.proto === 'udp')
  .map((p) => new Uint8Array(Buffer.from(p.hex, 'hex')));

function fuzzer(seed: number) {
  const rnd = createRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const randomBytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const cat = (...parts: ArrayLike<number>[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  const pingOther = () => encodeMessage({ type: 'ping', seqNo: int(2 ** 32), node: `someone-${int(100)}` });
  const ackRandom = () => encodeMessage({ type: 'ack', seqNo: 2 ** 31 + int(2 ** 31), payload: null });
  // A few LZW bombs: ~17 KiB that would inflate past the 20 MiB limit.
  const bombBody = lzwCompress(new Uint8Array(24 * 1024 * 1024));
  const bomb = () => cat([9], encodeCompressBody({ algo: 0, buf: bombBody }));

  const generators: Array<[string, number, () => Uint8Array]> = [
    ['random', 25, () => randomBytes(1 + int(1400))],
    ['truncated', 15, () => {
      const p = pick(captured);
      return p.slice(0, int(p.length));
    }],
    ['bitflip', 25, () => {
      const p = pick(captured).slice();
      for (let k = 1 + int(8); k > 0; k--) p[int(p.length)]! ^= 1 << int(8);
      return p;
    }],
    ['compound', 10, () => {
      switch (int(5)) {
        case 0: // 255 parts declared, a random length table, whatever follows
          return cat([7, 255], randomBytes(int(600)));
        case 1: // every part claims 64 KiB
          return cat([7, 1 + int(255)], new Array(510).fill(0xff), randomBytes(int(100)));
        case 2: // 255 one-byte parts, each a broken message: 255 errors in one packet
          return encodeCompound(Array.from({ length: 255 }, () => Uint8Array.of(int(14))));
        case 3: // compounds inside compounds, beyond the nesting limit
          {
            let m: Uint8Array = pingOther();
            for (let d = 2 + int(6); d > 0; d--) m = encodeCompound([m, ackRandom()]);
            return m;
          }
        default: // a valid compound with trailing garbage parts
          return encodeCompound([pingOther(), ackRandom(), randomBytes(1 + int(50)), randomBytes(1 + int(50))]);
      }
    }],
    ['nesting', 10, () => {
      let m: Uint8Array = int(2) ? pingOther() : ackRandom();
      const depth = 1 + int(10);
      for (let d = 0; d < depth; d++) m = int(3) === 0 ? encodeCompound([m]) : compressMessage(m);
      return int(4) === 0 ? addCrc(m) : m;
    }],
    ['oversize', 10, () => {
      const type = pick([0, 1, 2, 3, 4, 5, 11]);
      switch (int(6)) {
        case 0: // map32 claiming 4 billion entries
          return cat([type, 0xdf], u32(0xffffffff));
        case 1: // {Node: str32 of 4 GiB}
          return cat([type, 0x81, 0xa4], Buffer.from('Node'), [0xdb], u32(0xffffffff), randomBytes(int(40)));
        case 2: // {Addr: bin32 of 4 GiB}
          return cat([type, 0x81, 0xa4], Buffer.from('Addr'), [0xc6], u32(0xfffffff0), randomBytes(int(40)));
        case 3: // array32 of 4 billion elements
          return cat([type, 0x81, 0xa3], Buffer.from('Vsn'), [0xdd], u32(0xffffffff));
        case 4: // compress whose Buf claims 4 GiB
          return cat([9, 0x82, 0xa4], Buffer.from('Algo'), [0x00, 0xa3], Buffer.from('Buf'), [0xc6], u32(0xffffffff), randomBytes(int(100)));
        default: // compress with an unknown algorithm
          return cat([9], encodeCompressBody({ algo: 1 + int(200), buf: randomBytes(int(100)) }));
      }
    }],
    ['vsn', 5, () => {
      // alive for a new name with a malformed Vsn: must be ignored (never becomes a member)
      const vsn = pick([
        [0, 5, 2, 2, 5, 5],
        [1, 0, 2, 2, 5, 5],
        [5, 1, 2, 2, 5, 5],
        [0, 0, 0, 0, 0, 0],
        [1, 5, 2],
        [1, 5, 2, 2, 5, 5, 5],
        [255],
      ]);
      const body = encodeMsgpack({ Addr: Uint8Array.of(127, 0, 50, 200), Incarnation: 1 + int(1e6), Meta: null, Node: `fuzz-${int(1e9)}`, Port: 7946, Vsn: Uint8Array.from(vsn) });
      return cat([4], body);
    }],
  ];
  const total = generators.reduce((n, g) => n + g[1], 0);
  return {
    bomb,
    next(): [string, Uint8Array] {
      let r = int(total);
      for (const [name, w, gen] of generators) {
        if (r < w) return [name, gen()];
        r -= w;
      }
      throw new Error('unreachable');
    },
  };
}

/**
 * Datagrams that would legitimately change the cluster (plaintext memberlist has no
 * authentication): an alive for a new name with a valid Vsn, any message about our
 * own members, requests that make the victim send elsewhere. The fuzzer does not send
 * those; everything else is fair game.
 */
function legitimateEffect(msgs: PacketMessage[]): boolean {
  return msgs.some(
    (m) =>
      (m.type === 'alive' && vsnIsValid(m.vsn) && m.incarnation > 0) ||
      ((m.type === 'alive' || m.type === 'suspect' || m.type === 'dead') && NAMES.has(m.node)) ||
      m.type === 'indirectPing' ||
      (m.type === 'ping' && (m.node === '' || m.node === 'victim')) ||
      (m.type === 'user' && m.payload[0] === ENVELOPE_MAGIC),
  );
}

test('fuzz: 100,000 hostile datagrams; no crash, member table unchanged, every packet accounted for, memory back to baseline', { timeout: 240_000, skip }, async () => {
  const COUNT = 100_000;
  const BOMBS = 10;
  const fz = fuzzer(0x5eed);
  const attacker = await bindUdp('127.0.51.1');
  try {
    const membersBefore = stable(victim.members());
    const heapBefore = heapAfterGc();
    const rx0 = await counter(victim, 'rxswim_packets_received_total', 'udp');
    const outcomes0 = await counters(victim, 'rxswim_udp_packets_total');
    const drops0 = await counters(victim, 'rxswim_packets_dropped_total');

    // What the node must conclude, computed with the same pure decoder.
    const expect = { decoded: 0, partial: 0, dropped: 0, reasons: {} as Record<string, number>, messages: 0 };
    const byKind: Record<string, number> = {};
    let skipped = 0;
    let sendErrors = 0;
    const slowest: Record<string, number> = {};
    let sent = 0;
    const started = Date.now();
    const bombAt = new Set(Array.from({ length: BOMBS }, (_, i) => Math.floor(((i + 0.5) * COUNT) / BOMBS)));
    let rxTarget = rx0;
    while (sent < COUNT) {
      const batch = Math.min(200, COUNT - sent);
      for (let i = 0; i < batch; i++) {
        let kind: string;
        let d: Uint8Array;
        let r;
        for (;;) {
          [kind, d] = bombAt.has(sent) ? ['bomb', fz.bomb()] : fz.next();
          const t = performance.now();
          r = decodePacket(d);
          slowest[kind] = Math.max(slowest[kind] ?? 0, Math.round((performance.now() - t) * 10) / 10);
          if (!legitimateEffect(r.messages)) break;
          skipped++;
        }
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        expect[r.messages.length === 0 ? 'dropped' : r.errors.length > 0 ? 'partial' : 'decoded']++;
        expect.messages += r.messages.length;
        for (const e of r.errors) expect.reasons[e.reason] = (expect.reasons[e.reason] ?? 0) + 1;
        // A user message in Serf's format is read by the Serf layer, which drops a broken one with its reason.
        for (const m of r.messages) {
          const serf = m.type === 'user' && isSerfMessage(m.payload) ? decodeSerfMessage(m.payload) : undefined;
          if (serf && !serf.ok) expect.reasons[serf.reason] = (expect.reasons[serf.reason] ?? 0) + 1;
        }
        attacker.send(d, VICTIM.port, VICTIM.host, (err) => {
          if (err) sendErrors++;
        });
        sent++;
      }
      // Pace: let the node read this batch before the next, so the kernel never drops.
      rxTarget += batch;
      const waitStart = Date.now();
      while ((await counter(victim, 'rxswim_packets_received_total', 'udp')) < rxTarget) {
        if (Date.now() - waitStart > 5000) throw new Error(`node stopped reading: ${sent} sent, ${(await counter(victim, 'rxswim_packets_received_total', 'udp')) - rx0} received`);
        await new Promise((r) => setImmediate(r));
      }
    }
    const sendMs = Date.now() - started;
    await sleep(300);
    const rx = (await counter(victim, 'rxswim_packets_received_total', 'udp')) - rx0;
    const outcomes = delta(await counters(victim, 'rxswim_udp_packets_total'), outcomes0);
    const drops = delta(await counters(victim, 'rxswim_packets_dropped_total'), drops0);
    const peerPackets = rx - COUNT;
    console.log(`# fuzz: ${COUNT} datagrams in ${sendMs} ms by kind ${JSON.stringify(byKind)}; ${skipped} candidates with a legitimate effect skipped; slowest decode (ms, in the test) by kind ${JSON.stringify(slowest)}`);
    console.log(`# node received ${rx} (${peerPackets} from its peers meanwhile); outcomes ${JSON.stringify(outcomes)}; drops by reason ${JSON.stringify(drops)}`);

    assert.equal(sendErrors, 0, 'every datagram left the attacker');
    // The pacing above already guarantees rx >= COUNT; what this proves is that the
    // node went on receiving and counting its peers' traffic while it was fuzzed: at
    // the least, an ack for each of its own probes (one per probeInterval), plus the
    // peers' pings. A quarter of the acks alone leaves room for a loaded machine.
    const minPeerPackets = Math.max(1, Math.floor(sendMs / PRESETS.local.probeInterval / 4));
    assert.ok(
      peerPackets >= minPeerPackets,
      `the node received ${peerPackets} packets from its peers during ${sendMs} ms of fuzzing (${rx} in all): at least ${minPeerPackets} expected`,
    );
    // Every packet is accounted for exactly once...
    assert.equal((outcomes.decoded ?? 0) + (outcomes.partial ?? 0) + (outcomes.dropped ?? 0), rx, 'decoded + partial + dropped == received');
    // ...as the decoder says it must be (the peers' own packets all decode cleanly)...
    assert.equal(outcomes.dropped ?? 0, expect.dropped, 'packets dropped whole');
    assert.equal(outcomes.partial ?? 0, expect.partial, 'packets partly dropped');
    assert.equal(outcomes.decoded ?? 0, expect.decoded + peerPackets, 'packets decoded whole');
    // ...and every dropped part is counted under its reason.
    assert.deepEqual(drops, expect.reasons, 'rxswim_packets_dropped_total by reason');
    assert.ok(Object.values(drops).reduce((a, b) => a + b, 0) >= expect.dropped + expect.partial);

    assert.deepEqual(stable(victim.members()), membersBefore, 'member table unchanged');
    for (const p of PEERS) {
      const ms = await httpMembers(p.http);
      assert.equal(ms?.filter((m) => m.state === 'alive').length, 3, `${p.name} still sees 3 alive`);
    }
    const heapAfter = heapAfterGc();
    const grown = heapAfter - heapBefore;
    console.log(`# heap after GC: ${(heapBefore / 2 ** 20).toFixed(1)} MiB before, ${(heapAfter / 2 ** 20).toFixed(1)} MiB after`);
    assert.ok(grown < 8 * 2 ** 20, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    attacker.close();
  }
});

// ---------------------------------------------------------------------------
// TCP: each hostile stream must be cut off within tcpTimeout, with a log line naming the peer.

interface StreamOutcome {
  peer: string;
  /** ms from connect until the node closed its side (FIN or RST) */
  closedAfter: number;
  /** the connection was torn down entirely (our further writes failed, or it closed) */
  torn: boolean;
  tornAfter: number;
}

/**
 * Connect from `source` to `target`, run `feed`, and watch the node close the
 * connection. Our side stays half-open (allowHalfOpen) and keeps writing after the
 * node's FIN: a node that only half-closed would go on reading, and holding the
 * socket, for as long as we like; one that closed for good answers with a reset.
 */
function hostileStream(target: { host: string; port: number }, source: string, feed: (s: net.Socket) => void, keepWriting = true): Promise<StreamOutcome> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: target.host, port: target.port, localAddress: source, allowHalfOpen: true });
    const start = Date.now();
    let closedAfter = -1;
    let localPort = 0;
    let trickle: NodeJS.Timeout | undefined;
    let done = false;
    const give = setTimeout(() => finish(false), TCP_TIMEOUT + 6000);
    const finish = (torn: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(give);
      clearInterval(trickle);
      s.destroy();
      resolve({ peer: `${source}:${localPort}`, closedAfter: closedAfter < 0 ? Date.now() - start : closedAfter, torn, tornAfter: Date.now() - start });
    };
    s.on('connect', () => {
      localPort = s.localPort ?? 0;
      feed(s);
      if (keepWriting) {
        trickle = setInterval(() => {
          if (closedAfter >= 0 && !s.destroyed) s.write(Uint8Array.of(0));
        }, 100);
      }
    });
    s.on('end', () => {
      if (closedAfter < 0) closedAfter = Date.now() - start;
      if (!keepWriting) finish(true);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (closedAfter < 0) closedAfter = Date.now() - start;
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') finish(true);
      else reject(e);
    });
    s.on('close', () => {
      if (closedAfter < 0) closedAfter = Date.now() - start;
      finish(true);
    });
    s.resume();
  });
}

function streamLogFor(peer: string): LogLine | undefined {
  return log.lines.find((l) => l.obj.peer === peer);
}

test('TCP: garbage, a one-byte-per-second sender, an oversize state claim and a stalled 19 MiB claim are each cut off within tcpTimeout, logged with the peer', { timeout: 60_000, skip }, async () => {
  const membersBefore = stable(victim.members());
  const drops0 = await counters(victim, 'rxswim_packets_dropped_total');
  const rnd = createRandom(7);
  const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i === 0 ? 0xff : Math.floor(rnd() * 256)));
  // A real push-pull request (serf's), sent one byte per second.
  const pushPull = Buffer.from(
    (JSON.parse(readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8')) as { packets: Array<{ proto: string; hex: string; run: string }> }).packets.find(
      (p) => p.proto === 'tcp' && p.run === 'plain-2node',
    )!.hex,
    'hex',
  );
  // A push-pull header announcing 1 GiB of user state: over the 20 MiB cap.
  const claim = Buffer.concat([Buffer.of(6), Buffer.from(encodePushPullHeader({ nodes: 0, userStateLen: 2 ** 30, join: false }))]);
  // Just under the cap: 19 MiB announced, 18 MiB sent flat out, then nothing. The node
  // must hold at most what it was sent and give up at the timeout.
  const bigClaim = Buffer.concat([Buffer.of(6), Buffer.from(encodePushPullHeader({ nodes: 0, userStateLen: 19 * 2 ** 20, join: false }))]);

  const heapBefore = heapAfterGc();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const results: Record<string, StreamOutcome> = {};
  try {
    results.garbage = await hostileStream(VICTIM, '127.0.51.2', (s) => s.write(garbage));
    results.slow = await hostileStream(VICTIM, '127.0.51.3', (s) => {
      let i = 0;
      const t = setInterval(() => (i < pushPull.length && !s.destroyed ? s.write(pushPull.subarray(i, ++i)) : clearInterval(t)), 1000);
      s.write(pushPull.subarray(0, ++i));
      s.once('close', () => clearInterval(t));
    });
    results.oversize = await hostileStream(VICTIM, '127.0.51.4', (s) => s.write(claim));
    results.bigClaim = await hostileStream(VICTIM, '127.0.51.5', (s) => {
      s.write(bigClaim);
      s.write(Buffer.alloc(18 * 2 ** 20, 0x61));
    });
  } finally {
    clearInterval(sampler);
  }
  // Not hostile, only large: a complete 16 MiB push-pull sent flat out is read and answered
  // within the timeout (the reader's copying must stay linear in the stream's size).
  const large = await new Promise<{ ms: number; reply: number; first: number; err?: string }>((resolve) => {
    const s = net.connect({ host: VICTIM.host, port: VICTIM.port, localAddress: '127.0.51.10' });
    const start = Date.now();
    const got: Buffer[] = [];
    s.on('connect', () => {
      s.write(Buffer.concat([Buffer.of(6), Buffer.from(encodePushPullHeader({ nodes: 0, userStateLen: 16 * 2 ** 20, join: false }))]));
      s.write(Buffer.alloc(16 * 2 ** 20, 0x61));
    });
    let err: string | undefined;
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', (e) => (err = e.message));
    s.on('close', () => {
      const reply = Buffer.concat(got);
      resolve({ ms: Date.now() - start, reply: reply.length, first: reply[0] ?? -1, ...(err ? { err } : {}) });
    });
  });
  console.log(`# tcp: a complete 16 MiB push-pull answered after ${large.ms} ms with ${large.reply} bytes${large.err ? ` (${large.err})` : ''}`);
  assert.ok(large.reply > 0 && (large.first === 6 || large.first === 9), 'a push-pull reply (plain or compressed) came back');
  assert.ok(large.ms < TCP_TIMEOUT, `answered within tcpTimeout (${large.ms} ms)`);
  const drops = delta(await counters(victim, 'rxswim_packets_dropped_total'), drops0);
  for (const [what, r] of Object.entries(results)) {
    const line = streamLogFor(r.peer);
    console.log(`# tcp ${what}: node closed after ${r.closedAfter} ms, torn down ${r.torn ? `after ${r.tornAfter} ms` : 'NEVER'}; log: ${line ? `${line.level} "${line.msg}" ${String(line.obj.err)}` : 'none'}`);
  }
  console.log(`# tcp drops by reason ${JSON.stringify(drops)}; RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
  for (const [what, r] of Object.entries(results)) {
    assert.ok(r.closedAfter <= TCP_TIMEOUT + 500, `${what}: closed after ${r.closedAfter} ms (tcpTimeout ${TCP_TIMEOUT} ms)`);
    assert.ok(r.torn && r.tornAfter <= TCP_TIMEOUT + 1500, `${what}: connection torn down (not left half-open), after ${r.tornAfter} ms`);
    const line = streamLogFor(r.peer);
    assert.ok(line && line.level === 'warn', `${what}: a warn line names the peer ${r.peer}`);
  }
  assert.ok(results.garbage!.closedAfter < TCP_TIMEOUT, 'garbage is refused at once, not after the timeout');
  assert.ok(results.oversize!.closedAfter < TCP_TIMEOUT, 'an oversize claim is refused at once');
  assert.equal(drops.oversize, 1, 'the 1 GiB claim counted as oversize');
  assert.equal(drops.unknown_type, 1, 'the garbage counted as unknown_type');
  assert.equal(drops.stream_error, 2, 'the slow one and the stalled big claim counted as stream_error (timeout)');
  // Bounded: the stream cap is 20 MiB; the reader's copies of a growing buffer cost a few times that at most.
  assert.ok(peakRss - rssBefore < 256 * 2 ** 20, `peak RSS grew by ${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
  const heapAfter = heapAfterGc();
  assert.ok(heapAfter - heapBefore < 8 * 2 ** 20, `heap back to baseline: ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB over`);
  assert.deepEqual(stable(victim.members()), membersBefore, 'member table unchanged');
});

test('an encrypted node drops wrong-key and plaintext packets and streams, counted as decrypt_failed', { timeout: 30_000, skip }, async () => {
  const key = Buffer.alloc(16, 1).toString('base64');
  const wrong = new Uint8Array(16).fill(2);
  const locked = createNode({ name: 'locked', bind: `${LOCKED.host}:${LOCKED.port}`, profile: 'local', keyring: [key] });
  let attacker: dgram.Socket | undefined;
  try {
    await locked.start();
    attacker = await bindUdp('127.0.51.6');
    const ping = encodeMessage({ type: 'ping', seqNo: 1, node: 'locked' });
    const packets = [
      ...Array.from({ length: 300 }, (_, i) => encryptPayload(wrong, 1, encodeMessage({ type: 'ping', seqNo: i, node: 'locked' }))),
      ...Array.from({ length: 100 }, (_, i) => encryptPayload(wrong, 0, encodeMessage({ type: 'ping', seqNo: i, node: 'locked' }))),
      ...Array.from({ length: 300 }, () => ping),
      ...captured.slice(0, 30), // serf's plaintext traffic
    ];
    const drops0 = await counters(locked, 'rxswim_packets_dropped_total');
    for (let i = 0; i < packets.length; i += 100) {
      for (const p of packets.slice(i, i + 100)) attacker.send(p, LOCKED.port, LOCKED.host);
      await waitFor('the node to read the batch', () => counter(locked, 'rxswim_packets_received_total', 'udp'), (n) => n >= Math.min(i + 100, packets.length), 5000, 5);
    }
    // Streams: plaintext push-pull, and one sealed with the wrong key.
    const results = [
      await hostileStream(LOCKED, '127.0.51.7', (s) => s.write(Buffer.concat([Buffer.of(6), Buffer.from(encodePushPullHeader({ nodes: 0, userStateLen: 0, join: true }))])), false),
    ];
    const sealed = encryptPayload(wrong, 1, Uint8Array.of(6, 0x83), Uint8Array.of(10, 0, 0, 0, 31));
    results.push(await hostileStream(LOCKED, '127.0.51.8', (s) => s.write(Buffer.concat([Buffer.of(10, 0, 0, 0, sealed.length), Buffer.from(sealed)])), false));
    const drops = delta(await counters(locked, 'rxswim_packets_dropped_total'), drops0);
    const messages = [...(await counters(locked, 'rxswim_messages_received_total')).values()].reduce((a, b) => a + b, 0);
    console.log(`# encrypted node: ${packets.length} packets + 2 streams without the key; drops ${JSON.stringify(drops)}; streams closed after ${results.map((r) => r.closedAfter)} ms`);
    assert.deepEqual(drops, { decrypt_failed: packets.length + 2 });
    assert.equal(messages, 0, 'nothing got through');
    for (const r of results) assert.ok(r.closedAfter < TCP_TIMEOUT, `stream refused at once (${r.closedAfter} ms)`);
    assert.deepEqual(stable(locked.members()).map((m) => m.name), ['locked']);
  } finally {
    attacker?.close();
    await locked.stop();
  }
});

// ---------------------------------------------------------------------------
// A flood from one source, while a separate process probes the victim as a peer would.

const WIRE = fileURLToPath(new URL('../../dist/src/wire/index.js', import.meta.url));

/** child process: pings the victim every `every` ms for `ms` ms and reports ack round trips */
const PROBER = `
import dgram from 'node:dgram';
const { encodeMessage, decodePacket } = await import(process.argv[1]);
const [host, port, ms, every] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const s = dgram.createSocket('udp4');
const out = new Map(); const rtts = []; let seq = 0; let sent = 0;
s.on('message', (d) => {
  for (const m of decodePacket(new Uint8Array(d)).messages) {
    if (m.type !== 'ack' || !out.has(m.seqNo)) continue;
    rtts.push(performance.now() - out.get(m.seqNo)); out.delete(m.seqNo);
  }
});
s.bind(0, '127.0.51.20', () => {
  const t = setInterval(() => {
    seq++; sent++; out.set(seq, performance.now());
    s.send(encodeMessage({ type: 'ping', seqNo: seq, node: 'victim' }), port, host);
  }, every);
  setTimeout(() => { clearInterval(t); setTimeout(() => {
    rtts.sort((a, b) => a - b);
    const q = (p) => rtts.length ? Number(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(2)) : null;
    console.log(JSON.stringify({ sent, acked: rtts.length, p50: q(0.5), p99: q(0.99), max: q(1) }));
    s.close();
  }, 500); }, ms);
});
`;

/** child process: `rate` datagrams/s for `ms` ms from one source, half garbage, half pings for the victim */
const FLOODER = `
const dgram = require('node:dgram');
const [host, port, rate, ms, ping] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), Buffer.from(process.argv[5], 'hex')];
const s = dgram.createSocket('udp4');
const junk = Array.from({ length: 64 }, (_, i) => { const b = Buffer.alloc(64 + i * 6); for (let j = 0; j < b.length; j++) b[j] = (Math.random() * 256) | 0; return b; });
s.bind(0, '127.0.51.9', () => {
  const t0 = performance.now(); let sent = 0;
  const tick = () => {
    const elapsed = performance.now() - t0;
    const due = Math.min(Math.floor((elapsed * rate) / 1000), Math.floor((ms * rate) / 1000));
    while (sent < due) { s.send(sent % 2 ? ping : junk[sent % 64], port, host); sent++; }
    if (elapsed < ms) setImmediate(tick);
    else setTimeout(() => { console.log(JSON.stringify({ sent, ms: Math.round(performance.now() - t0) })); s.close(); }, 100);
  };
  tick();
});
`;

function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${out}`))));
  });
}

test('a flood of 20,000 packets/s from one source (3 s in CI) does not stop the node answering probes: no peer suspects it', { timeout: 60_000, skip }, async () => {
  const RATE = 20_000;
  const FLOOD_MS = Number(process.env.RXSWIM_FLOOD_MS ?? 3000);
  const peerLines0 = procs.procs.map((p) => p.lines.length);
  const OUTCOMES = ['direct', 'indirect', 'tcp', 'failed'];
  const probeCounts = () => Promise.all(PEERS.map((p) => Promise.all(OUTCOMES.map(async (outcome) => (await metricValue(p.http, 'rxswim_probes_total', { outcome })) ?? NaN))));
  const probes0 = await probeCounts();
  const rx0 = await counter(victim, 'rxswim_packets_received_total', 'udp');
  // Baseline round trips without the flood.
  const quiet = JSON.parse(await runChild(['--input-type=module', '-e', PROBER, WIRE, VICTIM.host, String(VICTIM.port), '1000', '20'])) as { sent: number; acked: number; p50: number; p99: number; max: number };
  const ping = Buffer.from(encodeMessage({ type: 'ping', seqNo: 7, node: 'victim' })).toString('hex');
  const floodStart = Date.now();
  const [flood, probed] = await Promise.all([
    runChild(['-e', FLOODER, VICTIM.host, String(VICTIM.port), String(RATE), String(FLOOD_MS), ping]).then((o) => JSON.parse(o) as { sent: number; ms: number }),
    runChild(['--input-type=module', '-e', PROBER, WIRE, VICTIM.host, String(VICTIM.port), String(FLOOD_MS), '20']).then(
      (o) => JSON.parse(o) as { sent: number; acked: number; p50: number; p99: number; max: number },
    ),
  ]);
  // A few more probe rounds after the flood for any late suspicion to show.
  await sleep(2 * PRESETS.local.probeInterval);
  const rx = (await counter(victim, 'rxswim_packets_received_total', 'udp')) - rx0;
  const probes1 = await probeCounts();
  const peerProbes = PEERS.map((p, i) => `${p.name} ${OUTCOMES.map((o, j) => `${o} ${probes1[i]![j]! - probes0[i]![j]!}`).join(', ')}`).join('; ');
  const suspicions = procs.procs.flatMap((p, i) =>
    p.lines
      .slice(peerLines0[i])
      .map((l) => {
        try {
          return JSON.parse(l) as { event?: string; member?: { name: string } };
        } catch {
          return {};
        }
      })
      .filter((e) => (e.event === 'suspected' || e.event === 'failed') && e.member?.name === 'victim')
      .map((e) => `${p.name}: ${e.event}`),
  );
  console.log(
    `# flood: ${flood.sent} packets in ${flood.ms} ms (${Math.round((flood.sent * 1000) / flood.ms)}/s); node read ${rx} packets; ` +
      `ack RTT from a peer process: quiet p50 ${quiet.p50} ms p99 ${quiet.p99} ms; during the flood ${probed.acked}/${probed.sent} acked, p50 ${probed.p50} ms p99 ${probed.p99} ms max ${probed.max} ms`,
  );
  console.log(`# probes of the peers (both members) during the flood: ${peerProbes}`);
  assert.ok(flood.sent >= RATE * (FLOOD_MS / 1000) * 0.95, `the flooder reached the rate (${flood.sent})`);
  assert.deepEqual(suspicions, [], 'no peer suspected the victim');
  for (const p of PEERS) {
    const ms = await httpMembers(p.http);
    assert.equal(ms?.find((m) => m.name === 'victim')?.state, 'alive', `${p.name} sees the victim alive`);
  }
  // The flood fills the victim's 2 MiB receive buffer: pings from others queue behind
  // it (RTT) or are dropped with it (kernel); they are measured, not bounded, here.
  assert.ok(probed.acked > 0, `the victim acked ${probed.acked} of ${probed.sent} pings during the flood`);
  assert.ok(Date.now() - floodStart < FLOOD_MS + 20_000);
});
