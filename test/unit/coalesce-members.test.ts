// Serf's member-event coalescing (coalesce_member.go) as an operator, in virtual time:
// each member's latest event of a burst, grouped by type, when the burst is quiet for
// quiescentMs or periodMs after its first event; a member is not reported twice in a
// row with the same type, except updates; what is held is flushed on complete.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import type { Member } from '../../src/api.js';
import { coalesceMemberEvents, SERF_AGENT_MEMBER_COALESCE, type SerfMemberEvent, type SerfMemberEventType } from '../../src/serf/coalesce-members.js';

const m = (name: string, incarnation = 1): Member => ({ name, address: '10.0.0.1', port: 7946, state: 'alive', incarnation, meta: new Uint8Array(), vsn: [], stateChangedAt: 0 });
const ev = (type: SerfMemberEventType, ...names: string[]): SerfMemberEvent => ({ type, members: names.map((n) => m(n)) });

/** feed [atMs, event] pairs; returns "atMs type a,b" per batch that came out */
function run(input: Array<[number, SerfMemberEvent]>, completeAt?: number): string[] {
  const sched = new VirtualTimeScheduler();
  const src = new Subject<SerfMemberEvent>();
  const out: string[] = [];
  src.pipe(coalesceMemberEvents(SERF_AGENT_MEMBER_COALESCE, sched)).subscribe((e) => out.push(`${sched.now()} ${e.type} ${e.members.map((x) => x.name).join(',')}`));
  for (const [at, e] of input) sched.schedule(() => src.next(e), at);
  if (completeAt !== undefined) sched.schedule(() => src.complete(), completeAt);
  sched.flush();
  return out;
}

describe('coalesceMemberEvents (Serf agent: 3 s period, 1 s quiescent)', () => {
  it('joins of a burst come out as one batch once it is quiet for 1 s', () => {
    assert.deepEqual(run([[0, ev('member-join', 'a')], [300, ev('member-join', 'b')], [600, ev('member-join', 'c')]]), ['1600 member-join a,b,c']);
  });
  it("only a member's latest event counts; batches come out by type", () => {
    assert.deepEqual(
      run([[0, ev('member-join', 'a', 'b')], [100, ev('member-failed', 'a')], [200, ev('member-leave', 'c')]]),
      ['1200 member-join b', '1200 member-leave c', '1200 member-failed a'],
    );
  });
  it('a burst that never goes quiet is flushed 3 s after its first event', () => {
    const input: Array<[number, SerfMemberEvent]> = Array.from({ length: 8 }, (_, i) => [i * 600, ev('member-join', `n${i}`)]);
    assert.deepEqual(run(input), ['3000 member-join n0,n1,n2,n3,n4,n5', '5200 member-join n6,n7']);
  });
  it('a member is not reported twice in a row with the same type (a flap inside a burst is nothing new)', () => {
    assert.deepEqual(
      run([[0, ev('member-failed', 'a')], [2000, ev('member-join', 'a')], [2100, ev('member-failed', 'a')], [5000, ev('member-join', 'a')]]),
      ['1000 member-failed a', '6000 member-join a'],
    );
  });
  it('updates are reported every time, and a flush does not report an older burst again', () => {
    assert.deepEqual(run([[0, ev('member-update', 'a')], [2000, ev('member-update', 'a')], [4000, ev('member-join', 'b')]]), [
      '1000 member-update a',
      '3000 member-update a',
      '5000 member-join b',
    ]);
  });
  it('what is held is flushed when the source completes', () => {
    assert.deepEqual(run([[0, ev('member-leave', 'a')]], 100), ['100 member-leave a']);
  });
  it('unsubscribing cancels the timers: nothing comes out later', () => {
    const sched = new VirtualTimeScheduler();
    const src = new Subject<SerfMemberEvent>();
    const out: SerfMemberEvent[] = [];
    const sub = src.pipe(coalesceMemberEvents(SERF_AGENT_MEMBER_COALESCE, sched)).subscribe((e) => out.push(e));
    src.next(ev('member-join', 'a'));
    sub.unsubscribe();
    sched.flush();
    assert.deepEqual(out, []);
    assert.equal(sched.actions.length, 0);
  });
});
