import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { render } from '../../scripts/diagrams.js';

test('docs/machines.md matches the machine definitions (run `npm run diagrams` to refresh)', () => {
  const current = readFileSync(new URL('../../docs/machines.md', import.meta.url), 'utf8');
  assert.equal(current, render());
});
