// Two minutes of the churn soak (bench/lib/soak.ts; bench/soak.ts runs 30): six real
// rxswim agents on 127.0.113.101 and up, `lan` profile; every kind of fault once first
// (a SIGSTOP longer than the longest suspicion, kill -9, a graceful leave, a short
// SIGSTOP, a new agent), then random ones every ~3 s, each with its restart, SIGCONT or
// re-join when it fits. Asserts that each fault really happened (read back from /proc
// and the exit status), that every change converged within its settling bound, and that
// no settled view lost a live member, kept a dead one or showed a graceful leave as a
// failure. The memory slopes are printed, not asserted (two minutes is all warm-up).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { renderSoak } from '../../bench/lib/soak-report.js';
import { Soak, type SoakResult } from '../../bench/lib/soak.js';
import { closeHttp } from '../../bench/lib/http.js';
import { builtCli } from '../helpers/procs.js';

const skip = !builtCli() && 'run `npm run build` first';
const MINUTES = Number(process.env.RXSWIM_SOAK_MINUTES ?? 2);

let soak: Soak | undefined;
let result: SoakResult | undefined;
after(async () => {
  await soak?.close();
  closeHttp();
});

const lines: string[] = [];
const log = (s: string) => lines.push(s);

async function run(): Promise<SoakResult> {
  if (result) return result;
  soak = new Soak(
    {
      minutes: MINUTES,
      agents: 6,
      maxAgents: 7,
      serf: 0,
      anchors: 2,
      everyS: 3,
      seed: 12,
      profile: 'lan',
      rxNet: '127.0.113',
      rxFirst: 101,
      serfNet: '127.0.113',
      pollMs: 1000,
      sampleMs: 5000,
      warmupMin: 0.5,
      trendKBPerMin: 16,
      maxDown: 3,
      firstKinds: ['pauseLong', 'kill', 'leave', 'pauseShort', 'join'],
    },
    log,
  );
  const hard = setTimeout(() => soak!.abort('the test\'s deadline'), (MINUTES + 2) * 60_000);
  try {
    result = await soak.run();
  } finally {
    clearTimeout(hard);
  }
  for (const l of renderSoak(result).split('\n')) console.log(`# ${l}`);
  return result;
}

test(`${MINUTES} min of churn: every fault is real, every change converges within its bound, nothing lost or stale`, { timeout: (MINUTES + 4) * 60_000, skip }, async () => {
  const r = await run();
  assert.deepEqual(r.errors, [], `no errors; log:\n${lines.join('\n')}`);
  assert.equal(r.aborted, null);

  // The faults were injected: each kind happened and each proved itself.
  const of = (k: string) => r.actions.filter((a) => a.kind === k);
  for (const k of ['kill', 'pauseShort', 'pauseLong', 'resume', 'leave', 'join']) assert.ok(of(k).length > 0, `at least one ${k}`);
  for (const a of r.actions) assert.ok(a.proofOk, `action #${a.id} ${a.kind} ${a.member} proved: ${JSON.stringify(a.proof)}`);
  for (const a of of('kill')) assert.equal(a.proof.procGone, true, `killed pid ${a.proof.pid} is gone from /proc`);
  for (const a of [...of('pauseShort'), ...of('pauseLong')]) assert.equal(a.proof.state, 'T', `paused pid ${a.proof.pid} is stopped (T) in /proc`);
  for (const a of of('leave')) assert.equal(a.proof.exitCode, 0, `the agent that left exited 0`);
  for (const a of of('restart')) assert.ok((a.proof.incarnation as number) > (a.proof.prevIncarnation as number), `restarted ${a.member} came back with a higher incarnation`);
  assert.ok(of('pauseLong').some((a) => (a.proof.pauseMs as number) > r.bounds.suspicionMaxMs), 'a pause longer than the longest suspicion');
  assert.ok(of('pauseShort').every((a) => (a.proof.pauseMs as number) < r.bounds.suspicionMinMs), 'short pauses under the shortest suspicion');

  // Every change converged within its bound (or was superseded by the member's next change).
  const late = r.actions.filter((a) => a.outcome === 'late' || a.outcome === 'never' || a.outcome === 'superseded' || a.outcome === 'failed');
  assert.deepEqual(late.map((a) => `#${a.id} ${a.kind} ${a.member}: ${a.outcome} ${a.convergedMs} ms (bound ${a.boundMs})`), []);
  assert.ok(r.checks > 1000, `judged ${r.checks} (observer, member) pairs`);

  const rx = r.totals.rxswim!;
  const show = (c: string) => JSON.stringify(r.violations.filter((v) => v.category === c), null, 1);
  assert.equal(rx.lost, 0, `no live member lost: ${show('lost')}`);
  assert.equal(rx.stale, 0, `no dead or left member still alive: ${show('stale')}`);
});

test('no member that left gracefully is shown as failed by any rxswim observer', { timeout: (MINUTES + 4) * 60_000, skip }, async () => {
  const r = await run();
  assert.ok(r.actions.some((a) => a.kind === 'leave' && a.proofOk), 'a graceful leave happened');
  assert.equal(r.totals.rxswim!.leftAsFailed, 0, JSON.stringify(r.violations.filter((v) => v.category === 'leftAsFailed'), null, 1));
});
