// The per-packet counters: totals kept outside prom-client and handed to it on scrape.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeMetrics } from '../../src/metrics/metrics.js';

const metrics = () =>
  new NodeMetrics({ memberCounts: () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }), queueDepth: () => 0, userQueueDepth: () => 0, healthScore: () => 0, incarnation: () => 0 });

async function value(m: NodeMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const got = await m.registry.getSingleMetric(name)!.get();
  return got.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('TallyCounter and the UDP series', () => {
  it('every series known up front is scraped at 0 before anything is counted', async () => {
    const m = metrics();
    assert.equal(await value(m, 'rxswim_packets_sent_total', { transport: 'udp' }), 0);
    assert.equal(await value(m, 'rxswim_udp_packets_total', { outcome: 'partial' }), 0);
    assert.equal(await value(m, 'rxswim_messages_received_total', { type: 'ping', transport: 'udp' }), 0);
  });

  it('adds through a held series and through inc() land in the same total, scrape after scrape', async () => {
    const m = metrics();
    m.udp.packetsSent.n += 3;
    m.packetsSent.inc({ transport: 'udp' }, 2);
    m.udp.bytesReceived.n += 1400;
    m.udp.outcome.decoded.n++;
    m.udp.received('ack').n++;
    m.udp.sent('alive').n += 4;
    assert.equal(await value(m, 'rxswim_packets_sent_total', { transport: 'udp' }), 5);
    assert.equal(await value(m, 'rxswim_packets_sent_total', { transport: 'tcp' }), 0);
    assert.equal(await value(m, 'rxswim_bytes_received_total', { transport: 'udp' }), 1400);
    assert.equal(await value(m, 'rxswim_udp_packets_total', { outcome: 'decoded' }), 1);
    assert.equal(await value(m, 'rxswim_messages_received_total', { type: 'ack', transport: 'udp' }), 1);
    assert.equal(await value(m, 'rxswim_messages_sent_total', { type: 'alive', transport: 'udp' }), 4);
    // a second scrape reports totals, not the adds since the last one
    m.udp.packetsSent.n++;
    assert.equal(await value(m, 'rxswim_packets_sent_total', { transport: 'udp' }), 6);
  });

  it('a message type not labelled up front gets its own series on first use', async () => {
    const m = metrics();
    assert.equal(m.udp.sent('other'), m.udp.sent('other'));
    m.udp.sent('other').n++;
    assert.equal(await value(m, 'rxswim_messages_sent_total', { type: 'other', transport: 'udp' }), 1);
  });
});
