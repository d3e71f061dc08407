// The asking side of Serf's key queries (src/serf/key-summary.ts), fed with real Serf
// answers from test/fixtures/serf/key-queries.json: counts, messages and the key tally
// as Serf's keymanager makes them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KeyReplies } from '../../src/serf/key-summary.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/serf/key-queries.json', import.meta.url), 'utf8')) as {
  vectors: Array<{ note: string; responseHex: string }>;
};
const answer = (note: string) => new Uint8Array(Buffer.from(fixture.vectors.find((v) => v.note === note)!.responseHex, 'hex'));

test('a list from three members: each key counted once per holder, primaries apart', () => {
  const r = new KeyReplies(3);
  r.add('a', answer('list: two keys'));
  r.add('b', answer('list: two keys'));
  assert.equal(r.done, false);
  r.add('c', answer('list: one key'));
  assert.equal(r.done, true);
  const got = r.result();
  const [k1, k2] = Object.keys(got.keys);
  assert.deepEqual(got.keys, { [k1!]: 3, [k2!]: 2 });
  assert.deepEqual(got.primaryKeys, { [k1!]: 3 });
  assert.equal(got.numErr, 0);
  assert.deepEqual(got.messages, {});
  assert.equal(r.error(), undefined);
});

test('refusals count as errors with their member\'s message; a missing member is reported', () => {
  const r = new KeyReplies(4);
  r.add('serf-1', answer('remove the primary key'));
  r.add('rx-1', answer('remove the primary key'));
  r.add('rx-2', answer('remove a key not installed (no-op)'));
  assert.equal(r.done, false);
  const got = r.result();
  assert.equal(got.numResp, 3);
  assert.equal(got.numErr, 2);
  assert.deepEqual(got.messages, { 'serf-1': 'Removing the primary key is not allowed', 'rx-1': 'Removing the primary key is not allowed' });
  assert.deepEqual(got.primaryKeys, {}, 'no list, no primary');
  assert.equal(r.error(), '2/4 nodes reported failure');
  const quiet = new KeyReplies(3);
  quiet.add('a', answer('install a new 32-byte key'));
  assert.equal(quiet.error(), '1/3 nodes reported success');
});

test('a cut list succeeds and keeps its message; bytes that are not an answer are errors in Serf\'s words', () => {
  const r = new KeyReplies(3);
  r.add('big', answer('list: 47 keys, cut to fit'));
  r.add('odd', Uint8Array.from([7, 0x80]));
  r.add('cut', answer('list: one key').subarray(0, 9));
  r.add('cut', answer('list: one key'));
  const got = r.result();
  assert.equal(got.numResp, 3, 'a member counts once');
  assert.equal(got.numErr, 2);
  assert.equal(got.messages.big, 'truncated key list response, showing first 31 of 47 keys');
  assert.equal(got.messages.odd, 'Invalid key query response type: [7 128]');
  assert.match(got.messages.cut!, /^Failed to decode key query response: \[8 132 /);
  assert.equal(Object.keys(got.keys).length, 31);
});
