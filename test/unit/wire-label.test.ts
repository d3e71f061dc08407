// Cluster labels on the wire (src/wire/label.ts and its use in packet.ts / stream.ts),
// checked against memberlist's own label_test.go cases (labels.json) and against what
// real Go memberlist 0.3.1 sends with a label, with and without encryption (labels-go.json).
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { firstValueFrom, from } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { DecodeError } from '../../src/errors.js';
import { DROP_REASONS } from '../../src/metrics/metrics.js';
import { readStreamFrame } from '../../src/shell/stream-reader.js';
import type { StreamConn } from '../../src/transport/transport.js';
import { encryptPayload } from '../../src/wire/crypto.js';
import {
  addLabelHeader,
  checkLabel,
  labelBytes,
  labelHeader,
  labelOverhead,
  readLabelHeader,
  stripPacketLabel,
  type LabelPolicy,
} from '../../src/wire/label.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { decodePacket, encodePacket } from '../../src/wire/packet.js';
import { encodeStream, tryDecodeStream } from '../../src/wire/stream.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/memberlist/${name}`, import.meta.url), 'utf8'));
const ml = fixture('labels.json');
const go = fixture('labels-go.json') as {
  vectors: Array<{ name: string; kind: 'packet' | 'stream'; label: string; key?: string; hex: string }>;
};

const hex = (h: string | null): Uint8Array => Buffer.from(h ?? '', 'hex');
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const policy = (label: string, acceptUnlabelled = false): LabelPolicy => ({ label: bytes(label), acceptUnlabelled });
const KEY = Buffer.from('AAECAwQFBgcICQoLDA0ODw==', 'base64');

test('memberlist AddLabelHeaderToPacket cases', () => {
  assert.equal(ml.add_packet.length, 6);
  for (const c of ml.add_packet) {
    if (c.expect_error) {
      assert.throws(() => addLabelHeader(hex(c.buf), labelBytes(c.label)), RangeError, c.name);
      continue;
    }
    assert.deepEqual(Buffer.from(addLabelHeader(hex(c.buf), labelBytes(c.label))), Buffer.from(hex(c.expect)), c.name);
  }
});

test('memberlist RemoveLabelHeaderFromPacket cases: every malformed header is label_malformed, never a throw', () => {
  assert.equal(ml.remove_packet.length, 11);
  for (const c of ml.remove_packet) {
    const r = readLabelHeader(hex(c.buf), true);
    if (c.expect_error) {
      assert.equal(r.status, 'error', c.name);
      if (r.status !== 'error') continue;
      assert.equal(r.error.reason, 'label_malformed', c.name);
      assert.ok(r.error.message.includes(c.expect_error), `${c.name}: ${r.error.message}`);
      continue;
    }
    assert.equal(r.status, 'ok', c.name);
    if (r.status !== 'ok') continue;
    assert.equal(text(r.label), c.expect_label, c.name);
    assert.deepEqual(Buffer.from(hex(c.buf).subarray(r.consumed)), Buffer.from(hex(c.expect)), c.name);
    // Through the policy that wants exactly this label, the same split.
    const s = stripPacketLabel(hex(c.buf), policy(c.expect_label));
    assert.ok(s.ok, c.name);
  }
});

test('memberlist AddLabelHeaderToStream cases', () => {
  const suffix = hex(ml.add_stream.suffix);
  for (const c of ml.add_stream.cases) {
    if (c.expect_error) {
      assert.throws(() => labelHeader(labelBytes(c.label)), RangeError, c.name);
      continue;
    }
    const written = Buffer.concat([labelHeader(labelBytes(c.label)), suffix]);
    assert.deepEqual(written, Buffer.concat([hex(c.expect), suffix]), c.name);
  }
});

const conn = (chunks: Uint8Array[]): StreamConn => ({
  remote: { host: '127.0.110.9', port: 7946 },
  data$: from(chunks),
  write: () => {},
  end: () => {},
  destroy: () => {},
});

