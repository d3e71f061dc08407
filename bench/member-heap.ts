// A heap snapshot of one core holding N members merged from one push-pull (as
// bench/merge.ts makes them), for scripts/heap-summary.mjs. The snapshot taken before
// the merge is written too, so the two can be compared.
// node --expose-gc --import tsx bench/member-heap.ts [N] [DIR]
import { writeHeapSnapshot } from 'node:v8';
import { clockFromScheduler } from '../src/clock.js';
import { resolveConfig } from '../src/config.js';
import { createRandom } from '../src/sim/random.js';
import { HeapVirtualScheduler } from '../src/sim/virtual-scheduler.js';
import { BroadcastQueue } from '../src/swim/broadcast-queue.js';
import { SwimCore } from '../src/swim/core.js';
import { encodeMessage } from '../src/wire/messages.js';
import { WireState, type PushNodeState } from '../src/wire/types.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 10_000);
const dir = process.argv[3] ?? '.';
const vsn = Uint8Array.of(1, 5, 2, 2, 5, 5);
const scheduler = new HeapVirtualScheduler();
const config = resolveConfig('lan');
let core: SwimCore | undefined;
const queue = new BroadcastQueue(config.retransmitMult, () => core?.size ?? 1);
core = new SwimCore({
  config,
  local: { name: 'me', meta: new Uint8Array(0), vsn, incarnation: 1 },
  now: () => scheduler.now(),
  clock: clockFromScheduler(scheduler),
  random: createRandom(1),
  port: { gossip: (key, msg) => queue.queue({ key, message: encodeMessage(msg) }), tell() {}, event() {}, viewChanged() {}, refuted() {}, confirmed() {}, log() {} },
});
const state: PushNodeState[] = Array.from({ length: n }, (_, i) => ({
  name: `m-${i}`, addr: Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255), port: 7946,
  meta: new Uint8Array(0), incarnation: 1, state: WireState.alive, vsn,
}));
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
