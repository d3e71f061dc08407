// Two member actors that should behave as one (built two ways), driven side by side under
// virtual time: every event accepted or refused alike, the same persisted snapshot after
// each, the same emitted events and timers. Returns what each emitted.
import assert from 'node:assert/strict';
import type { VirtualTimeScheduler } from 'rxjs';
import type { Actor } from 'xstate';
import type { memberMachine } from '../../machines/member.js';

type MemberActor = Actor<typeof memberMachine>;
export type MemberEventIn = Parameters<MemberActor['send']>[0];

const describe = (e: MemberEventIn) => JSON.stringify(e, (_k, v) => (v instanceof Uint8Array ? [...v] : v));

/** start both (unstarted) actors, send each event to both, then run virtual time to `untilMs` */
export function driveTwins(s: VirtualTimeScheduler, expected: MemberActor, actual: MemberActor, events: MemberEventIn[], untilMs: number): { expected: string[]; actual: string[] } {
  const logs = { expected: [] as string[], actual: [] as string[] };
  for (const [a, log] of [[expected, logs.expected], [actual, logs.actual]] as const) {
    a.on('*', (e) => void log.push(e.type === 'changed' ? `${e.from}→${e.change}` : `${e.type}@${s.now()}`));
    a.start();
  }
  const same = (what: string) => {
    assert.deepEqual(actual.getPersistedSnapshot(), expected.getPersistedSnapshot(), what);
    assert.equal(actual.getSnapshot().value, expected.getSnapshot().value, what);
  };
  same('at creation');
  for (const e of events) {
    const before = [expected.getSnapshot(), actual.getSnapshot()];
    expected.send(e);
    actual.send(e);
    assert.equal(actual.getSnapshot() !== before[1], expected.getSnapshot() !== before[0], `accepted alike: ${describe(e)}`);
    same(`after ${describe(e)}`);
  }
  s.schedule(() => {}, untilMs - s.now());
  s.maxFrames = untilMs;
  s.flush();
  assert.deepEqual(logs.actual, logs.expected, 'the same emitted events at the same times');
  return logs;
}