test('memberlist RemoveLabelHeaderFromStream cases: a live stream waits for a whole header; one closed inside it is label_malformed', async () => {
  assert.equal(ml.remove_stream.length, 11);
  const ts = new TestScheduler(() => {});
  for (const c of ml.remove_stream) {
    const buf = hex(c.buf);
    const live = readLabelHeader(buf, false);
    if (c.expect_error) {
      if (c.expect_error.includes('truncated')) assert.equal(live.status, 'need-more', c.name);
      else assert.equal(live.status, 'error', c.name);
      // The stream ends there: the reader reports the header's own error.
      const err = await firstValueFrom(
        readStreamFrame(conn([buf]), { maxBytes: 1 << 20, timeoutMs: 1000, scheduler: ts, labelPolicy: policy('abc') }),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof DecodeError, c.name);
      assert.equal(err.reason, 'label_malformed', c.name);
      assert.ok(err.message.includes(c.expect_error), `${c.name}: ${err.message}`);
      continue;
    }
    if (buf.length === 0) continue; // nothing arrived yet: nothing to say
    assert.equal(live.status, 'ok', c.name);
    if (live.status !== 'ok') continue;
    assert.equal(text(live.label), c.expect_label, c.name);
    assert.deepEqual(Buffer.from(buf.subarray(live.consumed)), Buffer.from(hex(c.expect)), c.name);
  }
});

test('memberlist labelOverhead cases', () => {
  for (const c of ml.overhead) assert.equal(labelOverhead(labelBytes(c.label)), c.expect, JSON.stringify(c.label));
});

test('a header split anywhere in a stream is waited for, then read whole', () => {
  const header = labelHeader(bytes('rxswim-test'));
  for (let n = 1; n < header.length; n++) assert.equal(readLabelHeader(header.subarray(0, n), false).status, 'need-more', `first ${n} bytes`);
  const r = readLabelHeader(header, false);
  assert.ok(r.status === 'ok' && text(r.label) === 'rxswim-test' && r.consumed === header.length);
});

test('checkLabel: each way a label can be wrong has its own reason, and the rollout admits only the unlabelled', () => {
  const cases: Array<[found: string, label: string, rollout: boolean, want: string | undefined]> = [
    ['', '', false, undefined],
    ['a', 'a', false, undefined],
    ['', 'a', false, 'label_missing'],
    ['b', 'a', false, 'label_mismatch'],
    ['a', '', false, 'label_unexpected'],
    ['', 'a', true, undefined],
    ['a', 'a', true, undefined],
    ['b', 'a', true, 'label_mismatch'],
    ['ab', 'a', false, 'label_mismatch'],
    ['A', 'a', false, 'label_mismatch'],
  ];
  for (const [found, label, rollout, want] of cases) {
    assert.equal(checkLabel(bytes(found), policy(label, rollout))?.reason, want, `${JSON.stringify(found)} at a node labelled ${JSON.stringify(label)}${rollout ? ' (rollout)' : ''}`);
  }
  for (const r of ['label_malformed', 'label_missing', 'label_unexpected', 'label_mismatch']) assert.ok((DROP_REASONS as readonly string[]).includes(r), `${r} is a metric reason`);
});

const ping = encodeMessage({ type: 'ping', seqNo: 7, node: 'b' });

test('decodePacket: labelled traffic round-trips and every refusal is a typed error without messages', () => {
  const labelled = encodePacket([ping], { compress: false, crc: true, label: bytes('blue') });
  assert.deepEqual([...labelled.subarray(0, 6)], [244, 4, ...bytes('blue')]);
  assert.equal(decodePacket(labelled, { label: policy('blue') }).messages[0]?.type, 'ping');
  const reasons = (data: Uint8Array, p?: LabelPolicy) => {
    const d = decodePacket(data, p ? { label: p } : {});
    assert.equal(d.messages.length, 0);
    return d.errors.map((e) => e.reason);
  };
  assert.deepEqual(reasons(labelled, policy('green')), ['label_mismatch']);
  assert.deepEqual(reasons(labelled), ['label_unexpected']);
  const bare = encodePacket([ping], { compress: false, crc: true });
  assert.deepEqual(reasons(bare, policy('blue')), ['label_missing']);
  assert.equal(decodePacket(bare, { label: policy('blue', true) }).messages.length, 1, 'the rollout accepts unlabelled');
  assert.deepEqual(reasons(labelled.subarray(0, 4), policy('blue')), ['label_malformed']);
  assert.deepEqual(reasons(labelHeader(bytes('blue')), policy('blue')), ['malformed'], 'a header and nothing else');
  // Honoured once, outermost: a second header is an unknown message type, as in memberlist.
  assert.deepEqual(reasons(addLabelHeader(labelled, bytes('blue')), policy('blue')), ['unknown_type']);
});

