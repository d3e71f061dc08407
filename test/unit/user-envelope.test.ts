import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../../src/errors.js';
import { decodeEnvelope, encodeEnvelope, ENVELOPE_MAGIC } from '../../src/messaging/user-envelope.js';

test('envelope round trip', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.nat(0xffffffff), fc.string({ maxLength: 40 }), fc.boolean(), fc.uint8Array({ maxLength: 2000 }), (from, id, topic, broadcast, payload) => {
      const e = decodeEnvelope(encodeEnvelope({ from, id, topic, broadcast, payload }));
      assert.ok(e);
      assert.deepEqual({ ...e, payload: Buffer.from(e.payload) }, { from, id, topic, broadcast, payload: Buffer.from(payload) });
    }),
  );
});

test("other applications' user messages are not ours; garbage with our magic is a typed error", () => {
  assert.equal(decodeEnvelope(Uint8Array.of(3, 0x82, 0xa1)), undefined, 'a Serf user event (type 3)');
  assert.equal(decodeEnvelope(new Uint8Array(0)), undefined);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      try {
        decodeEnvelope(Uint8Array.of(ENVELOPE_MAGIC, 1, ...tail));
      } catch (e) {
        assert.ok(e instanceof DecodeError, `unexpected ${String(e)}`);
      }
    }),
  );
});
