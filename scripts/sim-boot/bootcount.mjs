// The simulator's boot (VirtualCluster, seed 42, lan, joins 10 ms apart to node-0, then
// until converged) with counters on SwimCore.receive / Registry.create / mergePushPull,
// per phase. Needs `npm run build`. node --max-semi-space-size=64 scripts/sim-boot/bootcount.mjs [N]
import { VirtualCluster } from '../../dist/src/sim/virtual-cluster.js';
import { SwimCore } from '../../dist/src/swim/core.js';
import { Registry } from '../../dist/src/swim/registry.js';
const cnt = { alive: 0, suspect: 0, dead: 0, other: 0, create: 0, pushpull: 0, ppRecords: 0 };
const recv = SwimCore.prototype.receive;
SwimCore.prototype.receive = function (m) { cnt[m.type in cnt ? m.type : 'other']++; return recv.call(this, m); };
const create = Registry.prototype.create;
Registry.prototype.create = function (...a) { cnt.create++; return create.apply(this, a); };
const mp = SwimCore.prototype.mergePushPull;
SwimCore.prototype.mergePushPull = function (nodes) { cnt.pushpull++; cnt.ppRecords += nodes.length; return mp.call(this, nodes); };
const n = Number(process.argv[2] ?? 200);
const c = new VirtualCluster({ size: n, seed: 42, profile: 'lan', latencyMs: 1 });
c.recordEvents = false;
let last = process.cpuUsage();
// CPU of the phase just ended
const cpu = () => { const u = process.cpuUsage(last); last = process.cpuUsage(); return ((u.user + u.system) / 1e6).toFixed(1); };
const show = (what) => { console.log(what, 'virtual ms', c.now, 'phase cpu s', cpu(), JSON.stringify(cnt), 'datagrams', c.network.stats.sent); for (const k in cnt) cnt[k] = 0; };
for (let i = 0; i < n; i++) await c.add(i);
const seed = `${VirtualCluster.hostOf(0)}:7946`;
for (let i = 1; i < n; i++) { const j = c.nodes.get(`node-${i}`).join([seed]); await c.advance(10); await j; }
show('joins');
await c.until(() => [...c.nodes.values()].every((x) => x.countByState().alive === n), 600000, 100);
show('converged');
await c.advance(10000);
show('10 s run');
process.exit(0);