test('decodePacket with a key: the label is the additional data', () => {
  const sealed = encodePacket([ping], { compress: false, crc: false, label: bytes('blue'), keyring: [KEY] });
  const keyring = [KEY];
  assert.equal(decodePacket(sealed, { keyring, label: policy('blue') }).messages[0]?.type, 'ping');
  // The right key and another label: refused by the label, before any decryption.
  assert.deepEqual(decodePacket(sealed, { keyring, label: policy('green') }).errors.map((e) => e.reason), ['label_mismatch']);
  // A header swapped for another (same length) fails authentication.
  const swapped = Uint8Array.from(sealed);
  swapped.set(bytes('bluf'), 2);
  assert.deepEqual(decodePacket(swapped, { keyring, label: policy('bluf') }).errors.map((e) => e.reason), ['decrypt_failed']);
  // Stripping the header does not get a labelled packet through a node in rollout.
  assert.deepEqual(decodePacket(sealed.subarray(6), { keyring, label: policy('blue', true) }).errors.map((e) => e.reason), ['decrypt_failed']);
  // A header inside the encrypted payload is no label: an unknown message type.
  const inner = encryptPayload(KEY, 1, addLabelHeader(ping, bytes('blue')), new Uint8Array(0));
  assert.deepEqual(decodePacket(inner, { keyring, label: policy('') }).errors.map((e) => e.reason), ['unknown_type']);
  // And by the AES-GCM definition, without our decoder: nonce, ciphertext, tag, AAD = label.
  const d = createDecipheriv('aes-128-gcm', KEY, sealed.subarray(7, 19));
  d.setAAD(bytes('blue'));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  assert.deepEqual(Buffer.concat([d.update(sealed.subarray(19, sealed.length - 16)), d.final()]), Buffer.from(ping));
});

test('streams: the opener labels, the answer is bare, both are sealed with header + label as additional data', () => {
  const msg = { type: 'ping' as const, seqNo: 3, node: 'b' };
  const request = Buffer.concat([labelHeader(bytes('blue')), encodeStream(msg, { compress: false, keyring: [KEY], label: bytes('blue') })]);
  const r = tryDecodeStream(request, { keyring: [KEY], labelPolicy: policy('blue') });
  assert.ok(r.status === 'ok' && r.message.type === 'ping' && text(r.label) === 'blue' && r.consumed === request.length);
  const refused = (buf: Uint8Array, p: LabelPolicy, keyring?: Uint8Array[]) => {
    const x = tryDecodeStream(buf, { labelPolicy: p, ...(keyring ? { keyring } : {}) });
    return x.status === 'error' ? x.error.reason : x.status;
  };
  assert.equal(refused(request, policy('green'), [KEY]), 'label_mismatch');
  assert.equal(refused(request, policy(''), [KEY]), 'label_unexpected');
  const bare = encodeStream(msg, { compress: false });
  assert.equal(refused(bare, policy('blue')), 'label_missing');
  assert.equal(refused(bare, policy('blue', true)), 'ok');
  assert.equal(refused(Buffer.concat([labelHeader(bytes('blue')), labelHeader(bytes('blue')), bare]), policy('blue')), 'unknown_type');
  // Sealed without the label: fails to authenticate under it.
  const unlabelledSeal = Buffer.concat([labelHeader(bytes('blue')), encodeStream(msg, { compress: false, keyring: [KEY] })]);
  assert.equal(refused(unlabelledSeal, policy('blue'), [KEY]), 'decrypt_failed');
  // The answer: no header, sealed with the label the request carried.
  const answer = encodeStream({ type: 'ack', seqNo: 3, payload: null }, { compress: false, keyring: [KEY], label: bytes('blue') });
  assert.equal(answer[0], 10);
  const a = tryDecodeStream(answer, { keyring: [KEY], label: bytes('blue') });
  assert.ok(a.status === 'ok' && a.message.type === 'ack');
  const wrong = tryDecodeStream(answer, { keyring: [KEY] });
  assert.ok(wrong.status === 'error' && wrong.error.reason === 'decrypt_failed');
  // By the definition: AAD = 0x0a | u32 length | label.
  const d = createDecipheriv('aes-128-gcm', KEY, answer.subarray(6, 18));
  d.setAAD(Buffer.concat([answer.subarray(0, 5), bytes('blue')]));
  d.setAuthTag(answer.subarray(answer.length - 16));
  assert.doesNotThrow(() => Buffer.concat([d.update(answer.subarray(18, answer.length - 16)), d.final()]));
});

