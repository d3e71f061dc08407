// Serf's key queries (src/serf/key-queries.ts) against real Serf's answers: every vector
// in test/fixtures/serf/key-queries.json is a request a real Serf 0.9.4 node answered
// (scripts/serf-key-vectors), with its keyring before and after. rxswim's Keyring,
// set up as that node's was, must answer with the same bytes and end the same way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Keyring } from '../../src/security/keyring.js';
import {
  answerKeyQuery,
  decodeKeyRequest,
  decodeNodeKeyResponse,
  encodeKeyAnswer,
  encodeKeyRequest,
  encodeNodeKeyResponse,
  KEY_MESSAGES,
  KEY_QUERIES,
  keyQueryHandlers,
  keyResponseBudget,
  type KeyOp,
  type KeyQueryRing,
  type KeyQueryResult,
} from '../../src/serf/key-queries.js';

interface Vector {
  note: string;
  query: string;
  requestHex: string;
  before: { keys: string[]; primary: string };
  responseHex: string;
  after: { keys: string[]; primary: string };
  encrypted: boolean;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/serf/key-queries.json', import.meta.url), 'utf8')) as { vectors: Vector[] };
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'none');

function ringOf(keys: string[]): Keyring {
  return new Keyring(keys);
}

test('the fixture covers every key query, with and without encryption', () => {
  const names = new Set(fixture.vectors.map((v) => v.query));
  assert.deepEqual([...names].sort(), Object.values(KEY_QUERIES).sort());
  assert.ok(fixture.vectors.some((v) => !v.encrypted));
  assert.ok(fixture.vectors.length >= 30);
});

for (const v of fixture.vectors) {
  test(`Go vector: ${v.note}`, () => {
    const ring = ringOf(v.before.keys);
    assert.deepEqual(ring.list(), v.before.keys, 'the keyring starts as the Go node\'s did');
    const handler = keyQueryHandlers(ring, { maxPayload: keyResponseBudget('responder') }).get(v.query);
    assert.ok(handler, `a handler for ${v.query}`);
    const ours = handler({ name: v.query, payload: hex(v.requestHex), from: 'asker' });
    const goBytes = hex(v.responseHex);
    const go = decodeNodeKeyResponse(goBytes);
    assert.ok(go.ok, 'Go\'s answer decodes');
    // Our decoder reads Go's bytes completely: encoding what it read gives them back.
    assert.equal(toHex(encodeNodeKeyResponse(go.response)), v.responseHex);
    if (!go.response.result && go.response.message === '') {
      // A request that did not decode: Serf says nothing; we say why (the only difference).
      assert.ok(ours);
      const mine = decodeNodeKeyResponse(ours);
      assert.ok(mine.ok);
      assert.match(mine.response.message, /^Failed to decode key request: /);
      assert.equal(toHex(ours), toHex(encodeNodeKeyResponse({ ...go.response, message: mine.response.message })));
    } else {
      assert.equal(toHex(ours), v.responseHex, 'the same bytes as real Serf');
    }
    assert.deepEqual(ring.list(), v.after.keys, 'the keyring ends as the Go node\'s did');
    if (v.after.keys.length > 0) assert.equal(ring.list()[0], v.after.primary);
  });
}

test('the list answer is cut as Serf cuts it: 31 of 47 keys for a member named "responder"', () => {
  const v = fixture.vectors.find((x) => x.note.startsWith('list: 47 keys'))!;
  const go = decodeNodeKeyResponse(hex(v.responseHex));
  assert.ok(go.ok);
  assert.equal(go.response.keys?.length, 31);
  assert.equal(go.response.message, 'truncated key list response, showing first 31 of 47 keys');
  // With a budget too small for even an empty list, nothing is sent (as Serf, which logs an error).
  const ring = ringOf(v.before.keys);
  const answered: Array<[KeyOp, KeyQueryResult]> = [];
  const h = keyQueryHandlers(ring, { maxPayload: 40, answered: (a) => answered.push([a.op, a.result]) }).get(KEY_QUERIES.list)!;
  assert.equal(h({ name: KEY_QUERIES.list, payload: encodeKeyRequest(), from: 'a' }), undefined);
  assert.deepEqual(answered, [['list', 'error']]);
  // A budget that fits exactly 3 keys gives 3, and says so.
  const three = encodeKeyAnswer({ result: true, message: 'truncated key list response, showing first 3 of 47 keys', keys: go.response.keys!.slice(0, 3), primaryKey: go.response.primaryKey })!;
  const cut = decodeNodeKeyResponse(encodeKeyAnswer(answerKeyQuery('list', new Uint8Array(0), ring).response, three.length)!);
  assert.ok(cut.ok);
  assert.equal(cut.response.keys?.length, 3);
  assert.equal(cut.response.message, 'truncated key list response, showing first 3 of 47 keys');
});

