// A heap snapshot of one core holding N members merged from one push-pull (as
// bench/merge.ts makes them), for scripts/heap-summary.mjs. The snapshot taken before
// the merge is written too, so the two can be compared.
// node --expose-gc --import tsx bench/member-heap.ts [N] [DIR]
import { writeHeapSnapshot } from 'node:v8';
import { aliveRecords, loneCore } from './lib/lone-core.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 10_000);
const dir = process.argv[3] ?? '.';
const { core, queue } = loneCore();
const state = aliveRecords(n);
gc();
const before = writeHeapSnapshot(`${dir}/before-${n}.heapsnapshot`);
const h0 = process.memoryUsage().heapUsed;
core.mergePushPull(state);
state.length = 0;
gc();
const h1 = process.memoryUsage().heapUsed;
core.members();
gc();
const h2 = process.memoryUsage().heapUsed;
const after = writeHeapSnapshot(`${dir}/after-${n}.heapsnapshot`);
console.log(JSON.stringify({ n, before, after, mergedBytesPerMember: Math.round((h1 - h0) / n), listedBytesPerMember: Math.round((h2 - h0) / n), queued: queue.depth }));
