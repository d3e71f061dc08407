// docs/configuration.md's worked-out table of derived values is checked against the
// one formulas module, so the docs cannot keep a stale copy of the maths.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PRESETS, type Profile } from '../../src/config.js';
import { detectionBoundMs, retransmitLimit, suspicionBounds } from '../../src/swim/formulas.js';

test('docs/configuration.md derived values match src/swim/formulas.ts', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| (lan|wan|local) \| (\d+) \| (\d+) \| (\d+) \| (\d+)[^|]* \| (\d+) \| (\d+) \|$/gm)];
  assert.ok(rows.length >= 5, `found ${rows.length} rows of the worked-out table`);
  for (const [line, profile, n, min, max, k, retransmits, bound] of rows) {
    const cfg = PRESETS[profile as Profile];
    const b = suspicionBounds(cfg, Number(n));
    assert.deepEqual(
      [b.minMs, b.maxMs, b.k, retransmitLimit(cfg.retransmitMult, Number(n)), detectionBoundMs(cfg, Number(n))],
      [min, max, k, retransmits, bound].map(Number),
      line,
    );
  }
});
