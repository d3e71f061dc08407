// The simulator's boot only, then heap and RSS after a full GC, per member per node.
// Needs `npm run build`. node --expose-gc --max-semi-space-size=64 --max-old-space-size=10240 scripts/sim-boot/bootmem.mjs [N]
import { VirtualCluster } from '../../dist/src/sim/virtual-cluster.js';
const n = Number(process.argv[2] ?? 200);
const c = new VirtualCluster({ size: n, seed: 42, profile: 'lan', latencyMs: 1 });
c.recordEvents = false;
const t0 = performance.now(); const c0 = process.cpuUsage();
const cpu = () => { const u = process.cpuUsage(c0); return +((u.user + u.system) / 1e6).toFixed(1); };
for (let i = 0; i < n; i++) await c.add(i);
const seed = `${VirtualCluster.hostOf(0)}:7946`;
for (let i = 1; i < n; i++) {
  const j = c.nodes.get(`node-${i}`).join([seed]); await c.advance(10); await j;
  if (i % 100 === 0) console.log(`joined ${i} cpu ${cpu()} s wall ${((performance.now() - t0) / 1000).toFixed(0)} s heap ${Math.round(process.memoryUsage().heapUsed / 1048576)} MB`);
}
const conv = await c.until(() => [...c.nodes.values()].every((x) => x.countByState().alive === n), 600000, 100);
const bootCpu = cpu(); const bootWall = (performance.now() - t0) / 1000;
globalThis.gc();
const m = process.memoryUsage();
const members = n * (n - 1);
console.log(JSON.stringify({ n, convergedAtMs: conv, bootCpuS: bootCpu, bootWallS: +bootWall.toFixed(1), heapMB: Math.round(m.heapUsed / 1048576), rssMB: Math.round(m.rss / 1048576), heapKBPerMember: +((m.heapUsed / members) / 1024).toFixed(2) }));
process.exit(0);
