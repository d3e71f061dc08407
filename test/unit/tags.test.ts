// Serf tag encoding in node Meta: byte-exact against real Serf traffic, and
// tolerant of Meta that is not Serf's (decodeTags must never throw).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { META_MAX_SIZE, decodeTags, encodeTags, parseTagArg } from '../../src/membership/tags.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Every Meta in the capture's decoded alives and push/pull node states. */
function capturedMetas(): string[] {
  const file = JSON.parse(
    readFileSync(new URL('../fixtures/memberlist/captured-serf.json', import.meta.url), 'utf8'),
  ) as { packets: Array<{ decoded: unknown }> };
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const meta = o.Meta as { $bytes?: unknown } | undefined;
    if (meta && typeof meta.$bytes === 'string') out.push(meta.$bytes);
    Object.values(o).forEach(walk);
  };
  for (const p of file.packets) walk(p.decoded);
  return out;
}

test('captured Serf metas decode and re-encode to the same bytes', () => {
  const metas = capturedMetas().filter((m) => m.startsWith('ff'));
  // 27 Metas in the capture (alives in UDP compounds, push/pull node states over TCP)
  assert.equal(metas.length, 27);
  const seen = new Set<string>();
  for (const m of metas) {
    const tags = decodeTags(bytes(m));
    assert.ok(tags, `decodes ${m}`);
    assert.equal(hex(encodeTags(tags)), m);
    seen.add(JSON.stringify(tags));
  }
  assert.deepEqual([...seen].sort(), ['{"role":"web"}', '{}']);
  assert.deepEqual(decodeTags(bytes('ff81a4726f6c65a3776562')), { role: 'web' });
  assert.deepEqual(decodeTags(bytes('ff80')), {});
});

test('keys are sorted byte-wise and strings use old-spec raw forms', () => {
  assert.equal(hex(encodeTags({ b: '2', a: '1' })), 'ff82a161a131a162a132');
  // 32-byte value: raw16 (0xda), never str8 (0xd9), which Serf's decoder rejects for strings
  const long = 'x'.repeat(32);
  assert.equal(hex(encodeTags({ k: long })), `ff81a16bda0020${'78'.repeat(32)}`);
  // byte-wise, not UTF-16 order: U+FF5E (ef bd 9e) sorts before U+1F600 (f0 9f 98 80)
  const enc = encodeTags({ '\u{1f600}': 'a', '\uff5e': 'b' });
  assert.ok(hex(enc).indexOf('efbd9e') < hex(enc).indexOf('f09f9880'));
});

test('round trip of arbitrary tags', () => {
  // fast-check may hand out null-prototype objects; spreading gives the plain object decodeTags returns
  const tags = fc.dictionary(fc.string({ maxLength: 12, unit: 'grapheme' }), fc.string({ maxLength: 20, unit: 'grapheme' }), {
    maxKeys: 6,
  });
  fc.assert(
    fc.property(tags, (t) => {
      assert.deepEqual(decodeTags(encodeTags(t)), { ...t });
    }),
  );
  // "__proto__" is an ordinary tag, not a prototype switch
  const odd = decodeTags(encodeTags(JSON.parse('{"__proto__":"x"}') as Record<string, string>));
  assert.equal(Object.getPrototypeOf(odd), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(odd, '__proto__')?.value, 'x');
});

test('decodeTags returns undefined for meta that is not Serf tags, and never throws', () => {
  const notTags = [
    '', // no meta
    '81a4726f6c65a3776562', // a map without the 0xff marker
    'ff', // marker only
    '00ff80',
    'ff81a4726f6c65a377', // value truncated
    'ff82a161a131', // second entry missing
    'ff81a16101', // integer value
    'ff81a161c0', // nil value
    'ff8101a161', // integer key
    'ff81a16181a162a163', // map value
    'ff91a161', // array, not map
    'ffc1', // invalid format byte
    'ffdf7fffffff', // huge declared map, nothing behind it
  ];
  for (const h of notTags) assert.equal(decodeTags(bytes(h)), undefined, h);
  // Go's decoder reads one value and ignores the rest; so do we. A nil map is no tags.
  assert.deepEqual(decodeTags(bytes('ff81a161a162c3c3')), { a: 'b' });
  assert.deepEqual(decodeTags(bytes('ffc0')), {});
  // str8 / bin forms from a newer encoder are still strings
  assert.deepEqual(decodeTags(bytes('ff81d90161c40162')), { a: 'b' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      decodeTags(b);
      decodeTags(Uint8Array.of(0xff, ...b));
    }),
  );
});

test('parseTagArg splits KEY=VALUE at the first =', () => {
  assert.deepEqual(parseTagArg('role=web'), ['role', 'web']);
  assert.deepEqual(parseTagArg('expr=a=b'), ['expr', 'a=b']);
  assert.deepEqual(parseTagArg('empty='), ['empty', '']);
  for (const bad of ['role', '=web', '', '=']) {
    assert.throws(
      () => parseTagArg(bad),
      (e: unknown) => e instanceof ConfigError && e.field === 'tag',
      bad,
    );
  }
});

test('encoded tags must fit memberlist MetaMaxSize (512 bytes)', () => {
  // 0xff + fixmap(1) + a1 'k' + da 00 nn + value = 7 + n bytes
  const fits = { k: 'v'.repeat(META_MAX_SIZE - 7) };
  assert.equal(encodeTags(fits).length, 512);
  const over = { k: 'v'.repeat(META_MAX_SIZE - 6) };
  assert.throws(
    () => encodeTags(over),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'tags' && e.message === 'tags: encoded tags are 513 bytes, at most 512 allowed',
  );
  assert.throws(
    () => encodeTags({ n: 1 } as unknown as Record<string, string>),
    (e: unknown) => e instanceof ConfigError && e.field === 'tags',
  );
});
