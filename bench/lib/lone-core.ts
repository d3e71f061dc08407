// A SwimCore on its own, in virtual time, with its gossip queue and nothing else: what
// the in-process merge benches (bench/merge.ts, bench/member-heap.ts) push a big
// push-pull state into, and the records of such a state.
import { clockFromScheduler } from '../../src/clock.js';
import { resolveConfig } from '../../src/config.js';
import { createRandom } from '../../src/sim/random.js';
import { HeapVirtualScheduler } from '../../src/sim/virtual-scheduler.js';
import { BroadcastQueue } from '../../src/swim/broadcast-queue.js';
import { SwimCore } from '../../src/swim/core.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { WireState, type PushNodeState } from '../../src/wire/types.js';

/** the version bytes every record carries (protocol 1–5, delegate 2–5) */
export const VSN = Uint8Array.of(1, 5, 2, 2, 5, 5);

export function loneCore(): { core: SwimCore; queue: BroadcastQueue } {
  const scheduler = new HeapVirtualScheduler();
  const config = resolveConfig('lan');
  let core: SwimCore | undefined;
  const queue = new BroadcastQueue(config.retransmitMult, () => core?.size ?? 1);
  core = new SwimCore({
    config,
    local: { name: 'me', meta: new Uint8Array(0), vsn: VSN, incarnation: 1 },
    now: () => scheduler.now(),
    clock: clockFromScheduler(scheduler),
    random: createRandom(1),
    port: { gossip: (key, msg) => queue.queue({ key, message: encodeMessage(msg) }), tell() {}, event() {}, viewChanged() {}, refuted() {}, confirmed() {}, log() {} },
  });
  return { core, queue };
}

/** n alive records m-0 … m-(n−1), each at its own 10.x.y.z address */
export function aliveRecords(n: number): PushNodeState[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `m-${i}`,
    addr: Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255),
    port: 7946,
    meta: new Uint8Array(0),
    incarnation: 1,
    state: WireState.alive,
    vsn: VSN,
  }));
}
