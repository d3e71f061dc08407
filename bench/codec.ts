// Wire codec micro-benchmark: the encode and decode work one node does per packet in the
// simulator, on realistic inputs. A gossip packet is a compound of alive messages (24-byte
// names, 4-byte addrs, ~20 bytes of Serf tags, vsn) compressed with LZW and CRC'd, as the
// lan profile sends it; probes are lone ping and ack packets; a push/pull of 200 nodes
// covers the stream path. Throughput is the median of 5 runs; the runs interleave the
// cases, so a busy machine slows them all alike and the ratios between runs stay usable.
//
// node --import tsx bench/codec.ts [--runs 5] [--ms 250] [--out file.json] [--before file.json] [--md file.md]
//
// Heap bytes per op come from v8's GCProfiler (bytes freed by each GC, plus the heap's
// growth over the sample): an estimate of JS heap allocation. Typed arrays over 64 bytes
// keep their data outside the JS heap, so those bytes show only as `external`.
import { readFileSync, writeFileSync } from 'node:fs';
import { GCProfiler } from 'node:v8';
import { encodeTags } from '../src/membership/tags.js';
import { lzwCompress, lzwDecompress } from '../src/wire/lzw.js';
import { decodeMessage, encodeMessage } from '../src/wire/messages.js';
import { decodePacket, encodePacket } from '../src/wire/packet.js';
import { encodeStream, tryDecodeStream } from '../src/wire/stream.js';
import { WireState, type Alive, type PushNodeState, type StreamMessage } from '../src/wire/types.js';
import { arg, num } from './lib/argv.js';

const RUNS = num('--runs', 5);
const SAMPLE_MS = num('--ms', 250);

// --- inputs ---------------------------------------------------------------

const VSN = Uint8Array.of(1, 5, 2, 2, 5, 4);
const META = encodeTags({ role: 'web', dc: 'dc1', v: '1' });
const name = (i: number): string => `node-${String(i).padStart(4, '0')}.dc1.example.io`; // 24 bytes

function alive(i: number): Alive {
  return {
    type: 'alive',
    incarnation: 1000 + i * 7,
    node: name(i),
    addr: Uint8Array.of(10, 0, (i >> 8) & 255, i & 255),
    port: 7946,
    meta: META,
    vsn: VSN,
  };
}

const aliveMsgs = Array.from({ length: 20 }, (_, i) => alive(i + 1));
const aliveEncoded = aliveMsgs.map((m) => encodeMessage(m));
const packetOpts = { compress: true, crc: true };
const gossipPacket = encodePacket(aliveEncoded, packetOpts);
const compoundRaw = encodePacket(aliveEncoded, { compress: false, crc: false });

const ping = { type: 'ping' as const, seqNo: 123456, node: name(7), sourceAddr: Uint8Array.of(10, 0, 0, 9), sourcePort: 7946, sourceNode: name(9) };
const ack = { type: 'ack' as const, seqNo: 123456, payload: new Uint8Array(0) };
const pingPacket = encodePacket([encodeMessage(ping)], packetOpts);
const ackPacket = encodePacket([encodeMessage(ack)], packetOpts);

const nodes: PushNodeState[] = Array.from({ length: 200 }, (_, i) => ({
  name: name(i),
  addr: Uint8Array.of(10, 0, (i >> 8) & 255, i & 255),
  port: 7946,
  meta: META,
  incarnation: 1000 + i,
  state: WireState.alive,
  vsn: VSN,
}));
const pushPull: StreamMessage = { type: 'pushPull', join: false, nodes, userState: new Uint8Array(0) };
const pushPullStream = encodeStream(pushPull, { compress: true });

// Results flow into this so the JIT cannot drop the work.
let sink = 0;

interface Case {
  name: string;
  /** bytes the op produces or consumes on the wire (for MB/s) */
  bytes: number;
  op(): void;
}

const cases: Case[] = [
  {
    name: 'encode gossip (20 alive: encodeMessage x20 + compound + lzw + crc)',
    bytes: gossipPacket.length,
    op: () => {
      const parts: Uint8Array[] = [];
      for (const m of aliveMsgs) parts.push(encodeMessage(m));
      sink += encodePacket(parts, packetOpts).length;
    },
  },
  {
    name: 'encode gossip packet only (encodePacket of 20 encoded alive)',
    bytes: gossipPacket.length,
    op: () => {
      sink += encodePacket(aliveEncoded, packetOpts).length;
    },
  },
  {
    name: 'decode gossip (decodePacket: crc + lzw + compound + 20 alive)',
    bytes: gossipPacket.length,
    op: () => {
      sink += decodePacket(gossipPacket).messages.length;
    },
  },
  {
    name: 'lzwCompress of the compound',
    bytes: compoundRaw.length,
    op: () => {
      sink += lzwCompress(compoundRaw).length;
    },
  },
  {
    name: 'lzwDecompress of the compound',
    bytes: compoundRaw.length,
    op: () => {
      sink += lzwDecompress(lzwPayload).length;
    },
  },
  {
    name: 'decodeMessage alive',
    bytes: aliveEncoded[0]!.length,
    op: () => {
      sink += decodeMessage(aliveEncoded[0]!).type.length;
    },
  },
  {
    name: 'encode ping packet (encodeMessage + encodePacket)',
    bytes: pingPacket.length,
    op: () => {
      sink += encodePacket([encodeMessage(ping)], packetOpts).length;
    },
  },
  {
    name: 'decode ping packet',
    bytes: pingPacket.length,
    op: () => {
      sink += decodePacket(pingPacket).messages.length;
    },
  },
  {
    name: 'encode ack packet',
    bytes: ackPacket.length,
    op: () => {
      sink += encodePacket([encodeMessage(ack)], packetOpts).length;
    },
  },
  {
    name: 'decode ack packet',
    bytes: ackPacket.length,
    op: () => {
      sink += decodePacket(ackPacket).messages.length;
    },
  },
  {
    name: 'encode push/pull stream (200 nodes, lzw)',
    bytes: pushPullStream.length,
    op: () => {
      sink += encodeStream(pushPull, { compress: true }).length;
    },
  },
  {
    name: 'decode push/pull stream (200 nodes, lzw)',
    bytes: pushPullStream.length,
    op: () => {
      const r = tryDecodeStream(pushPullStream);
      sink += r.status.length;
    },
  },
];

