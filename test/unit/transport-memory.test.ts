// The in-memory network under a VirtualTimeScheduler: everything happens inside flush().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualTimeScheduler } from 'rxjs';
import { MemoryNetwork, PAUSED_DATAGRAM_LIMIT } from '../../src/transport/memory.js';
import type { MemoryNetworkOptions } from '../../src/transport/memory.js';
import type { Address, Datagram, StreamConn, Transport } from '../../src/transport/transport.js';
import { createRandom } from '../../src/sim/random.js';

/** mulberry32, inline so the test does not depend on the module it also checks */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const A: Address = { host: '10.0.0.1', port: 7946 };
const B: Address = { host: '10.0.0.2', port: 7946 };
const C: Address = { host: '10.0.0.3', port: 7946 };

function setup(opts: Partial<MemoryNetworkOptions> = {}) {
  const scheduler = new VirtualTimeScheduler();
  const net = new MemoryNetwork({ scheduler, random: mulberry32(1), ...opts });
  return { scheduler, net };
}

/** every datagram with the virtual time it arrived */
function record(t: Transport, scheduler: VirtualTimeScheduler): Array<{ at: number; d: Datagram }> {
  const got: Array<{ at: number; d: Datagram }> = [];
  t.packets$.subscribe((d) => got.push({ at: scheduler.now(), d }));
  return got;
}

/** collect a stream's chunks and how it ended */
function collect(conn: StreamConn, scheduler: VirtualTimeScheduler) {
  const r = { chunks: [] as string[], done: false, error: undefined as Error | undefined, endedAt: -1 };
  conn.data$.subscribe({
    next: (c) => r.chunks.push(text(c)),
    complete: () => {
      r.done = true;
      r.endedAt = scheduler.now();
    },
    error: (e: Error) => {
      r.error = e;
      r.endedAt = scheduler.now();
    },
  });
  return r;
}

test('createRandom is mulberry32', () => {
  const x = createRandom(1234);
  const y = mulberry32(1234);
  for (let i = 0; i < 100; i++) {
    const v = x();
    assert.equal(v, y());
    assert.ok(v >= 0 && v < 1);
  }
  assert.notEqual(createRandom(1)(), createRandom(2)());
});

test('latency is honoured in virtual time (constant and per link)', () => {
  const { scheduler, net } = setup({ latencyMs: 5 });
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const got = record(b, scheduler);
  a.sendPacket(B, bytes('one'));
  assert.equal(got.length, 0, 'nothing is delivered outside flush()');
  scheduler.maxFrames = 4;
  scheduler.flush();
  assert.equal(got.length, 0, 'not before 5 ms');
  scheduler.maxFrames = Infinity;
  scheduler.flush();
  assert.equal(got.length, 1);
  assert.equal(got[0]?.at, 5);
  assert.equal(text(got[0]!.d.data), 'one');
  assert.deepEqual(got[0]?.d.from, A);

  const s2 = setup({ latencyMs: (from, to) => (from.host === A.host && to.host === C.host ? 30 : 2) });
  const a2 = s2.net.createTransport(A);
  s2.net.createTransport(B);
  const c2 = s2.net.createTransport(C);
  const atC = record(c2, s2.scheduler);
  const atA = record(a2, s2.scheduler);
  a2.sendPacket(C, bytes('slow'));
  c2.sendPacket(A, bytes('fast'));
  s2.scheduler.flush();
  assert.equal(atC[0]?.at, 30);
  assert.equal(atA[0]?.at, 2);
});

test('payload bytes are copied on send', () => {
  const { scheduler, net } = setup();
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const got = record(b, scheduler);
  const buf = bytes('abc');
  a.sendPacket(B, buf);
  buf.set(bytes('xyz'));
  scheduler.flush();
  assert.equal(text(got[0]!.d.data), 'abc');
});

function lossyRun(seed: number): { delivered: number; stats: { sent: number; delivered: number; dropped: number } } {
  const { scheduler, net } = setup({ random: mulberry32(seed), loss: 0.3 });
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  let delivered = 0;
  b.packets$.subscribe(() => delivered++);
  for (let i = 0; i < 1000; i++) a.sendPacket(B, bytes(`p${i}`));
  scheduler.flush();
  return { delivered, stats: { ...net.stats } };
}

test('loss with a seeded PRNG is deterministic', () => {
  const r1 = lossyRun(42);
  const r2 = lossyRun(42);
  assert.equal(r1.delivered, r2.delivered, 'same seed, same delivered count');
  assert.deepEqual(r1.stats, r2.stats);
  assert.ok(r1.delivered > 620 && r1.delivered < 780, `~70% delivered, got ${r1.delivered}`);
  assert.equal(r1.stats.sent, 1000);
  assert.equal(r1.stats.delivered, r1.delivered);
  assert.equal(r1.stats.delivered + r1.stats.dropped, 1000);
});

