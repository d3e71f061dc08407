// Keyring semantics from memberlist (spec §6.4): primary first, install is
// idempotent, use moves a key to the front, the primary can't be removed, and
// every installed key can decrypt; and from Serf: a ring made without keys
// (encryption off) refuses every change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, KeyringError } from '../../src/errors.js';
import { Keyring } from '../../src/security/keyring.js';
import { decryptPayload, encryptPayload } from '../../src/wire/crypto.js';

// The key the Serf capture was made with (-encrypt=AAECAwQFBgcICQoLDA0ODw==).
const SERF_KEY = 'AAECAwQFBgcICQoLDA0ODw==';
const SERF_BYTES = Uint8Array.from({ length: 16 }, (_, i) => i);
const K24 = new Uint8Array(24).fill(7);
const K32 = new Uint8Array(32).fill(9);
const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');

const isConfigError = (field: string) => (e: unknown) => e instanceof ConfigError && e.field === field;

test('parseKey accepts standard and url-safe base64 and raw bytes of 16, 24 or 32 bytes', () => {
  assert.deepEqual(Keyring.parseKey(SERF_KEY), SERF_BYTES);
  assert.deepEqual(Keyring.parseKey('AAECAwQFBgcICQoLDA0ODw'), SERF_BYTES); // unpadded
  assert.deepEqual(Keyring.parseKey(` ${SERF_KEY}\n`), SERF_BYTES); // as read from a file
  // bytes that need + and / in standard base64, and - and _ in url-safe
  const odd = new Uint8Array(32).fill(0xfb);
  odd[1] = 0xff;
  assert.deepEqual(Keyring.parseKey(Buffer.from(odd).toString('base64')), odd);
  assert.deepEqual(Keyring.parseKey(Buffer.from(odd).toString('base64url')), odd);
  assert.deepEqual(Keyring.parseKey(b64(K24)), K24);
  assert.deepEqual(Keyring.parseKey(K32), K32);
  // raw bytes are copied, so the caller can't alter the parsed key
  const raw = new Uint8Array(16);
  const parsed = Keyring.parseKey(raw);
  raw[0] = 1;
  assert.equal(parsed[0], 0);
});

test('parseKey rejects other sizes and bad base64, naming the field and the sizes', () => {
  for (const n of [0, 8, 15, 17, 31, 33, 64]) {
    assert.throws(
      () => Keyring.parseKey(new Uint8Array(n), 'encrypt'),
      (e: unknown) => isConfigError('encrypt')(e) && /16, 24 or 32 bytes/.test((e as Error).message) && (e as Error).message.includes(`got ${n}`),
    );
    assert.throws(() => Keyring.parseKey(b64(new Uint8Array(n)), 'encrypt'), isConfigError('encrypt'));
  }
  for (const bad of ['AAECAwQFBgcICQoLDA0ODw=', 'AAECAwQF!gcICQoLDA0ODw==', 'AAEC+wQF_gcICQoLDA0ODw==', 'A', '====']) {
    assert.throws(() => Keyring.parseKey(bad), isConfigError('key'), bad);
  }
  // the key itself never appears in the message: it would end up in logs
  try {
    Keyring.parseKey('AAECAwQFBgcICQoLDA0O');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(!(e as Error).message.includes('AAECAwQFBgcICQoLDA0O'));
  }
});

test('an empty ring is disabled and refuses every change, as Serf does without encryption', () => {
  const ring = new Keyring();
  assert.equal(ring.enabled, false);
  assert.equal(ring.primary, undefined);
  assert.deepEqual(ring.list(), []);
  const seen: string[][] = [];
  ring.changes$.subscribe((l) => seen.push(l));
  // Installing a first key would switch encryption on at once: every peer still in
  // plaintext would then drop this node's packets.
  for (const op of ['install', 'use', 'remove'] as const) {
    assert.throws(() => ring[op](SERF_KEY), (e: unknown) => e instanceof KeyringError && e.code === 'ERR_RXSWIM_KEYRING' && /no keyring to modify \(encryption not enabled\)/.test(e.message), op);
  }
  assert.equal(ring.enabled, false);
  assert.deepEqual(ring.list(), []);
  assert.deepEqual(seen, [[]], 'nothing emitted');
  // a bad key is still a ConfigError, whatever the ring
  assert.throws(() => ring.install('short'), isConfigError('key'));
});

