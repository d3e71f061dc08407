// The layers of docs/architecture.md, enforced: which folder may import which, and
// that the sans-IO core (src/swim, machines) reaches no socket, Subject, process or
// wall clock, directly or through anything it imports.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function files(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((f) => {
    const p = join(dir, f);
    return statSync(join(root, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** imports of one file: relative ones resolved to repo paths, packages as written */
function importsOf(file: string): string[] {
  const src = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
    const spec = m[1] ?? m[2]!;
    out.push(spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts') : spec);
  }
  return out;
}

function closure(start: string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...start];
  while (pending.length) {
    const f = pending.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const i of importsOf(f)) if (i.endsWith('.ts')) pending.push(i);
  }
  return seen;
}

const CORE = [...files('src/swim'), ...files('machines')];

test('the core and everything it imports use no socket, rxjs, process or Node I/O module', () => {
  const reached = closure(CORE);
  for (const f of reached) {
    assert.ok(f.startsWith('src/swim/') || f.startsWith('machines/') || /^src\/(wire|membership\/(address-text|tags)|errors|clock|config|api|serf\/coordinate)\b/.test(f) || f.startsWith('src/messaging/') || f.startsWith('src/metrics/') || f.startsWith('src/security/') || f.startsWith('src/transport/transport'), `the core reaches ${f}`);
    const pkgs = importsOf(f).filter((i) => !i.endsWith('.ts'));
    // Type-only imports of api.ts (which names rxjs' Observable) carry no code; check values.
    const src = readFileSync(join(root, f), 'utf8');
    for (const p of pkgs) {
      if (['node:dgram', 'node:net', 'node:process', 'dgram-as-promised', 'node:fs', 'node:http'].includes(p)) assert.fail(`${f} (reached from the core) imports ${p}`);
      if (p === 'rxjs' && (f.startsWith('src/swim/') || f.startsWith('machines/'))) assert.fail(`${f} imports rxjs`);
    }
    if (f.startsWith('src/swim/') || f.startsWith('machines/')) {
      assert.doesNotMatch(src, /\bprocess\.|Date\.now\(|performance\.now\(|\bsetTimeout\(|\bsetInterval\(/, `${f} reads the process or a wall clock`);
    }
  }
});

test('layers import downwards only', () => {
  // folder → folders it must not import (see docs/architecture.md)
  const forbidden: Record<string, RegExp> = {
    'src/wire/': /^src\/(swim|shell|messaging|transport|node|agent|cli|http|metrics|sim)\b/,
    'src/swim/': /^src\/(shell|transport\/(udp-tcp|memory)|node|cli|http|sim|metrics)\b/,
    'machines/': /^src\/(shell|transport|node|cli|http|sim|metrics|swim\/(core|registry|rules))\b/,
    'src/shell/': /^src\/(node|cli|http|sim|transport\/(udp-tcp|memory))\b/,
    'src/transport/': /^src\/(swim|shell|node|cli|http|sim)\b/,
    'src/metrics/': /^src\/(swim\/core|shell|node|cli|http)\b/,
  };
  for (const f of [...files('src'), ...files('machines')]) {
    for (const [dir, bad] of Object.entries(forbidden)) {
      if (!f.startsWith(dir)) continue;
      for (const i of importsOf(f)) if (i.endsWith('.ts') && bad.test(i)) assert.fail(`${f} imports ${i}, above its layer`);
    }
  }
});

test('the import scanner sees imports (so the checks above can fail)', () => {
  assert.ok(importsOf('src/node.ts').includes('src/swim/core.ts'));
  assert.ok(importsOf('src/transport/udp-tcp.ts').some((i) => i === 'node:net' || i === 'dgram-as-promised'));
  assert.ok(closure(['src/node.ts']).has('src/transport/udp-tcp.ts'));
});
