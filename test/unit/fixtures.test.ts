// The in-repo wire fixtures (test/fixtures/memberlist/) were produced by real Go
// memberlist and captured from real Serf agents. They must stay exactly as copied:
// every file is checked against the sha256 sum recorded in SOURCE.md.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/memberlist/', import.meta.url));

test('the fixtures every wire test reads are present in the repository', () => {
  for (const f of ['vectors.json', 'captured-serf.json']) {
    assert.ok(existsSync(FIXTURES + f), `test/fixtures/memberlist/${f} is missing`);
    assert.doesNotThrow(() => JSON.parse(readFileSync(FIXTURES + f, 'utf8')), `${f} is not JSON`);
  }
});

test('every fixture matches the sha256 sum SOURCE.md records, and every file has one', () => {
  const sums = new Map([...readFileSync(FIXTURES + 'SOURCE.md', 'utf8').matchAll(/^\| `([^`]+)` \| `([0-9a-f]{64})` \|$/gm)].map((m) => [m[1]!, m[2]!]));
  const files = readdirSync(FIXTURES).filter((f) => f !== 'SOURCE.md').sort();
  assert.deepEqual([...sums.keys()].sort(), files, 'SOURCE.md lists exactly the fixture files');
  for (const f of files) {
    const got = createHash('sha256').update(readFileSync(FIXTURES + f)).digest('hex');
    assert.equal(got, sums.get(f), `test/fixtures/memberlist/${f} was changed`);
  }
});