test('keyResponseBudget leaves room for Serf\'s widest query response envelope', () => {
  // type 1, fixmap 1, field names 28, LTime uint64 9, ID and Flags uint32 5+5, payload raw16 header 3, name fixstr 1+9
  assert.equal(keyResponseBudget('responder'), 1024 - 62);
  assert.equal(keyResponseBudget('x'.repeat(40)), 1024 - (52 + 3 + 40));
});

test('a key request encodes as Serf\'s KeyManager does', () => {
  const byNote = (n: string) => fixture.vectors.find((x) => x.note === n)!;
  assert.equal(toHex(encodeKeyRequest()), byNote('list: one key').requestHex);
  const install = byNote('install a new 32-byte key');
  const d = decodeKeyRequest(hex(install.requestHex));
  assert.ok(d.ok);
  assert.equal(toHex(encodeKeyRequest(d.key)), install.requestHex);
});

test('decodeKeyRequest reads what Go\'s codec reads, and names what it cannot', () => {
  const k = new Uint8Array(16).fill(7);
  const table: Array<[string, Uint8Array, { ok: true; keyLength: number } | { ok: false; reason: string }]> = [
    ['a map', encodeKeyRequest(k), { ok: true, keyLength: 16 }],
    ['a nil Key', encodeKeyRequest(), { ok: true, keyLength: 0 }],
    ['an empty map', hex('0780'), { ok: true, keyLength: 0 }],
    ['an array of the fields', Uint8Array.from([7, 0x91, 0xb0, ...k]), { ok: true, keyLength: 16 }],
    ['trailing bytes', Uint8Array.from([...encodeKeyRequest(k), 1, 2, 3]), { ok: true, keyLength: 16 }],
    ['nothing', new Uint8Array(0), { ok: false, reason: 'truncated' }],
    ['the type byte alone', hex('07'), { ok: false, reason: 'truncated' }],
    ['a cut map', encodeKeyRequest(k).subarray(0, 10), { ok: false, reason: 'truncated' }],
    ['another message type', Uint8Array.from([8, ...encodeKeyRequest(k).subarray(1)]), { ok: false, reason: 'unknown_type' }],
    ['an integer body', hex('0705'), { ok: false, reason: 'malformed' }],
    ['an integer Key', hex('0781a34b65790c'), { ok: false, reason: 'malformed' }],
    ['a reserved byte', hex('07c1'), { ok: false, reason: 'malformed' }],
    ['deep nesting', Uint8Array.from([7, 0x82, 0xa1, 0x58, ...new Array(10).fill(0x91), 0xc0, 0xa3, 0x4b, 0x65, 0x79, 0xc0]), { ok: false, reason: 'too_deep' }],
  ];
  for (const [what, bytes, want] of table) {
    const got = decodeKeyRequest(bytes);
    if (want.ok) {
      assert.ok(got.ok, `${what}: ${got.ok ? '' : got.detail}`);
      assert.equal(got.key.length, want.keyLength, what);
    } else {
      assert.ok(!got.ok, what);
      assert.equal(got.reason, want.reason, what);
    }
  }
});