test('install on an encrypted ring adds a secondary key; a present key is a no-op', () => {
  const ring = new Keyring([SERF_KEY]);
  assert.equal(ring.enabled, true);
  assert.deepEqual(ring.primary, SERF_BYTES);
  ring.install(K32);
  assert.deepEqual(ring.list(), [SERF_KEY, b64(K32)]);
  ring.install(SERF_BYTES); // already there, in another form: no-op
  ring.install(b64(K32));
  assert.deepEqual(ring.list(), [SERF_KEY, b64(K32)]);
});

test('constructor keys: first is primary, duplicates ignored, sizes validated', () => {
  const ring = new Keyring([K24, SERF_BYTES, K24]);
  assert.deepEqual(ring.keys, [K24, SERF_BYTES]);
  assert.throws(() => new Keyring([new Uint8Array(10)]), isConfigError('keys'));
});

test('use moves a key to the front in memberlist order; remove refuses the primary and unknown keys', () => {
  const a = new Uint8Array(16).fill(1);
  const b = new Uint8Array(16).fill(2);
  const c = new Uint8Array(16).fill(3);
  const ring = new Keyring([a, b, c]);
  ring.use(c);
  assert.deepEqual(ring.keys, [c, a, b]);
  ring.use(c); // already primary
  assert.deepEqual(ring.keys, [c, a, b]);
  assert.throws(() => ring.use(K32), KeyringError);
  assert.throws(() => ring.remove(c), (e: unknown) => e instanceof KeyringError && e.code === 'ERR_RXSWIM_KEYRING');
  assert.throws(() => ring.remove(K32), KeyringError);
  ring.remove(a);
  assert.deepEqual(ring.keys, [c, b]);
  assert.throws(() => ring.use('not a key'), isConfigError('key'));
});

test('keys and primary are copies', () => {
  const ring = new Keyring([SERF_BYTES]);
  ring.keys[0]!.fill(0xaa);
  ring.primary!.fill(0xaa);
  assert.deepEqual(ring.primary, SERF_BYTES);
});

test('changes$ emits the list now and after every real change, and completes', () => {
  const ring = new Keyring([SERF_KEY]);
  const seen: string[][] = [];
  let done = false;
  ring.changes$.subscribe({ next: (l) => seen.push(l), complete: () => (done = true) });
  ring.install(SERF_KEY); // no-op, no emission
  ring.install(K32);
  ring.use(K32);
  ring.remove(SERF_KEY);
  assert.throws(() => ring.remove(K32));
  ring.complete();
  assert.equal(done, true);
  assert.deepEqual(seen, [[SERF_KEY], [SERF_KEY, b64(K32)], [b64(K32), SERF_KEY], [b64(K32)]]);
  // a late subscriber gets the current list first
  const late = new Keyring([K24]);
  let first: string[] | undefined;
  late.changes$.subscribe((l) => (first ??= l)).unsubscribe();
  assert.deepEqual(first, [b64(K24)]);
});

test('decryptPayload accepts a packet sealed with a secondary key of the ring', () => {
  const ring = new Keyring([K32]);
  ring.install(SERF_KEY);
  assert.deepEqual(ring.primary, K32);
  const plaintext = new TextEncoder().encode('ping from a node still on the old key');
  for (const version of [0, 1] as const) {
    const sealed = encryptPayload(SERF_BYTES, version, plaintext);
    assert.deepEqual(decryptPayload(ring.keys, sealed), plaintext);
  }
  // and the TCP form, with the stream header as additional data
  const aad = Uint8Array.of(0x0a, 0, 0, 0, 0);
  assert.deepEqual(decryptPayload(ring.keys, encryptPayload(SERF_BYTES, 1, plaintext, aad), aad), plaintext);
  // once removed, the old key's packets no longer decrypt
  ring.remove(SERF_KEY);
  assert.throws(() => decryptPayload(ring.keys, encryptPayload(SERF_BYTES, 1, plaintext)), { name: 'DecodeError' });
});