test('Go memberlist 0.3.1 vectors: labelled packets and streams, plain and encrypted, decode under the label and only under it', () => {
  assert.equal(go.vectors.length, 12);
  for (const v of go.vectors) {
    const buf = hex(v.hex);
    const keyring = v.key ? [Buffer.from(v.key, 'base64')] : undefined;
    const other = v.label === '' ? policy('rxswim-test') : policy('other');
    if (v.kind === 'packet') {
      const d = decodePacket(buf, { label: policy(v.label), ...(keyring ? { keyring } : {}) });
      assert.deepEqual(d.errors, [], v.name);
      const m = d.messages[0]!;
      if (v.name.startsWith('user')) assert.ok(m.type === 'user' && text(m.payload) === 'hello', v.name);
      else assert.ok(m.type === 'ping' && m.node === 'peer' && m.sourceNode === 'go-labelled', v.name);
      const refused = decodePacket(buf, { label: other, ...(keyring ? { keyring } : {}) });
      assert.deepEqual(refused.errors.map((e) => e.reason), [v.label === '' ? 'label_missing' : 'label_mismatch'], v.name);
      if (keyring && v.label !== '') {
        // The AES-GCM definition: the label is the additional data; without it the tag fails.
        const sealed = buf.subarray(2 + v.label.length);
        const open = (aad: Uint8Array) => {
          const dc = createDecipheriv('aes-128-gcm', keyring[0]!, sealed.subarray(1, 13));
          dc.setAAD(aad);
          dc.setAuthTag(sealed.subarray(sealed.length - 16));
          return Buffer.concat([dc.update(sealed.subarray(13, sealed.length - 16)), dc.final()]);
        };
        assert.doesNotThrow(() => open(bytes(v.label)), v.name);
        assert.throws(() => open(new Uint8Array(0)), v.name);
      }
      continue;
    }
    const isRequest = v.name.startsWith('push-pull request');
    const r = tryDecodeStream(buf, isRequest ? { labelPolicy: policy(v.label), ...(keyring ? { keyring } : {}) } : { label: bytes(v.label), ...(keyring ? { keyring } : {}) });
    assert.equal(r.status, 'ok', `${v.name}: ${r.status === 'error' ? r.error.message : ''}`);
    if (r.status !== 'ok') continue;
    assert.equal(r.consumed, buf.length, v.name);
    assert.ok(r.message.type === 'pushPull' && r.message.join, v.name);
    const names = r.message.nodes.map((n) => n.name).sort();
    assert.deepEqual(names, [isRequest ? 'go-labelled' : 'go-server'], v.name);
    if (isRequest) {
      assert.equal(text(r.label), v.label, v.name);
      const x = tryDecodeStream(buf, { labelPolicy: other, ...(keyring ? { keyring } : {}) });
      assert.ok(x.status === 'error' && x.error.reason === (v.label === '' ? 'label_missing' : 'label_mismatch'), v.name);
    } else if (keyring) {
      // The answer has no header; only the label it is sealed with tells it apart.
      const x = tryDecodeStream(buf, { label: bytes(v.label === '' ? 'rxswim-test' : ''), keyring });
      assert.ok(x.status === 'error' && x.error.reason === 'decrypt_failed', v.name);
    }
  }
});

test('our encoder writes what Go memberlist writes, up to the random nonce', () => {
  const v = go.vectors.find((x) => x.name === 'user packet, label "rxswim-test", plaintext')!;
  const ours = encodePacket([Uint8Array.of(8, ...bytes('hello'))], { compress: false, crc: false, label: bytes('rxswim-test') });
  assert.equal(Buffer.from(ours).toString('hex'), v.hex);
});
