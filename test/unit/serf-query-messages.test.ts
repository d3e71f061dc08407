// Serf's query messages against bytes Serf 0.9.4's own encoders wrote
// (test/fixtures/serf/query-vectors.json, from scripts/serf-query-vectors), plus
// truncated and mistyped input: every decoder answers with a reason, never throws.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeMsgpack } from '../../src/wire/msgpack.js';
import {
  decodeQueryFilter, decodeSerfQuery, decodeSerfQueryResponse, decodeSerfRelay, encodeConflictResponse, encodeQueryFilter,
  encodeSerfQuery, encodeSerfQueryResponse, encodeSerfRelay, QueryFlag,
} from '../../src/serf/query-messages.js';
import { decodeSerfMessage } from '../../src/serf/messages.js';
import { addrFromString } from '../../src/membership/address.js';

const file = JSON.parse(readFileSync(new URL('../fixtures/serf/query-vectors.json', import.meta.url), 'utf8')) as {
  vectors: Array<{ Name: string; Fields: Record<string, unknown>; Bytes: string }>;
};
const vec = (name: string) => {
  const v = file.vectors.find((x) => x.Name === name);
  assert.ok(v, name);
  return { fields: v.Fields, bytes: new Uint8Array(Buffer.from(v.Bytes, 'base64')) };
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const text = (s: string) => new Uint8Array(Buffer.from(s));

describe('Serf query codec: Serf 0.9.4 vectors', () => {
  it('decodes a full query (filters, ack, relay factor, timeout) and encodes it back byte for byte', () => {
    const { fields: f, bytes } = vec('query-full');
    const d = decodeSerfQuery(bytes);
    assert.ok(d.ok, !d.ok ? d.detail : '');
    const q = d.message;
    assert.equal(q.ltime, 42n);
    assert.equal(q.id, f.ID);
    assert.deepEqual(q.addr, addrFromString('127.0.120.7'));
    assert.equal(q.port, 7946);
    assert.equal(q.sourceNode, 'querier');
    assert.deepEqual(q.filters.map((x) => Buffer.from(x).toString('base64')), f.Filters);
    assert.equal(q.flags, QueryFlag.ack);
    assert.equal(q.relayFactor, 2);
    assert.equal(q.timeoutNs, BigInt(f.TimeoutNs as number));
    assert.equal(q.name, 'uptime');
    assert.deepEqual(q.payload, text('how long?'));
    assert.deepEqual(encodeSerfQuery(q), bytes);
  });

  it('decodes the bare query (nil filters and payload, IPv6 source) and re-encodes it', () => {
    const { bytes } = vec('query-bare');
    const d = decodeSerfQuery(bytes);
    assert.ok(d.ok);
    assert.deepEqual(d.message.filters, []);
    assert.deepEqual(d.message.payload, new Uint8Array(0));
    assert.equal(d.message.addr.length, 16);
    assert.equal(d.message.timeoutNs, 800_000_000n);
    assert.deepEqual(encodeSerfQuery(d.message), bytes);
    const nb = decodeSerfQuery(vec('query-noBroadcast').bytes);
    assert.ok(nb.ok);
    assert.equal(nb.message.flags, QueryFlag.ack | QueryFlag.noBroadcast);
  });

  it('filters: node list and tag regexp, both ways', () => {
    const n = vec('filter-node');
    const t = vec('filter-tag');
    assert.deepEqual(decodeQueryFilter(n.bytes), { ok: true, filter: { type: 'node', nodes: ['rx-a', 'serf-b'] } });
    assert.deepEqual(decodeQueryFilter(t.bytes), { ok: true, filter: { type: 'tag', tag: 'role', expr: '^web-[0-9]+$' } });
    assert.deepEqual(encodeQueryFilter({ type: 'node', nodes: ['rx-a', 'serf-b'] }), n.bytes);
    assert.deepEqual(encodeQueryFilter({ type: 'tag', tag: 'role', expr: '^web-[0-9]+$' }), t.bytes);
    assert.equal(decodeQueryFilter(Uint8Array.of(7, 0x90)).ok, false);
    assert.equal(decodeQueryFilter(Uint8Array.of(1, 0x92, 0xa1, 0x61, 0xa1, 0x62)).ok, false, 'a tag filter that is a list');
    assert.equal(decodeQueryFilter(Uint8Array.of(0, 0x92, 0xa1)).ok, false, 'truncated');
  });

  it('acks and responses', () => {
    for (const name of ['response-ack', 'response-payload']) {
      const { fields: f, bytes } = vec(name);
      const d = decodeSerfQueryResponse(bytes);
      assert.ok(d.ok);
      assert.equal(d.message.ltime, 42n);
      assert.equal(d.message.id, f.ID);
      assert.equal(d.message.from, 'serf-b');
      assert.equal(d.message.flags, f.Flags);
      assert.deepEqual(Buffer.from(d.message.payload).toString('base64'), (f.Payload as string | undefined) ?? '');
      assert.deepEqual(encodeSerfQueryResponse(d.message), bytes);
    }
  });

  it('relays: header (IPv4-in-16 and 4-byte IP) then the wrapped message as it is', () => {
    for (const name of ['relay-response', 'relay-ack-ip4']) {
      const { fields: f, bytes } = vec(name);
      const d = decodeSerfRelay(bytes);
      assert.ok(d.ok, JSON.stringify(d));
      assert.equal(d.message.destPort, 7946);
      assert.equal(d.message.destName, 'querier');
      assert.deepEqual(d.message.inner, b64(f.Inner as string));
      assert.deepEqual(encodeSerfRelay(d.message), bytes);
      assert.ok(decodeSerfQueryResponse(d.message.inner).ok);
    }
  });

  it("the conflict answer: the member, or nil", () => {
    const { bytes } = vec('conflict-member');
    assert.deepEqual(
      encodeConflictResponse({ name: 'dup', addr: addrFromString('127.0.120.9'), port: 7946, tags: { role: 'web' }, status: 1, vsn: [1, 5, 2, 2, 5, 4] }),
      bytes,
    );
    assert.deepEqual(encodeConflictResponse(undefined), vec('conflict-none').bytes);
  });

  it('decodeSerfMessage reads the query clock of a Serf push-pull', () => {
    const d = decodeSerfMessage(vec('pushpull-querytime').bytes);
    assert.ok(d.ok && d.message.type === 'pushPull');
    assert.equal(d.message.queryLTime, 77n);
  });
});

describe('Serf query codec: bad input is a reason, never a throw', () => {
  const full = vec('query-full').bytes;
  const resp = vec('response-payload').bytes;
  const relay = vec('relay-response').bytes;

  it('every truncation of a query, a response and a relay is dropped as truncated', () => {
    for (const [bytes, dec] of [[full, decodeSerfQuery], [resp, decodeSerfQueryResponse], [relay, decodeSerfRelay]] as const) {
      // past its header, a cut relay only shortens the wrapped message, which the relay does not read
      const inner = b64(vec('relay-response').fields.Inner as string);
      const upto = dec === decodeSerfRelay ? bytes.length - inner.length + 1 : bytes.length;
      for (let n = 0; n < upto; n++) {
        const d = (dec as (b: Uint8Array) => { ok: boolean; reason?: string })(bytes.subarray(0, n));
        assert.equal(d.ok, false, `${n} bytes`);
        assert.equal(d.reason, 'truncated', `${n} bytes: ${JSON.stringify(d)}`);
      }
    }
  });

  it('mistyped fields are malformed', () => {
    const q = (over: Record<string, unknown>) => {
      const base = { Addr: addrFromString('127.0.0.1'), Filters: null, Flags: 0, ID: 1, LTime: 1, Name: 'n', Payload: null, Port: 1, RelayFactor: 0, SourceNode: 's', Timeout: 1 };
      const b = encodeMsgpack({ ...base, ...over } as never);
      return Uint8Array.of(4, ...b);
    };
    assert.ok(decodeSerfQuery(q({})).ok);
    for (const over of [{ LTime: 'x' }, { ID: -1 }, { ID: 2 ** 32 }, { Port: 70000 }, { Name: 3 }, { Filters: [1] }, { Filters: 'x' }, { RelayFactor: 300 }, { Payload: 5 }, { Flags: true }, { Timeout: 'x' }]) {
      const d = decodeSerfQuery(q(over));
      assert.deepEqual([d.ok, !d.ok && d.reason], [false, 'malformed'], JSON.stringify(over));
    }
    assert.equal((decodeSerfQuery(Uint8Array.of(4, 0x93, 1, 2, 3)) as { reason: string }).reason, 'malformed');
    assert.equal((decodeSerfQuery(Uint8Array.of(5, 0x80)) as { reason: string }).reason, 'unknown_type');
    const r = (over: Record<string, unknown>) => Uint8Array.of(5, ...encodeMsgpack({ Flags: 0, From: 'a', ID: 1, LTime: 1, Payload: null, ...over } as never));
    assert.ok(decodeSerfQueryResponse(r({})).ok);
    for (const over of [{ From: 1 }, { LTime: -2 }, { Payload: [1] }, { From: null }]) assert.equal(decodeSerfQueryResponse(r(over)).ok, false, JSON.stringify(over));
    const rel = (h: unknown) => Uint8Array.of(9, ...encodeMsgpack(h as never), 5, 0x80);
    assert.ok(decodeSerfRelay(rel({ DestAddr: { IP: addrFromString('127.0.0.1'), Port: 1, Zone: '' }, DestName: 'q' })).ok);
    for (const h of [{ DestAddr: 'x' }, { DestAddr: { IP: Uint8Array.of(1, 2), Port: 1 } }, { DestAddr: { IP: addrFromString('127.0.0.1'), Port: -1 } }, [1]]) {
      assert.equal((decodeSerfRelay(rel(h)) as { reason: string }).reason, 'malformed', JSON.stringify(h));
    }
  });

  it('decodeSerfMessage decodes queries, responses and relays, and gives the same reasons', () => {
    assert.equal(decodeSerfMessage(full).ok && (decodeSerfMessage(full) as { message: { type: string } }).message.type, 'query');
    assert.equal((decodeSerfMessage(resp) as { message: { type: string } }).message.type, 'queryResponse');
    assert.equal((decodeSerfMessage(relay) as { message: { type: string } }).message.type, 'relay');
    assert.equal((decodeSerfMessage(full.subarray(0, 20)) as { reason: string }).reason, 'truncated');
  });

  it('random bytes behind each type byte never throw', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 3000; i++) {
      const len = 1 + (rnd() % 60);
      const b = new Uint8Array(len).map(rnd);
      b[0] = [4, 5, 9][i % 3]!;
      for (const dec of [decodeSerfQuery, decodeSerfQueryResponse, decodeSerfRelay, decodeSerfMessage]) dec(b);
      decodeQueryFilter(b.subarray(1));
    }
  });
});