test('partition drops both directions, new dials and stream chunks; heal restores datagrams', () => {
  const { scheduler, net } = setup();
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const c = net.createTransport(C);
  const atA = record(a, scheduler);
  const atB = record(b, scheduler);
  const atC = record(c, scheduler);

  // a stream opened before the partition
  const serverSide: StreamConn[] = [];
  b.connections$.subscribe((conn) => serverSide.push(conn));
  let clientConn: StreamConn | undefined;
  a.dial(B).subscribe((conn) => (clientConn = conn));
  scheduler.flush();
  assert.ok(clientConn);
  const inbound = collect(serverSide[0]!, scheduler);

  net.partition([A.host], [B.host]);
  a.sendPacket(B, bytes('a->b'));
  b.sendPacket(A, bytes('b->a'));
  a.sendPacket(C, bytes('a->c'));
  clientConn.write(bytes('lost'));
  let dialed = false;
  let dialFailed = false;
  a.dial(B).subscribe({ next: () => (dialed = true), error: () => (dialFailed = true) });
  scheduler.flush();
  assert.equal(atB.length, 0);
  assert.equal(atA.length, 0);
  assert.equal(atC.length, 1);
  assert.deepEqual(inbound.chunks, []);
  assert.equal(dialed || dialFailed, false, 'a dial across a partition is never answered');
  assert.equal(net.getHostStats(B.host).dropped, 1);
  assert.equal(net.getHostStats(A.host).dropped, 1);

  net.heal();
  a.sendPacket(B, bytes('healed'));
  scheduler.flush();
  assert.deepEqual(
    atB.map((x) => text(x.d.data)),
    ['healed'],
  );
  // the stalled stream never shows a gap: later chunks are not delivered either
  clientConn.write(bytes('after'));
  scheduler.flush();
  assert.deepEqual(inbound.chunks, []);
});

test('one-way link loss', () => {
  const { scheduler, net } = setup();
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const atA = record(a, scheduler);
  const atB = record(b, scheduler);
  net.setLinkLoss(A.host, B.host, 1);
  for (let i = 0; i < 10; i++) {
    a.sendPacket(B, bytes('x'));
    b.sendPacket(A, bytes('y'));
  }
  scheduler.flush();
  assert.equal(atB.length, 0);
  assert.equal(atA.length, 10);
  net.setLinkLoss(A.host, B.host, 0);
  a.sendPacket(B, bytes('x'));
  scheduler.flush();
  assert.equal(atB.length, 1);
  assert.throws(() => net.setLinkLoss(A.host, B.host, 1.5), RangeError);
});

test('pause queues inbound datagrams (bounded) and drops outbound; resume delivers in order', () => {
  const { scheduler, net } = setup({ latencyMs: 3 });
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const atA = record(a, scheduler);
  const atB = record(b, scheduler);
  net.pause(B.host);
  for (let i = 0; i < 3; i++) a.sendPacket(B, bytes(`m${i}`));
  b.sendPacket(A, bytes('from paused'));
  scheduler.flush();
  assert.equal(atB.length, 0);
  assert.equal(atA.length, 0, 'a paused host sends nothing');

  // advance virtual time, then resume: delivery happens at the resume time
  scheduler.schedule(() => net.resume(B.host), 100);
  scheduler.flush();
  assert.deepEqual(
    atB.map((x) => text(x.d.data)),
    ['m0', 'm1', 'm2'],
  );
  assert.equal(atB[0]?.at, 103);

  // the queue is bounded like a kernel buffer
  net.pause(B.host);
  const before = net.stats.dropped;
  for (let i = 0; i < PAUSED_DATAGRAM_LIMIT + 76; i++) a.sendPacket(B, bytes('q'));
  scheduler.flush();
  net.resume(B.host);
  scheduler.flush();
  assert.equal(atB.length, 3 + PAUSED_DATAGRAM_LIMIT);
  assert.equal(net.stats.dropped - before, 76);
});

test('pause by host:port affects only that transport; stats per host and per host:port', () => {
  const { scheduler, net } = setup();
  const b1 = net.createTransport({ host: B.host, port: 1 });
  const b2 = net.createTransport({ host: B.host, port: 2 });
  const a = net.createTransport(A);
  const at1 = record(b1, scheduler);
  const at2 = record(b2, scheduler);
  net.pause(`${B.host}:1`);
  a.sendPacket(b1.address, bytes('to 1'));
  a.sendPacket(b2.address, bytes('to 2'));
  scheduler.flush();
  assert.equal(at1.length, 0);
  assert.equal(at2.length, 1);
  net.resume(`${B.host}:1`);
  scheduler.flush();
  assert.equal(at1.length, 1);
  assert.equal(net.getHostStats(B.host).delivered, 2);
  assert.equal(net.getHostStats(`${B.host}:2`).delivered, 1);
  assert.equal(net.getHostStats(A.host).sent, 2);
  assert.equal(net.getHostStats(A.host).bytesSent, 8);
  assert.equal(net.getHostStats('10.9.9.9').sent, 0);
});