// The Buf of the gossip packet's compress layer: 0x0c + crc32 (5), 0x09, map, "Algo" 0, "Buf" raw header.
const lzwPayload = lzwCompress(compoundRaw);

interface Sample {
  opsPerSec: number;
  heapBytesPerOp: number;
  gcsPer1kOps: number;
}

function sample(c: Case, ms: number): Sample {
  // Calibrate a batch to ~10 ms so the clock is read rarely.
  let batch = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) c.op();
    if (Number(process.hrtime.bigint() - t0) > 10e6) break;
    batch *= 2;
  }
  const profiler = new GCProfiler();
  const heap0 = process.memoryUsage().heapUsed;
  profiler.start();
  let ops = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms * 1e6) {
    for (let i = 0; i < batch; i++) c.op();
    ops += batch;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  const stats = profiler.stop();
  const heap1 = process.memoryUsage().heapUsed;
  let freed = 0;
  for (const s of stats?.statistics ?? []) {
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  }
  return {
    opsPerSec: ops / (elapsed / 1e9),
    heapBytesPerOp: (freed + heap1 - heap0) / ops,
    gcsPer1kOps: ((stats?.statistics.length ?? 0) * 1000) / ops,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Result {
  name: string;
  bytes: number;
  opsPerSec: number;
  mbPerSec: number;
  heapBytesPerOp: number;
  gcsPer1kOps: number;
  runs: number[];
}

function main(): void {
  console.log(
    `inputs: gossip packet ${gossipPacket.length} B on the wire (compound ${compoundRaw.length} B of ${aliveEncoded.length} alive, ` +
      `alive ${aliveEncoded[0]!.length} B, meta ${META.length} B), ping ${pingPacket.length} B, ack ${ackPacket.length} B, ` +
      `push/pull ${pushPullStream.length} B`,
  );
  // Warm-up: every case once through the JIT tiers before anything is measured.
  for (const c of cases) sample(c, 150);
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const c of cases) samples.get(c.name)!.push(sample(c, SAMPLE_MS));
    process.stderr.write(`run ${run + 1}/${RUNS}\n`);
  }
  const results: Result[] = cases.map((c) => {
    const s = samples.get(c.name)!;
    const ops = median(s.map((x) => x.opsPerSec));
    return {
      name: c.name,
      bytes: c.bytes,
      opsPerSec: ops,
      mbPerSec: (ops * c.bytes) / 1e6,
      heapBytesPerOp: median(s.map((x) => x.heapBytesPerOp)),
      gcsPer1kOps: median(s.map((x) => x.gcsPer1kOps)),
      runs: s.map((x) => Math.round(x.opsPerSec)),
    };
  });

  const before = arg('--before') ? (JSON.parse(readFileSync(arg('--before')!, 'utf8')) as { results: Result[] }) : undefined;
  const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines: string[] = [];
  lines.push(
    before
      ? '| case | bytes | before ops/s | after ops/s | ratio | after MB/s | heap B/op before → after |'
      : '| case | bytes | ops/s | MB/s | heap B/op | GCs / 1k ops |',
  );
  lines.push(before ? '|---|--:|--:|--:|--:|--:|--:|' : '|---|--:|--:|--:|--:|--:|');
  for (const r of results) {
    const b = before?.results.find((x) => x.name === r.name);
    if (before) {
      lines.push(
        `| ${r.name} | ${r.bytes} | ${b ? fmt(b.opsPerSec) : '–'} | ${fmt(r.opsPerSec)} | ` +
          `${b ? fmt(r.opsPerSec / b.opsPerSec, 2) + '×' : '–'} | ${fmt(r.mbPerSec, 1)} | ` +
          `${b ? fmt(b.heapBytesPerOp) : '–'} → ${fmt(r.heapBytesPerOp)} |`,
      );
    } else {
      lines.push(`| ${r.name} | ${r.bytes} | ${fmt(r.opsPerSec)} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.heapBytesPerOp)} | ${fmt(r.gcsPer1kOps, 2)} |`);
    }
  }
  console.log(lines.join('\n'));
  if (sink === 42) console.log('');

  const out = arg('--out');
  if (out) {
    const doc = { date: new Date().toISOString(), node: process.version, runs: RUNS, sampleMs: SAMPLE_MS, results };
    writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  }
  const md = arg('--md');
  if (md) writeFileSync(md, lines.join('\n') + '\n');
}

main();
