// The in-repo wire fixtures (test/fixtures/memberlist/) are a copy of the shared
// vectors next to the repository (../shared/vectors/memberlist/). When that folder
// exists, the copy must be byte-identical to it: same files, same bytes. A plain
// clone has no such folder, and the check is skipped with the reason. This is the
// only place that reads ../shared.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/memberlist/', import.meta.url));
const SHARED = fileURLToPath(new URL('../../../shared/vectors/memberlist/', import.meta.url));
/** ours, not in the shared folder: where the copy came from */
const LOCAL_ONLY = new Set(['SOURCE.md']);

test('the fixtures every wire test reads are present in the repository', () => {
  for (const f of ['vectors.json', 'captured-serf.json']) {
    assert.ok(existsSync(FIXTURES + f), `test/fixtures/memberlist/${f} is missing`);
    assert.doesNotThrow(() => JSON.parse(readFileSync(FIXTURES + f, 'utf8')), `${f} is not JSON`);
  }
});

test(
  'test/fixtures/memberlist is byte-identical to ../shared/vectors/memberlist',
  { skip: existsSync(SHARED) ? false : `no ${SHARED} next to the repository (a plain clone): nothing to compare with` },
  () => {
    const shared = readdirSync(SHARED).sort();
    const ours = readdirSync(FIXTURES).filter((f) => !LOCAL_ONLY.has(f)).sort();
    assert.deepEqual(ours, shared, 'the same files in both folders');
    for (const f of shared) {
      const a = readFileSync(SHARED + f);
      const b = readFileSync(FIXTURES + f);
      assert.ok(a.equals(b), `test/fixtures/memberlist/${f} differs from ${SHARED}${f} (${b.length} vs ${a.length} bytes)`);
    }
  },
);