test('stream writes from a paused host wait for resume; inbound chunks are queued', () => {
  const { scheduler, net } = setup();
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const server: StreamConn[] = [];
  b.connections$.subscribe((c) => server.push(c));
  let client: StreamConn | undefined;
  a.dial(B).subscribe((c) => (client = c));
  scheduler.flush();
  const atServer = collect(server[0]!, scheduler);
  const atClient = collect(client!, scheduler);

  net.pause(A.host);
  client!.write(bytes('held'));
  server[0]!.write(bytes('queued'));
  scheduler.flush();
  assert.deepEqual(atServer.chunks, []);
  assert.deepEqual(atClient.chunks, []);
  scheduler.schedule(() => net.resume(A.host), 50);
  scheduler.flush();
  assert.deepEqual(atServer.chunks, ['held']);
  assert.deepEqual(atClient.chunks, ['queued']);
});

test('streams: request/response round trip, ordered under jittery latency', () => {
  const jitter = mulberry32(7);
  const { scheduler, net } = setup({ latencyMs: () => 1 + Math.floor(jitter() * 20) });
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  // echo server: collect the request until end, answer in pieces, end
  b.connections$.subscribe((conn) => {
    assert.deepEqual(conn.remote, A);
    const req: string[] = [];
    conn.data$.subscribe({
      next: (c) => req.push(text(c)),
      complete: () => {
        for (const part of req) conn.write(bytes(part.toUpperCase()));
        conn.end();
      },
    });
  });
  let result: ReturnType<typeof collect> | undefined;
  let dialedAt = -1;
  a.dial(B).subscribe({
    next: (conn) => {
      dialedAt = scheduler.now();
      assert.deepEqual(conn.remote, B);
      result = collect(conn, scheduler);
      const buf = new Uint8Array(1);
      for (let i = 0; i < 50; i++) {
        buf[0] = 97 + (i % 26);
        conn.write(buf); // the same buffer every time: the network copies it
      }
      conn.end();
    },
  });
  scheduler.flush();
  assert.ok(dialedAt > 0);
  assert.ok(result?.done, 'response stream completed');
  const expected = Array.from({ length: 50 }, (_, i) => String.fromCharCode(65 + (i % 26)));
  assert.deepEqual(result.chunks, expected);
  assert.equal(net.stats.streams, 1);
  assert.equal(net.stats.streamBytes, 100);
});

test('a chunk written before data$ is subscribed is kept for the subscriber', () => {
  const { scheduler, net } = setup();
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const server: StreamConn[] = [];
  b.connections$.subscribe((c) => server.push(c));
  a.dial(B).subscribe((c) => {
    c.write(bytes('early'));
    c.end();
  });
  scheduler.flush();
  const r = collect(server[0]!, scheduler);
  assert.deepEqual(r.chunks, ['early']);
  assert.ok(r.done);
});

test('dialing an address with no listener errors with ECONNREFUSED after the round trip', () => {
  const { scheduler, net } = setup({ latencyMs: 4 });
  const a = net.createTransport(A);
  const errs: Array<Error & { code?: string }> = [];
  let at = -1;
  a.dial(C).subscribe({
    error: (e: Error) => {
      errs.push(e);
      at = scheduler.now();
    },
  });
  assert.equal(errs.length, 0, 'not synchronously');
  scheduler.flush();
  const err = errs[0];
  assert.ok(err);
  assert.match(err.message, /ECONNREFUSED/);
  assert.match(err.message, /10\.0\.0\.3:7946/);
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(at, 8);
});

test('unsubscribing a dial before it connects closes the half-made connection', () => {
  const { scheduler, net } = setup({ latencyMs: 5 });
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const server: StreamConn[] = [];
  b.connections$.subscribe((c) => server.push(c));
  const sub = a.dial(B).subscribe(() => assert.fail('should not connect'));
  scheduler.schedule(() => sub.unsubscribe(), 7); // after the listener accepted (5), before the dialer hears (10)
  scheduler.flush();
  assert.equal(server.length, 1);
  const r = collect(server[0]!, scheduler);
  assert.ok(r.done, 'the accepted end sees the connection close');
});

