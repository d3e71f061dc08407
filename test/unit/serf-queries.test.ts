// Serf's query rules (serf/serf.go Query / handleQuery / handleQueryResponse,
// query.go shouldProcessQuery / relayResponse, event.go Respond) on the sans-IO
// SerfQueries, with a fake clock, timers, randomness and network.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addrFromString } from '../../src/membership/address.js';
import {
  decodeSerfQuery, decodeSerfQueryResponse, decodeSerfRelay, encodeConflictResponse, encodeQueryFilter, encodeSerfQuery, encodeSerfQueryResponse, encodeSerfRelay,
  QueryFlag, type SerfQueryMessage,
} from '../../src/serf/query-messages.js';
import { defaultQueryTimeout, goRegExp, SerfQueries, type InboundQuery, type QueryIgnored, type QueryReply, type RelayCandidate } from '../../src/serf/queries.js';
import { conflictHandler, CONFLICT_QUERY, serfStatusOf, type InternalQueryHandler } from '../../src/serf/internal-queries.js';
import { StateError } from '../../src/errors.js';

const text = (s: string) => new Uint8Array(Buffer.from(s));
const str = (b: Uint8Array) => Buffer.from(b).toString();
const QUERIER = { addr: addrFromString('127.0.120.1'), port: 7001, name: 'querier' };

function harness(opts: { name?: string; tags?: Record<string, string>; others?: RelayCandidate[]; internal?: Map<string, InternalQueryHandler>; bufferSize?: number } = {}) {
  let now = 1000;
  let seed = 1;
  const timers: Array<{ at: number; fire: () => void; cancelled: boolean }> = [];
  const out = { broadcasts: [] as Uint8Array[], sent: [] as Array<{ to: string; bytes: Uint8Array }>, delivered: [] as InboundQuery[], ignored: [] as QueryIgnored[], counts: [] as string[] };
  const name = opts.name ?? 'me';
  const q = new SerfQueries({
    name,
    tags: () => opts.tags ?? {},
    local: () => ({ addr: addrFromString('127.0.120.2'), port: 7002 }),
    now: () => now,
    random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647),
    setTimer: (ms, fire) => {
      const t = { at: now + ms, fire, cancelled: false };
      timers.push(t);
      return () => void (t.cancelled = true);
    },
    broadcast: (_k, m) => out.broadcasts.push(m),
    sendToAddress: (to, m) => out.sent.push({ to: `${to.name}@${to.port}`, bytes: m }),
    members: () => ({ others: opts.others ?? [], count: (opts.others?.length ?? 0) + 1 }),
    defaultTimeoutMs: () => 3200,
    deliver: (x) => out.delivered.push(x),
    internal: opts.internal ?? new Map(),
    ignored: (w) => out.ignored.push(w),
    sent: (w) => out.counts.push(`sent:${w}`),
    received: (w) => out.counts.push(`received:${w}`),
    ...(opts.bufferSize ? { bufferSize: opts.bufferSize } : {}),
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.filter((t) => !t.cancelled && t.at <= now)) {
      t.cancelled = true;
      t.fire();
    }
  };
  return { q, out, advance, pendingTimers: () => timers.filter((t) => !t.cancelled).length };
}

function query(over: Partial<SerfQueryMessage> = {}): SerfQueryMessage {
  return {
    type: 'query', ltime: 5n, id: 99, addr: QUERIER.addr, port: QUERIER.port, sourceNode: 'querier', filters: [], flags: QueryFlag.ack,
    relayFactor: 0, timeoutNs: 2_000_000_000n, name: 'load', payload: text('?'), ...over,
  };
}
const responses = (sent: Array<{ bytes: Uint8Array }>) =>
  sent.map((s) => decodeSerfQueryResponse(s.bytes)).map((d) => (d.ok ? `${d.message.flags & 1 ? 'ack' : 'resp'}:${d.message.from}:${str(d.message.payload)}` : 'bad'));

