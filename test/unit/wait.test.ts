// test/helpers/wait.ts: the one sleep and waitFor of the tests and benchmarks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, waitFor } from '../helpers/wait.js';

test('sleep waits about as long as asked, and a negative time not at all', async () => {
  let t = Date.now();
  await sleep(50);
  assert.ok(Date.now() - t >= 45, `slept ${Date.now() - t} ms`);
  t = Date.now();
  await sleep(-1000);
  assert.ok(Date.now() - t < 500);
});

test('waitFor returns the elapsed ms once the predicate holds, sync or async probe', async () => {
  let n = 0;
  // At once means within the first probe: well under one polling interval (100 ms), not exactly 0 ms.
  assert.ok((await waitFor('at once', () => 1, (v) => v === 1, 1000)) < 50);
  const took = await waitFor('n to reach 3', () => ++n, (v) => v >= 3, 5000, 20);
  assert.equal(n, 3);
  assert.ok(took >= 30 && took < 5000, `took ${took} ms`);
  let m = 0;
  await waitFor('async m to reach 2', async () => { await sleep(1); return ++m; }, (v) => v === 2, 5000, 5);
  assert.equal(m, 2);
});

test('on timeout waitFor throws naming what it waited for and the last value seen', async () => {
  let n = 0;
  await assert.rejects(
    waitFor('the answer', () => ({ n: ++n, seen: new Map([['a', 'alive']]) }), () => false, 120, 30),
    (e: Error) => {
      assert.match(e.message, /timed out after 120 ms waiting for the answer/);
      assert.match(e.message, new RegExp(`last saw \\{"n":${n},"seen":\\{"a":"alive"\\}\\}`));
      return true;
    },
  );
  assert.ok(n >= 2, 'it polled more than once');
});

test('an exception from the probe propagates at once', async () => {
  await assert.rejects(waitFor('a probe that throws', () => { throw new Error('boom'); }, () => true, 1000), /boom/);
});
