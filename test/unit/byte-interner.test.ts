import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteInterner } from '../../src/swim/byte-interner.js';

test('equal bytes come back as the first array seen; different bytes stay apart', () => {
  const t = new ByteInterner();
  const a = Uint8Array.of(1, 5, 2, 2, 5, 4);
  assert.equal(t.intern(a), a);
  assert.equal(t.intern(Uint8Array.of(1, 5, 2, 2, 5, 4)), a);
  const b = Uint8Array.of(1, 5, 2, 2, 5, 5);
  assert.equal(t.intern(b), b);
  const empty = new Uint8Array(0);
  assert.equal(t.intern(empty), empty);
  assert.equal(t.intern(new Uint8Array(0)), empty);
  // bytes above 0x7f key distinctly (not folded by a text encoding)
  const hi = Uint8Array.of(0xc3, 0xa9);
  assert.equal(t.intern(hi), hi);
  assert.notEqual(t.intern(Uint8Array.of(0xe9)), hi);
  assert.equal(t.size, 5);
});

test('long arrays are handed back as they are, not kept', () => {
  const t = new ByteInterner();
  const long = new Uint8Array(65).fill(7);
  assert.equal(t.intern(long), long);
  const again = new Uint8Array(65).fill(7);
  assert.equal(t.intern(again), again);
  assert.equal(t.size, 0);
});

test('the table is bounded: past 4096 values it starts over', () => {
  const t = new ByteInterner();
  const first = Uint8Array.of(0, 0);
  t.intern(first);
  for (let i = 1; i < 4096; i++) t.intern(Uint8Array.of(i >> 8, i & 255));
  assert.equal(t.size, 4096);
  t.intern(Uint8Array.of(200, 200));
  assert.equal(t.size, 1);
  const fresh = Uint8Array.of(0, 0);
  assert.equal(t.intern(fresh), fresh, 'forgotten after the reset');
});
