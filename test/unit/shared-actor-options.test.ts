// Members share one `actor.options` (src/swim/shared-actor-options.ts). That is sound only
// while XState reads nothing from `actor.options` after the constructor but what the
// shared object holds the same: checked here against the installed XState's own code,
// so an upgrade that reads more fails this test instead of misbehaving.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { clockFromScheduler } from '../../src/clock.js';
import { createRandom } from '../../src/sim/random.js';
import { Registry } from '../../src/swim/registry.js';
import { OPTIONS_READ_AFTER_CONSTRUCTION } from '../../src/swim/shared-actor-options.js';

const dist = dirname(createRequire(import.meta.url).resolve('xstate'));

/** every property of `this.options` XState's Actor class reads, and every assignment to it */
function optionsUse(): { reads: Set<string>; assignments: string[]; files: number } {
  const reads = new Set<string>();
  const assignments: string[] = [];
  let files = 0;
  for (const f of readdirSync(dist).filter((n) => /\.(cjs|esm)\.js$/.test(n))) {
    const file = readFileSync(join(dist, f), 'utf8');
    // the class body: from its declaration to the closing brace at the start of a line
    const start = file.indexOf('\nclass Actor {');
    if (start < 0) continue;
    const src = file.slice(start, file.indexOf('\n}\n', start));
    files++;
    for (const m of src.matchAll(/this\.options\??\.([A-Za-z_$][\w$]*)/g)) reads.add(m[1]!);
    for (const m of src.matchAll(/\{([^{}]*)\}\s*=\s*this\.options\b/g)) for (const k of m[1]!.split(',')) reads.add(k.trim().split(/[:\s=]/)[0]!);
    for (const m of src.matchAll(/this\.options\s*=(?!=)\s*([^;\n]*)/g)) assignments.push(m[1]!.trim());
  }
  return { reads, assignments, files };
}

test("XState reads only input and devTools from actor.options, and sets it only in the constructor", () => {
  const { reads, assignments, files } = optionsUse();
  assert.ok(files >= 4, `found XState's actor code in ${dist} (${files} files)`);
  assert.deepEqual([...reads].sort(), [...OPTIONS_READ_AFTER_CONSTRUCTION].sort(), 'what XState reads from this.options');
  assert.deepEqual([...new Set(assignments)].sort(), ['resolvedOptions', 'void 0']);
});

test('members share one options object: the parent kept, the restored snapshot not', () => {
  const s = new VirtualTimeScheduler();
  const reg = new Registry({ clock: clockFromScheduler(s), random: createRandom(1), onChange: () => {}, onExpired: () => {} });
  for (const name of ['a', 'b']) reg.create(name, { addr: Uint8Array.of(10, 0, 0, 1), port: 7946, meta: new Uint8Array(0), vsn: Uint8Array.of(1, 5, 2, 2, 5, 4), incarnation: 1, at: 0 });
  const [a, b] = [reg.actor('a')!, reg.actor('b')!];
  assert.equal(a.options, b.options);
  assert.ok(Object.isFrozen(a.options));
  assert.equal(a.options.parent, b._parent);
  assert.equal((a.options as { snapshot?: unknown }).snapshot, undefined);
  assert.equal(a.options.devTools, false);
  assert.equal(a.getSnapshot().context.name, 'a');
  reg.stop();
});