test('close(): local effects at once, remote streams end, the address is free again', async () => {
  const { scheduler, net } = setup();
  const a = net.createTransport(A);
  const b = net.createTransport(B);
  const server: StreamConn[] = [];
  b.connections$.subscribe((c) => server.push(c));
  let client: StreamConn | undefined;
  a.dial(B).subscribe((c) => (client = c));
  scheduler.flush();
  const remote = collect(server[0]!, scheduler);
  const local = collect(client!, scheduler);

  let packetsDone = false;
  let connsDone = false;
  a.packets$.subscribe({ complete: () => (packetsDone = true) });
  a.connections$.subscribe({ complete: () => (connsDone = true) });
  const pendingDial: string[] = [];
  a.dial(B).subscribe({ error: (e: Error) => pendingDial.push(e.message) });
  b.sendPacket(A, bytes('in flight'));

  const closed = a.close();
  assert.ok(packetsDone, 'packets$ completes synchronously');
  assert.ok(connsDone, 'connections$ completes synchronously');
  assert.ok(local.done, 'our own stream completes synchronously');
  assert.equal(pendingDial.length, 1, 'a pending dial fails synchronously');
  await closed;
  await a.close(); // idempotent
  scheduler.flush();
  assert.ok(remote.done, 'the peer sees the stream end');
  assert.equal(net.getHostStats(A.host).dropped, 1, 'the in-flight datagram is dropped');

  a.sendPacket(B, bytes('late'));
  const again = net.createTransport(A);
  assert.equal(again.address.port, A.port, 'address reusable after close');
  assert.throws(() => net.createTransport(A), /EADDRINUSE/);
  // a datagram to the address now reaches the new endpoint, counted with the old one's
  const got: string[] = [];
  again.packets$.subscribe((d) => got.push(new TextDecoder().decode(d.data)));
  b.sendPacket(A, bytes('to the new one'));
  scheduler.flush();
  assert.deepEqual(got, ['to the new one']);
  assert.equal(net.getHostStats(`${A.host}:${A.port}`).delivered, 1);
  assert.equal(net.getHostStats(`${A.host}:${A.port}`).dropped, 1);
  let dialErr: Error | undefined;
  a.dial(B).subscribe({ error: (e: Error) => (dialErr = e) });
  assert.match(String(dialErr?.message), /closed/);
  assert.equal((a as unknown as { sendErrors: number }).sendErrors, 1);
});

test('port 0 gets a free port; destroy() sends FIN, later writes to it are discarded', () => {
  const { scheduler, net } = setup();
  const a = net.createTransport({ host: A.host, port: 0 });
  const a2 = net.createTransport({ host: A.host, port: 0 });
  assert.ok(a.address.port > 0);
  assert.notEqual(a.address.port, a2.address.port);

  const b = net.createTransport(B);
  const server: StreamConn[] = [];
  b.connections$.subscribe((c) => server.push(c));
  let client: StreamConn | undefined;
  a.dial(B).subscribe((c) => (client = c));
  scheduler.flush();
  const r = collect(client!, scheduler);
  server[0]!.destroy();
  scheduler.flush();
  assert.ok(r.done, 'FIN from the destroyed end');
  // the writer keeps writing to the closed end: nothing arrives, nothing breaks
  const w = collect(server[0]!, scheduler);
  assert.ok(w.done);
  client!.write(bytes('anyone?'));
  scheduler.flush();
  assert.deepEqual(r.chunks, []);
});

test('same seed, same run: a small mixed scenario is reproducible', () => {
  const run = (seed: number): string => {
    const rnd = mulberry32(seed);
    const { scheduler, net } = setup({ random: rnd, loss: 0.2, latencyMs: () => 1 + Math.floor(rnd() * 10) });
    const ts = [A, B, C].map((addr) => net.createTransport(addr));
    const log: string[] = [];
    for (const t of ts) t.packets$.subscribe((d) => log.push(`${scheduler.now()} ${d.from.host}->${t.address.host} ${text(d.data)}`));
    for (let i = 0; i < 60; i++) {
      const from = ts[i % 3]!;
      const to = ts[(i + 1) % 3]!;
      scheduler.schedule(() => from.sendPacket(to.address, bytes(String(i))), i);
    }
    scheduler.flush();
    return log.join('\n');
  };
  const trace = run(99).split('\n').filter((l) => l.length > 0);
  // Something must have happened, or two empty runs would be "the same run": of the
  // 60 datagrams, about 80 % get through 20 % loss (48 expected; σ ≈ 3).
  assert.ok(trace.length >= 36 && trace.length < 60, `${trace.length} of 60 datagrams delivered`);
  assert.ok(new Set(trace.map((l) => l.split(' ')[1])).size === 3, 'each of the three links (A→B, B→C, C→A) delivered');
  assert.equal(run(99), run(99), 'the same seed gives the same trace');
  assert.notEqual(run(99), run(100), 'another seed gives another trace');
});