describe('SerfQueries: answering', () => {
  it('acks at once, delivers, responds to the querier by address, and gossips the very bytes on', () => {
    const { q, out } = harness();
    const bytes = encodeSerfQuery(query());
    assert.equal(q.receive(bytes), undefined);
    assert.deepEqual(out.broadcasts, [bytes]);
    assert.deepEqual(responses(out.sent), ['ack:me:']);
    assert.equal(out.sent[0]!.to, 'querier@7001');
    assert.equal(out.delivered.length, 1);
    const d = out.delivered[0]!;
    assert.deepEqual([d.name, str(d.payload), d.ltime, d.id, d.from, d.deadline], ['load', '?', 5n, 99, 'querier', 3000]);
    d.respond(text('0.5'));
    assert.deepEqual(responses(out.sent), ['ack:me:', 'resp:me:0.5']);
    assert.throws(() => d.respond(text('again')), StateError);
    assert.ok(q.clock.time() > 5n, 'query clock witnessed');
  });

  it('no ack unless asked; no gossip when noBroadcast', () => {
    const { q, out } = harness();
    q.receive(encodeSerfQuery(query({ flags: QueryFlag.noBroadcast })));
    assert.deepEqual(out.sent, []);
    assert.deepEqual(out.broadcasts, []);
    assert.equal(out.delivered.length, 1);
  });

  it('a query heard twice (same LTime and ID) is handled once; another ID at that time is new', () => {
    const { q, out } = harness();
    q.receive(encodeSerfQuery(query()));
    q.receive(encodeSerfQuery(query()));
    q.receive(encodeSerfQuery(query({ id: 100 })));
    assert.equal(out.delivered.length, 2);
    assert.equal(out.broadcasts.length, 2);
    assert.deepEqual(out.ignored, ['duplicate']);
  });

  it('a query more than a buffer behind the clock is too old', () => {
    const { q, out } = harness({ bufferSize: 8 });
    q.receive(encodeSerfQuery(query({ ltime: 100n })));
    q.receive(encodeSerfQuery(query({ ltime: 90n, id: 1 })));
    q.receive(encodeSerfQuery(query({ ltime: 95n, id: 2 })));
    assert.deepEqual(out.ignored, ['too_old']);
    assert.equal(out.delivered.length, 2);
    // the ring slot of time 97 (mod 8 = 1) was not taken by 105 - 8·n: a new time is new
    q.receive(encodeSerfQuery(query({ ltime: 108n, id: 99 })));
    assert.equal(out.delivered.length, 3, 'same id at another time (slot reused)');
  });

  it('the response size limit: RangeError, and nothing sent', () => {
    const { q, out } = harness();
    q.receive(encodeSerfQuery(query({ flags: 0 })));
    const d = out.delivered[0]!;
    assert.throws(() => d.respond(new Uint8Array(1024)), RangeError);
    d.respond(new Uint8Array(900));
    assert.equal(out.sent.length, 1);
    assert.ok(encodeSerfQueryResponse({ ltime: 5n, id: 99, from: 'me', flags: 0, payload: new Uint8Array(900) }).length <= 1024);
  });

  it('a response after the deadline is a StateError', () => {
    const { q, out, advance } = harness();
    q.receive(encodeSerfQuery(query({ flags: 0 })));
    advance(2001);
    assert.throws(() => out.delivered[0]!.respond(text('late')), /past its deadline/);
    assert.deepEqual(out.sent, []);
  });
});

describe('SerfQueries: filters', () => {
  const nodeF = (...n: string[]) => encodeQueryFilter({ type: 'node', nodes: n });
  const tagF = (tag: string, expr: string) => encodeQueryFilter({ type: 'tag', tag, expr });
  const cases: Array<[string, Uint8Array[], boolean | QueryIgnored]> = [
    ['no filters', [], true],
    ['named', [nodeF('x', 'me')], true],
    ['not named', [nodeF('x', 'y')], 'filtered'],
    ['tag matches (unanchored)', [tagF('role', 'eb')], true],
    ['tag anchored mismatch', [tagF('role', '^eb')], 'filtered'],
    ['missing tag matched as ""', [tagF('dc', '^$')], true],
    ['missing tag', [tagF('dc', 'east')], 'filtered'],
    ['Go flag group (?i)', [tagF('role', '(?i)^WEB$')], true],
    ['both must pass', [nodeF('me'), tagF('role', 'db')], 'filtered'],
    ['bad regexp', [tagF('role', '(')], 'bad_filter'],
    ['unknown filter type', [Uint8Array.of(9, 0xc0)], 'bad_filter'],
    ['undecodable filter', [Uint8Array.of(0, 0x92)], 'bad_filter'],
  ];
  for (const [what, filters, expect] of cases) {
    it(`${what}: ${expect === true ? 'answered' : expect}`, () => {
      const { q, out } = harness({ tags: { role: 'web' } });
      q.receive(encodeSerfQuery(query({ filters })));
      assert.equal(out.broadcasts.length, 1, 'gossiped on even when not for us');
      if (expect === true) {
        assert.equal(out.delivered.length, 1);
        assert.deepEqual(responses(out.sent), ['ack:me:']);
      } else {
        assert.equal(out.delivered.length, 0);
        assert.deepEqual(out.sent, [], 'no ack from a member filtered out');
        assert.deepEqual(out.ignored, [expect]);
      }
    });
  }

  it('goRegExp', () => {
    assert.ok(goRegExp('^a.c$')!.test('abc'));
    assert.equal(goRegExp('(?i)x')!.flags, 'i');
    assert.equal(goRegExp('['), undefined);
  });
});

