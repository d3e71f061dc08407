import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Awareness } from '../../src/swim/awareness.js';

// memberlist's TestAwareness: the score saturates at 0 and max−1 and scales timeouts by score+1.
test('awareness saturates and scales', () => {
  const a = new Awareness(8);
  const cases: Array<[delta: number, score: number, scaled: number]> = [
    [0, 0, 1000],
    [-1, 0, 1000],
    [-10, 0, 1000],
    [1, 1, 2000],
    [-1, 0, 1000],
    [10, 7, 8000],
    [-1, 6, 7000],
    [-1, 5, 6000],
    [-1, 4, 5000],
    [-1, 3, 4000],
    [-1, 2, 3000],
    [-1, 1, 2000],
    [-1, 0, 1000],
    [-1, 0, 1000],
  ];
  for (const [delta, score, scaled] of cases) {
    a.apply(delta);
    assert.equal(a.score, score, `after ${delta}`);
    assert.equal(a.scale(1000), scaled, `scaled after ${delta}`);
  }
});

test('a multiplier of 1 turns the health score off', () => {
  const a = new Awareness(1);
  a.apply(5);
  assert.equal(a.score, 0);
  assert.equal(a.scale(1000), 1000);
});
