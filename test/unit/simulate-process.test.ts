// `rxswim simulate` starts itself again once with V8 heap flags (src/cli/simulate-process.ts):
// not in the child it started, and not when the caller chose a young generation size.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { SIMULATE_CHILD_ENV, SIMULATE_V8_FLAGS, simulateChildFlags, wantsOwnProcess } from '../../src/cli/simulate-process.js';

test('a simulation gets its own process, except in that process or when the semi-space was chosen', () => {
  assert.equal(wantsOwnProcess({}, []), true);
  assert.equal(wantsOwnProcess({ [SIMULATE_CHILD_ENV]: '1' }, []), false);
  assert.equal(wantsOwnProcess({}, ['--max-semi-space-size=32']), false);
  assert.equal(wantsOwnProcess({ NODE_OPTIONS: '--max-old-space-size=8000 --max-semi-space-size=8' }, []), false);
  assert.equal(wantsOwnProcess({ NODE_OPTIONS: '--max-old-space-size=8000' }, ['--cpu-prof']), true);
});

test('the flags are ones Node accepts at start and that size the young generation', () => {
  // New space grows to its limit under a steady churn of short-lived objects with some survivors.
  const probe = "const keep = []; for (let i = 0; i < 2e7; i++) { const o = { i, a: [i] }; if (i % 100 === 0) keep.push(o); } console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)";
  const newSpace = (flags: readonly string[]) => {
    const r = spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout);
  };
  const tuned = newSpace(SIMULATE_V8_FLAGS);
  const plain = newSpace([]);
  assert.ok(tuned > plain, `new space ${tuned} bytes with the flags, ${plain} without`);
});

test('the child may use three quarters of the machine for its heap, unless the caller set a limit', () => {
  const GiB = 1024 ** 3;
  assert.deepEqual(simulateChildFlags([], {}, 24 * GiB), [...SIMULATE_V8_FLAGS, '--max-old-space-size=18432']);
  // the caller's limit wins, from the command line or NODE_OPTIONS
  assert.deepEqual(simulateChildFlags(['--max-old-space-size=12288'], {}, 24 * GiB), [...SIMULATE_V8_FLAGS]);
  assert.deepEqual(simulateChildFlags([], { NODE_OPTIONS: '--max-old-space-size=2000' }, 24 * GiB), [...SIMULATE_V8_FLAGS]);
  // never below Node's own default
  assert.deepEqual(simulateChildFlags([], {}, 4 * GiB), [...SIMULATE_V8_FLAGS]);
});