describe('SerfQueries: relays', () => {
  const member = (name: string, over: Partial<RelayCandidate> = {}): RelayCandidate => ({ name, addr: addrFromString('127.0.120.9'), port: 8000 + name.length, alive: true, protocolMax: 5, ...over });

  it('the ack and the response also go through relayFactor live, protocol-5 members, wrapped for the querier', () => {
    const others = [member('a'), member('bb'), member('ccc', { alive: false }), member('dddd', { protocolMax: 4 })];
    const { q, out } = harness({ others });
    q.receive(encodeSerfQuery(query({ relayFactor: 2 })));
    out.delivered[0]!.respond(text('r'));
    const direct = out.sent.filter((s) => s.bytes[0] === 5);
    const relayed = out.sent.filter((s) => s.bytes[0] === 9);
    assert.deepEqual(responses(direct), ['ack:me:', 'resp:me:r']);
    assert.equal(relayed.length, 4);
    assert.deepEqual(new Set(relayed.map((r) => r.to)), new Set(['a@8001', 'bb@8002']));
    for (const r of relayed) {
      const d = decodeSerfRelay(r.bytes);
      assert.ok(d.ok);
      assert.deepEqual([d.message.destName, d.message.destPort, [...d.message.destAddr]], ['querier', 7001, [127, 0, 120, 1]]);
      assert.ok(decodeSerfQueryResponse(d.message.inner).ok);
    }
  });

  it('no relay when there are fewer than relayFactor other members', () => {
    const { q, out } = harness({ others: [member('a')] });
    q.receive(encodeSerfQuery(query({ relayFactor: 2 })));
    assert.deepEqual(out.sent.map((s) => s.bytes[0]), [5]);
  });

  it('a relay received is forwarded, unread, to its destination', () => {
    const { q, out } = harness();
    const inner = encodeSerfQueryResponse({ ltime: 1n, id: 2, from: 'x', flags: 0, payload: text('p') });
    assert.equal(q.receive(encodeSerfRelay({ destAddr: QUERIER.addr, destPort: 7001, destName: 'querier', inner })), undefined);
    assert.deepEqual(out.sent, [{ to: 'querier@7001', bytes: inner }]);
    assert.deepEqual(out.counts, ['sent:forward']);
  });
});

