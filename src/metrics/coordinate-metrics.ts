// Metrics of Serf's network coordinates (serf.coordinate.* in Serf), registered on the
// node's registry beside NodeMetrics.
import { Counter, Gauge, type Registry } from 'prom-client';
import { COORDINATE_REJECT_REASONS, distanceTo } from '../serf/coordinate.js';
import type { PingCompleteOutcome } from '../serf/network-coordinates.js';
import { PING_PAYLOAD_DROP_REASONS } from '../serf/ping-payload.js';

export interface CoordinateSources {
  /** our coordinate's error estimate */
  error(): number;
  /** times our coordinate went non-finite and was reset */
  resets(): number;
}

export class CoordinateMetrics {
  readonly updates: Counter;
  readonly rejected: Counter<'reason'>;
  /** how far each update moved us, in seconds (Serf's adjustment-ms) */
  readonly adjustment: Gauge;

  constructor(registry: Registry, sources: CoordinateSources) {
    const registers = [registry];
    this.updates = new Counter({ name: 'rxswim_coordinate_updates_total', help: 'Updates of our network coordinate from a direct ack carrying a peer coordinate', registers });
    this.updates.inc(0);
    this.rejected = new Counter({
      name: 'rxswim_coordinate_rejected_total',
      help: 'Ack coordinates not used, by reason (payload undecodable, alien or non-finite coordinate, RTT out of range)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of [...PING_PAYLOAD_DROP_REASONS, ...COORDINATE_REJECT_REASONS]) this.rejected.inc({ reason }, 0);
    this.adjustment = new Gauge({ name: 'rxswim_coordinate_adjustment_seconds', help: 'How far the last update moved our coordinate (DistanceTo before → after)', registers });
    new Gauge({ name: 'rxswim_coordinate_error', help: "Our network coordinate's error estimate (1.5 = knows nothing, towards 0 = confident)", registers, collect() { this.set(sources.error()); } });
    new Gauge({ name: 'rxswim_coordinate_resets', help: 'Times our coordinate went non-finite and was reset to the origin', registers, collect() { this.set(sources.resets()); } });
  }

  count(o: PingCompleteOutcome): void {
    if (o.kind === 'updated') {
      this.updates.inc();
      this.adjustment.set(distanceTo(o.before, o.after));
    } else if (o.kind === 'rejected') this.rejected.inc({ reason: o.reason });
  }
}
