// POST /v1/query and `rxswim query` against the real HTTP server with a scripted
// serfQuery (the query itself is tested in serf-queries.test.ts and, against Serf,
// in test/interop/serf-queries.test.ts): the body's options reach the node as
// SerfQueryOptions, replies stream as NDJSON or SSE and end with a summary, bad input
// gets 400/413, the token is required, and the CLI prints Serf's lines and totals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { Observable } from 'rxjs';
import type { SerfQueryOptions, SerfQueryReply } from '../../src/api.js';
import { startHttpApi } from '../../src/http/server.js';
import { queryCommand } from '../../src/cli/query-command.js';

const calls: Array<{ name: string; payload: string; opts: SerfQueryOptions }> = [];
function fakeQuery(name: string, payload: Uint8Array, opts: SerfQueryOptions): Observable<SerfQueryReply> {
  if (payload.length > 1000) throw new RangeError('serfQuery(): the query is 1100 bytes encoded, over Serf\'s limit of 1024 (QuerySizeLimit)');
  if (opts.relayFactor !== undefined && opts.relayFactor > 255) throw new RangeError('serfQuery(): relayFactor must be an integer 0-255, got 300');
  calls.push({ name, payload: Buffer.from(payload).toString(), opts });
  return new Observable((sub) => {
    const t = [
      setTimeout(() => sub.next({ type: 'ack', from: 'a' }), 10),
      setTimeout(() => opts.ack !== false && sub.next({ type: 'ack', from: 'b' }), 20),
      setTimeout(() => sub.next({ type: 'response', from: 'a', payload: Buffer.from(`a: ${Buffer.from(payload).toString()}`) }), 30),
      setTimeout(() => sub.complete(), 60),
    ];
    return () => t.forEach(clearTimeout);
  });
}

test('POST /v1/query streams replies and a summary; rxswim query prints them', { timeout: 30_000 }, async () => {
  const api = await startHttpApi({ host: '127.0.120.30', port: 0, registry: new Registry(), members: () => [], serfQuery: fakeQuery, token: 'sekrit' });
  const base = `http://127.0.120.30:${api.address.port}`;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sekrit', ...headers }, body: JSON.stringify(body) });
  try {
    const r = await post({ name: 'uptime', payload: 'p', timeout: '1.5s', nodes: ['a'], tags: { role: '^w' }, ack: true, relayFactor: 2 });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines, [
      { type: 'ack', from: 'a' },
      { type: 'ack', from: 'b' },
      { type: 'response', from: 'a', payload: 'a: p', payloadBase64: Buffer.from('a: p').toString('base64') },
      { type: 'summary', name: 'uptime', acks: ['a', 'b'], responses: { a: 'a: p' } },
    ]);
    assert.deepEqual(calls.at(-1), { name: 'uptime', payload: 'p', opts: { timeoutMs: 1500, nodes: ['a'], tags: { role: '^w' }, ack: true, relayFactor: 2 } });

    const sse = await post({ name: 'x', payloadBase64: Buffer.from([0xff]).toString('base64') }, { accept: 'text/event-stream' });
    assert.equal(sse.headers.get('content-type'), 'text/event-stream');
    const events = [...(await sse.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, ['ack', 'ack', 'response', 'summary']);
    assert.deepEqual(calls.at(-1)!.opts, {});

    for (const [body, status, re] of [
      [{ name: 'x', timeout: 'soon' }, 400, /timeout/],
      [{ name: 'x', payload: 'a', payloadBase64: 'YQ==' }, 400, /not both/],
      [{ name: '' }, 400, /name/],
      [{ name: 'x', relayFactor: 300 }, 400, /relayFactor/],
      [{ name: 'x', nodes: 'a' }, 400, /nodes/],
      [{ name: 'x', payload: 'z'.repeat(1100) }, 413, /QuerySizeLimit/],
    ] as const) {
      const res = await post(body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(((await res.json()) as { error: string }).error, re);
    }
    const noToken = await fetch(`${base}/v1/query`, { method: 'POST', body: JSON.stringify({ name: 'x' }) });
    assert.equal(noToken.status, 401);

    // the CLI
    const run = async (name: string, payload: string | undefined, o: Record<string, unknown>) => {
      let out = '';
      let err = '';
      const code = await queryCommand(name, payload, { http: `127.0.120.30:${api.address.port}`, token: 'sekrit', ...o }, { out: (s) => void (out += s), err: (s) => void (err += s) });
      return { code, out, err };
    };
    const plain = await run('uptime', 'hi', { node: ['a', 'b'], tag: ['role=^w'], timeout: '2s', relayFactor: '1' });
    assert.equal(plain.code, 0, plain.err);
    assert.equal(plain.out, "Query 'uptime' dispatched\nAck from 'a'\nAck from 'b'\nResponse from 'a': a: hi\nTotal Acks: 2\nTotal Responses: 1\n");
    assert.deepEqual(calls.at(-1)!.opts, { timeoutMs: 2000, nodes: ['a', 'b'], tags: { role: '^w' }, ack: true, relayFactor: 1 });
    const noAck = await run('q', undefined, { ack: false });
    assert.equal(noAck.out, "Query 'q' dispatched\nAck from 'a'\nResponse from 'a': a: \nTotal Responses: 1\n");
    const json = await run('q', 'j', { json: true });
    assert.deepEqual(JSON.parse(json.out.trim().split('\n').at(-1)!), { type: 'summary', name: 'q', acks: ['a', 'b'], responses: { a: 'a: j' } });
    assert.equal((await run('q', undefined, { timeout: 'later' })).code, 2, 'a bad flag is a usage error');
    assert.equal((await run('q', undefined, { relayFactor: '-1' })).code, 2);
    const big = await run('q', 'z'.repeat(1100), {});
    assert.equal(big.code, 1);
    assert.match(big.err, /413.*QuerySizeLimit/);
  } finally {
    await api.close();
  }
});