describe('SerfQueries: asking', () => {
  function ask(h: ReturnType<typeof harness>, params = {}) {
    const replies: QueryReply[] = [];
    let done = 0;
    const r = h.q.query('load', text('?'), params, { reply: (x) => replies.push(x), done: () => done++ });
    return { r, replies, done: () => done };
  }

  it('sends at the query clock, handles it locally (acks and answers itself), gossips it', () => {
    const h = harness();
    const t0 = h.q.clock.time();
    const a = ask(h, { timeoutMs: 500 });
    assert.equal(a.r.ltime, t0);
    assert.ok(h.q.clock.time() > t0);
    assert.equal(h.out.broadcasts.length, 1);
    const sent = decodeSerfQuery(h.out.broadcasts[0]!);
    assert.ok(sent.ok);
    assert.deepEqual([sent.message.sourceNode, sent.message.port, sent.message.flags, sent.message.timeoutNs], ['me', 7002, QueryFlag.ack, 500_000_000n]);
    assert.deepEqual(a.replies, [{ type: 'ack', from: 'me' }], 'own ack, without the network');
    h.out.delivered[0]!.respond(text('mine'));
    assert.deepEqual(a.replies[1], { type: 'response', from: 'me', payload: text('mine') });
    assert.deepEqual(h.out.sent, []);
    // the gossiped copy coming back is a duplicate
    h.q.receive(h.out.broadcasts[0]!);
    assert.deepEqual(h.out.ignored, ['duplicate']);
  });

  it('collects each member once (relayed duplicates dropped), ends at the timeout, then ignores replies', () => {
    const h = harness();
    const a = ask(h, { timeoutMs: 1000, relayFactor: 1 });
    const resp = (from: string, flags: number) => encodeSerfQueryResponse({ ltime: a.r.ltime, id: a.r.id, from, flags, payload: flags ? new Uint8Array(0) : text(from) });
    h.q.receive(resp('x', QueryFlag.ack));
    h.q.receive(resp('x', QueryFlag.ack));
    h.q.receive(resp('x', 0));
    h.q.receive(resp('x', 0));
    h.q.receive(encodeSerfQueryResponse({ ltime: a.r.ltime, id: a.r.id + 1, from: 'y', flags: 0, payload: text('?') }));
    h.q.receive(encodeSerfQueryResponse({ ltime: a.r.ltime + 50n, id: a.r.id, from: 'y', flags: 0, payload: text('?') }));
    assert.deepEqual(a.replies.map((r) => `${r.type}:${r.from}`), ['ack:me', 'ack:x', 'response:x']);
    assert.deepEqual(h.out.ignored, ['duplicate_reply', 'duplicate_reply', 'id_mismatch', 'no_query']);
    assert.equal(a.done(), 0);
    assert.equal(h.q.open, 1);
    h.advance(1000);
    assert.equal(a.done(), 1);
    assert.equal(h.q.open, 0);
    h.q.receive(resp('z', 0));
    assert.equal(a.replies.length, 3);
  });

  it('acks to a query that asked for none are dropped', () => {
    const h = harness();
    const a = ask(h, { ack: false });
    assert.deepEqual(a.replies, []);
    h.q.receive(encodeSerfQueryResponse({ ltime: a.r.ltime, id: a.r.id, from: 'x', flags: QueryFlag.ack, payload: new Uint8Array(0) }));
    assert.deepEqual(h.out.ignored, ['ack_unrequested']);
    assert.equal(a.r.timeoutMs, 3200, 'the default timeout');
  });

  it('filters go on the wire; our own query filtered us out: no own ack', () => {
    const h = harness({ tags: { role: 'db' } });
    const a = ask(h, { nodes: ['a', 'b'], tags: { role: '^web$' } });
    const sent = decodeSerfQuery(h.out.broadcasts[0]!);
    assert.ok(sent.ok);
    assert.deepEqual(sent.message.filters, [encodeQueryFilter({ type: 'node', nodes: ['a', 'b'] }), encodeQueryFilter({ type: 'tag', tag: 'role', expr: '^web$' })]);
    assert.deepEqual(a.replies, []);
  });

  it('the query size limit', () => {
    const h = harness();
    assert.throws(() => h.q.query('big', new Uint8Array(1000), {}, { reply() {}, done() {} }), /QuerySizeLimit/);
    assert.equal(h.q.open, 0);
    assert.equal(h.pendingTimers(), 0);
  });

  it('stop() ends every open query and cancels its timer', () => {
    const h = harness();
    const a = ask(h);
    const b = ask(h);
    assert.equal(h.pendingTimers(), 2);
    h.q.stop();
    assert.deepEqual([a.done(), b.done(), h.q.open, h.pendingTimers()], [1, 1, 0, 0]);
    assert.equal(h.q.receive(encodeSerfQuery(query())), undefined);
    assert.equal(h.out.delivered.length, 2, 'nothing handled after stop');
  });

  it('the query clock witnesses a push-pull QueryLTime (minus one)', () => {
    const h = harness();
    h.q.witnessState(40n);
    assert.equal(h.q.clock.time(), 40n);
    h.q.witnessState(0n);
    assert.equal(h.q.clock.time(), 40n);
  });

  it("Serf's default timeout formula", () => {
    // LAN: GossipInterval 200 ms × 16 × ceil(log10(N+1))
    assert.equal(defaultQueryTimeout(200, 1), 3200);
    assert.equal(defaultQueryTimeout(200, 9), 3200);
    assert.equal(defaultQueryTimeout(200, 10), 6400);
    assert.equal(defaultQueryTimeout(200, 100), 9600);
  });
});

