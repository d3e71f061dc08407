// Serf's user-event coalescing (coalesce_user.go) as an operator, in virtual time:
// per name, only the events at the latest Lamport time of a burst pass, when the
// burst is quiet for quiescentMs or periodMs after its first event; events without
// CC pass at once; what is held is flushed on complete.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import type { SerfUserEvent } from '../../src/api.js';
import { coalesceSerfEvents, SERF_AGENT_COALESCE } from '../../src/serf/coalesce.js';

const ev = (name: string, ltime: number, payload: string, coalesce = true): SerfUserEvent => ({ name, ltime: BigInt(ltime), payload: new Uint8Array(Buffer.from(payload)), coalesce });

/** feed [atMs, event] pairs; returns "atMs name@ltime:payload" for what came out */
function run(input: Array<[number, SerfUserEvent]>, opts = SERF_AGENT_COALESCE, completeAt?: number): string[] {
  const sched = new VirtualTimeScheduler();
  const src = new Subject<SerfUserEvent>();
  const out: string[] = [];
  src.pipe(coalesceSerfEvents(opts, sched)).subscribe((e) => out.push(`${sched.now()} ${e.name}@${e.ltime}:${Buffer.from(e.payload).toString()}`));
  for (const [at, e] of input) sched.schedule(() => src.next(e), at);
  if (completeAt !== undefined) sched.schedule(() => src.complete(), completeAt);
  sched.flush();
  return out;
}

describe('coalesceSerfEvents (Serf agent: 3 s period, 1 s quiescent)', () => {
  it('a burst of one name gives its latest event once the burst is quiet for 1 s', () => {
    assert.deepEqual(run([[0, ev('deploy', 1, 'a')], [200, ev('deploy', 2, 'b')], [400, ev('deploy', 3, 'c')]]), ['1400 deploy@3:c']);
  });
  it('several events at the latest time all pass; an older one that arrives late does not replace them', () => {
    assert.deepEqual(run([[0, ev('deploy', 5, 'x')], [100, ev('deploy', 5, 'y')], [200, ev('deploy', 4, 'old')]]), ['1200 deploy@5:x', '1200 deploy@5:y']);
  });
  it('names are coalesced apart', () => {
    assert.deepEqual(run([[0, ev('a', 1, '1')], [10, ev('b', 2, '2')], [20, ev('a', 3, '3')]]).sort(), ['1020 a@3:3', '1020 b@2:2']);
  });
  it('a burst that never goes quiet is flushed 3 s after its first event', () => {
    const input: Array<[number, SerfUserEvent]> = Array.from({ length: 10 }, (_, i) => [i * 500, ev('deploy', i + 1, String(i))]);
    // flushed at 3000 with the latest so far (the 7th, sent at 3000, came in first); the
    // rest (3500..4500) when quiet, at 5500
    assert.deepEqual(run(input), ['3000 deploy@7:6', '5500 deploy@10:9']);
  });
  it('events without CC pass at once, untouched by a burst being held', () => {
    assert.deepEqual(run([[0, ev('deploy', 1, 'a')], [100, ev('restart', 2, 'now', false)], [200, ev('deploy', 3, 'b')]]), ['100 restart@2:now', '1200 deploy@3:b']);
  });
  it('on complete, what is held is flushed', () => {
    assert.deepEqual(run([[0, ev('deploy', 1, 'a')]], SERF_AGENT_COALESCE, 10), ['10 deploy@1:a']);
  });
});
