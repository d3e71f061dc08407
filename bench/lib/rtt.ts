// Loopback ping→ack round trip: the bench process acts as a memberlist peer and sends
// plain ping messages (no compound, no CRC) to agents, pairing acks by sequence number.
import { createSocket, type Socket } from 'node:dgram';
import { encodeMessage } from '../../src/wire/messages.js';
import { decodePacket } from '../../src/wire/packet.js';
import { percentile, sleep, stdev, mean } from './stats.js';

export interface RttTarget {
  label: string;
  /** memberlist node name of the agent (a ping carries the name it is meant for) */
  node: string;
  host: string;
  port: number;
}

export interface RttSeries {
  sent: number;
  acked: number;
  /** microseconds, in send order, for the acked pings */
  samples: number[];
  /** size of the first ack datagram */
  ackBytes: number | null;
}

export interface RttSummary {
  sent: number;
  acked: number;
  lost: number;
  p50Us: number;
  p99Us: number;
  /** p99 − p50 */
  jitterUs: number;
  stdevUs: number;
  meanUs: number;
  minUs: number;
  maxUs: number;
}

export function summarize(s: RttSeries): RttSummary {
  const p50 = percentile(s.samples, 50);
  const p99 = percentile(s.samples, 99);
  return {
    sent: s.sent,
    acked: s.acked,
    lost: s.sent - s.acked,
    p50Us: p50,
    p99Us: p99,
    jitterUs: p99 - p50,
    stdevUs: stdev(s.samples),
    meanUs: mean(s.samples),
    minUs: Math.min(...s.samples),
    maxUs: Math.max(...s.samples),
  };
}

/**
 * Sends `count` pings to each target, `intervalMs` apart per target, the targets'
 * schedules offset evenly inside the interval (with two targets: one ping every 1 ms,
 * alternating). Pings not acked within `ackTimeoutMs` count as lost.
 */
export async function pingRtt(
  targets: RttTarget[],
  opts: { count: number; intervalMs: number; bindHost: string; ackTimeoutMs?: number; seqBase?: number },
): Promise<RttSeries[]> {
  const ackTimeoutMs = opts.ackTimeoutMs ?? 1000;
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: opts.bindHost, port: 0 }, () => resolve());
  });
  const series: RttSeries[] = targets.map(() => ({ sent: 0, acked: 0, samples: [], ackBytes: null }));
  const rtts: Array<Array<number | undefined>> = targets.map(() => new Array<number | undefined>(opts.count));
  /** seqNo → [target index, ping index, send time] */
  const pending = new Map<number, [number, number, bigint]>();
  socket.on('message', (data) => {
    const at = process.hrtime.bigint();
    const { messages } = decodePacket(data);
    for (const m of messages) {
      if (m.type !== 'ack') continue;
      const p = pending.get(m.seqNo);
      if (!p) continue;
      pending.delete(m.seqNo);
      rtts[p[0]]![p[1]] = Number(at - p[2]) / 1000;
      series[p[0]]!.ackBytes ??= data.length;
    }
  });
  try {
    const base = (opts.seqBase ?? 1) >>> 0;
    const start = performance.now() + 20;
    const slot = opts.intervalMs / targets.length;
    for (let i = 0; i < opts.count; i++) {
      for (let k = 0; k < targets.length; k++) {
        const due = start + i * opts.intervalMs + k * slot;
        const wait = due - performance.now();
        if (wait > 0.5) await sleep(wait);
        const t = targets[k]!;
        const seqNo = (base + i * targets.length + k) >>> 0;
        const msg = encodeMessage({ type: 'ping', seqNo, node: t.node });
        pending.set(seqNo, [k, i, process.hrtime.bigint()]);
        socket.send(msg, t.port, t.host);
        series[k]!.sent++;
      }
    }
    await sleep(ackTimeoutMs);
  } finally {
    socket.close();
  }
  for (let k = 0; k < targets.length; k++) {
    for (const v of rtts[k]!) {
      if (v === undefined) continue;
      series[k]!.samples.push(v);
      series[k]!.acked++;
    }
  }
  return series;
}