describe('SerfQueries: internal queries', () => {
  it('answered by the handler table, never delivered; acked all the same; unknown ones only acked', () => {
    const seen: string[] = [];
    const internal = new Map<string, InternalQueryHandler>([
      ['_serf_ping', () => undefined],
      ['_serf_echo', (x) => (seen.push(`${x.name}/${x.from}`), x.payload)],
    ]);
    const h = harness({ internal });
    h.q.receive(encodeSerfQuery(query({ name: '_serf_ping', id: 1 })));
    h.q.receive(encodeSerfQuery(query({ name: '_serf_echo', id: 2, payload: text('hi') })));
    h.q.receive(encodeSerfQuery(query({ name: '_serf_nope', id: 3 })));
    assert.equal(h.out.delivered.length, 0);
    assert.deepEqual(responses(h.out.sent), ['ack:me:', 'ack:me:', 'resp:me:hi', 'ack:me:']);
    assert.deepEqual(seen, ['_serf_echo/querier']);
    assert.deepEqual(h.out.ignored, ['unknown_internal']);
    assert.equal(h.out.broadcasts.length, 3);
  });

  it('an internal answer over the size limit is not sent, and does not throw', () => {
    const h = harness({ internal: new Map([['_serf_big', () => new Uint8Array(2000)]]) });
    h.q.receive(encodeSerfQuery(query({ name: '_serf_big', flags: 0 })));
    assert.deepEqual(h.out.sent, []);
  });
});

describe('SerfQueries: bad input', () => {
  it('returns the drop reason and changes nothing', () => {
    const h = harness();
    const b = encodeSerfQuery(query());
    assert.equal(h.q.receive(b.subarray(0, 10)), 'truncated');
    assert.equal(h.q.receive(Uint8Array.of(5, 0x81, 0xa4, 0x46, 0x72, 0x6f, 0x6d, 0x01)), 'malformed');
    assert.equal(h.q.receive(Uint8Array.of(9)), 'truncated');
    assert.equal(h.q.receive(Uint8Array.of(3, 0x80)), 'unknown_type');
    assert.equal(h.q.clock.time(), 1n);
    assert.deepEqual([h.out.sent, h.out.broadcasts, h.out.delivered], [[], [], []]);
  });
});

describe("Serf's conflict query (internal_query.go handleConflict)", () => {
  const dup = { name: 'dup', addr: addrFromString('127.0.120.9'), port: 7946, tags: { role: 'web' }, status: 1, vsn: [1, 5, 2, 2, 5, 4] };
  const handler = conflictHandler('me', (n) => (n === 'dup' ? dup : undefined));

  it('answers with the member we know by that name, nil when none, nothing when it is ours', () => {
    assert.deepEqual(handler({ name: CONFLICT_QUERY, payload: text('dup'), from: 'q' }), encodeConflictResponse(dup));
    assert.deepEqual(handler({ name: CONFLICT_QUERY, payload: text('ghost'), from: 'q' }), Uint8Array.of(6, 0xc0));
    assert.equal(handler({ name: CONFLICT_QUERY, payload: text('me'), from: 'q' }), undefined);
  });

  it('through SerfQueries: acked and answered by address, never delivered', () => {
    const h = harness({ internal: new Map([[CONFLICT_QUERY, handler]]) });
    h.q.receive(encodeSerfQuery(query({ name: CONFLICT_QUERY, payload: text('dup') })));
    assert.equal(h.out.delivered.length, 0);
    const [ack, resp] = h.out.sent.map((s) => decodeSerfQueryResponse(s.bytes));
    assert.ok(ack?.ok && resp?.ok);
    assert.equal(ack.message.flags, QueryFlag.ack);
    assert.deepEqual(resp.message.payload, encodeConflictResponse(dup));
  });

  it('member states as serf.MemberStatus', () => {
    assert.deepEqual((['alive', 'suspect', 'dead', 'left'] as const).map(serfStatusOf), [1, 1, 4, 3]);
  });
});