test('broken requests never throw and never change the keyring', () => {
  const keys = fixture.vectors[1]!.after.keys;
  const requests = fixture.vectors.map((v) => hex(v.requestHex));
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const malformed = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const base = requests[i % requests.length]!;
    let bytes: Uint8Array;
    if (i % 3 === 0) bytes = base.subarray(0, Math.floor(rnd() * base.length));
    else if (i % 3 === 1) {
      bytes = base.slice();
      bytes[Math.floor(rnd() * Math.min(bytes.length, 8))] = Math.floor(rnd() * 256);
    } else bytes = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
    assert.doesNotThrow(() => decodeKeyRequest(bytes));
    for (const op of ['install', 'use', 'remove'] as const) {
      const ring = ringOf(keys);
      const h = keyQueryHandlers(ring).get(KEY_QUERIES[op])!;
      let out: Uint8Array | undefined;
      assert.doesNotThrow(() => (out = h({ name: KEY_QUERIES[op], payload: bytes, from: 'x' })));
      assert.ok(out, 'every request is answered');
      const a = answerKeyQuery(op, bytes, ringOf(keys));
      if (a.result === 'malformed') {
        malformed.set(a.reason!, (malformed.get(a.reason!) ?? 0) + 1);
        assert.equal(a.response.result, false);
        assert.deepEqual(ring.list(), keys, 'a malformed request changes nothing');
      }
    }
  }
  // The run really exercised the broken paths, each kind of them.
  for (const reason of ['truncated', 'malformed', 'unknown_type']) assert.ok((malformed.get(reason) ?? 0) > 50, `${reason}: ${JSON.stringify([...malformed])}`);
});

test('a keyring that refuses for a reason of its own is answered with that reason, not thrown', () => {
  const k = new Uint8Array(16).fill(1);
  const stubborn: KeyQueryRing = {
    enabled: true,
    keys: [new Uint8Array(16).fill(9)],
    install() { throw new Error('the disk is full'); },
    use() { throw new Error('no'); },
    remove() { throw new Error('no'); },
  };
  const a = answerKeyQuery('install', encodeKeyRequest(k), stubborn);
  assert.deepEqual(a.response, { result: false, message: 'the disk is full', keys: null, primaryKey: '' });
  assert.equal(a.result, 'error');
});

test('every answer is counted by op and result', () => {
  const ring = ringOf([Buffer.alloc(16, 1).toString('base64')]);
  const seen: string[] = [];
  const h = keyQueryHandlers(ring, { answered: (a) => seen.push(`${a.op}:${a.result}${a.reason ? ':' + a.reason : ''}`) });
  const call = (op: KeyOp, payload: Uint8Array) => h.get(KEY_QUERIES[op])!({ name: KEY_QUERIES[op], payload, from: 'serf-a' });
  call('list', encodeKeyRequest());
  call('install', encodeKeyRequest(new Uint8Array(16).fill(2)));
  call('use', encodeKeyRequest(new Uint8Array(16).fill(3)));
  call('remove', hex('07'));
  call('remove', encodeKeyRequest(new Uint8Array(16).fill(1)));
  assert.deepEqual(seen, ['list:ok', 'install:ok', 'use:error', 'remove:malformed:truncated', 'remove:error']);
  const removed = decodeNodeKeyResponse(call('remove', encodeKeyRequest(new Uint8Array(16).fill(1)))!);
  assert.ok(removed.ok);
  assert.equal(removed.response.message, KEY_MESSAGES.removePrimary);
  assert.equal(ring.list().length, 2);
});

test('decodeNodeKeyResponse names what is not a key response', () => {
  assert.equal(decodeNodeKeyResponse(new Uint8Array(0)).ok, false);
  assert.equal(decodeNodeKeyResponse(hex('07')).ok, false);
  const cut = decodeNodeKeyResponse(hex(fixture.vectors[0]!.responseHex).subarray(0, 12));
  assert.ok(!cut.ok);
  assert.equal(cut.reason, 'truncated');
  const mistyped = decodeNodeKeyResponse(hex('0881a6526573756c7405'));
  assert.ok(!mistyped.ok);
  assert.equal(mistyped.reason, 'malformed');
});
