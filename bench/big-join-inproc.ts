// Where an rxswim node's memory goes on a 10,000-member push-pull join (issue 11): the
// same join as bench/big-join.ts, into a node in this process, with V8's own account
// before and after (heap used, committed per space, external, RSS) instead of RSS alone.
// node --expose-gc --import tsx bench/big-join-inproc.ts [members] [ip]   (default 127.0.126.30)
// SEMI=2 sets --max-semi-space-size through v8.setFlagsFromString once running, to show
// that it has no effect then (give it on the command line instead).
import { connect } from 'node:net';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { createNode } from '../src/node.js';
import { encodeStream } from '../src/wire/stream.js';
import { pushState, SERF_VSN } from './lib/big-join.js';

if (process.env.SEMI) setFlagsFromString(`--max-semi-space-size=${process.env.SEMI}`);
const members = Number(process.argv[2] ?? 10_000);
const ip = process.argv[3] ?? '127.0.126.30';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const node = createNode({ name: 'inproc', bind: `${ip}:7946`, profile: 'lan' });
await node.start();
const payload = encodeStream({ type: 'pushPull', join: true, nodes: pushState(members, { name: 'joiner', ip }, SERF_VSN), userState: new Uint8Array(0) }, { compress: true });
const spaces = () => Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name.replace('_space', ''), Math.round(s.space_size / 1048576)]));
const mem = () => {
  const m = process.memoryUsage();
  return { rssMB: +(m.rss / 1048576).toFixed(1), heapUsedMB: +(m.heapUsed / 1048576).toFixed(2), heapTotalMB: Math.round(m.heapTotal / 1048576), externalMB: Math.round(m.external / 1048576), committedMB: spaces() };
};
gc();
await new Promise((r) => setTimeout(r, 500));
const before = mem();
const cpu0 = process.cpuUsage();
const s = connect({ host: ip, port: 7946, localAddress: ip });
await new Promise((r) => s.once('connect', r));
s.on('data', () => {});
s.write(payload);
const t0 = performance.now();
while (node.members().length < members + 1) await new Promise((r) => setTimeout(r, 20));
const listedMs = Math.round(performance.now() - t0);
const cpu = process.cpuUsage(cpu0);
const atListing = mem();
gc();
const afterGc = mem();
const perMember = (a: { rssMB: number; heapUsedMB: number }) => ({ rssKB: +(((a.rssMB - before.rssMB) * 1024) / members).toFixed(2), heapKB: +(((a.heapUsedMB - before.heapUsedMB) * 1024) / members).toFixed(2) });
console.log(JSON.stringify({ members, listedMs, cpuS: +((cpu.user + cpu.system) / 1e6).toFixed(2), before, atListing, afterGc, perMemberAtListing: perMember(atListing), perMemberAfterGc: perMember(afterGc) }, null, 1));
s.destroy();
await node.stop();
process.exit(0);
