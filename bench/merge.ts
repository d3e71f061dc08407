// In-process cost of a join that brings many members at once: one push-pull state of N
// alive records merged by the core (an XState actor created and a gossip message queued
// for each), then the member list built once. Wall and CPU time, heap growth per member.
// node --expose-gc --import tsx bench/merge.ts [N ...]   → bench/results/merge.json
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aliveRecords, loneCore, VSN } from './lib/lone-core.js';
import { WireState } from '../src/wire/types.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function run(n: number) {
  const { core, queue } = loneCore();
  const state = [{ name: 'seed', addr: Uint8Array.of(10, 255, 0, 1), port: 7946, meta: new Uint8Array(0), incarnation: 1, state: WireState.alive, vsn: VSN }, ...aliveRecords(n)];
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const refused = core.mergePushPull(state);
  const merged = performance.now();
  const listed = core.members().length;
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  const out = {
    n,
    refused,
    listed,
    queued: queue.depth,
    mergeMs: Math.round(merged - t0),
    listMs: Math.round(t1 - merged),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    heapKBPerMember: Math.round(((heap1 - heap0) / (n + 1) / 1024) * 10) / 10,
  };
  core.stop();
  return out;
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
const results = (sizes.length ? sizes : [1000, 10_000]).map((n) => {
  const r = run(n);
  console.log(JSON.stringify(r));
  return r;
});
writeFileSync(fileURLToPath(new URL('./results/merge.json', import.meta.url)), JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
