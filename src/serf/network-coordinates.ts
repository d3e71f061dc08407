// Serf's ping delegate (serf/ping_delegate.go) without the IO: it answers every ping
// with our coordinate in the ack, and on each direct ack with a payload updates our
// coordinate from the measured RTT and caches the peer's. The shell calls it through
// memberlist's PingDelegate shape; what happened is returned, for the caller to count.
import { distanceTo, DEFAULT_VIVALDI_CONFIG, VivaldiClient, type Coordinate, type CoordinateRejectReason, type VivaldiConfig } from './coordinate.js';
import { decodePingPayload, encodePingPayload, type PingPayloadDropReason } from './ping-payload.js';

export type CoordinateUpdateRejectReason = CoordinateRejectReason | PingPayloadDropReason;

export type PingCompleteOutcome =
  | { kind: 'updated'; before: Coordinate; after: Coordinate }
  | { kind: 'rejected'; reason: CoordinateUpdateRejectReason }
  /** an empty payload: the peer sent none (memberlist without a ping delegate) */
  | { kind: 'none' };

export class NetworkCoordinates {
  private readonly client: VivaldiClient;
  private readonly cache = new Map<string, Coordinate>();
  /** our payload, encoded once per coordinate: every ping we answer sends it */
  private payload: Uint8Array | undefined;

  /**
   * `random` only picks a direction when two coordinates coincide. By default it is a
   * generator of its own seeded from our name, so that it never draws from the node's
   * random source: a seeded simulation makes the same protocol choices with
   * coordinates on or off.
   */
  constructor(
    private readonly localName: string,
    config: VivaldiConfig = DEFAULT_VIVALDI_CONFIG,
    random: () => number = seededRandom(localName),
  ) {
    this.client = new VivaldiClient(config, random);
  }

  get coordinate(): Coordinate {
    return this.client.coordinate;
  }

  get stats(): Readonly<{ resets: number; zeroRtts: number }> {
    return this.client.stats;
  }

  /** the last coordinate a peer sent us (ours for our own name); undefined if none yet */
  coordinateOf(name: string): Coordinate | undefined {
    return name === this.localName ? this.client.coordinate : this.cache.get(name);
  }

  /** every cached coordinate, ours first */
  entries(): Array<[string, Coordinate]> {
    return [[this.localName, this.client.coordinate], ...[...this.cache].filter(([n]) => n !== this.localName)];
  }

  /** peers with a cached coordinate */
  get size(): number {
    return this.cache.size;
  }

  /** a member is gone for good: drop its RTT samples and cached coordinate */
  forget(name: string): void {
    this.client.forgetNode(name);
    this.cache.delete(name);
  }

  /** AckPayload: PingVersion, then our coordinate */
  ackPayload(): Uint8Array {
    return (this.payload ??= encodePingPayload(this.client.coordinate));
  }

  /** NotifyPingComplete: a direct probe of `name` was acked after `rttMs` with `payload` */
  notifyPingComplete(name: string, rttMs: number, payload: Uint8Array): PingCompleteOutcome {
    if (payload.length === 0) return { kind: 'none' };
    const decoded = decodePingPayload(payload);
    if (!decoded.ok) return { kind: 'rejected', reason: decoded.reason };
    const before = this.client.coordinate;
    const r = this.client.update(name, decoded.coordinate, rttMs / 1000);
    if (!r.ok) return { kind: 'rejected', reason: r.reason };
    // Encoded now, after the probe, not when the next ping arrives: that ping's ack is
    // the peer's RTT sample, and encoding it there would add to what it measures.
    this.payload = encodePingPayload(r.coordinate);
    this.cache.set(name, decoded.coordinate);
    return { kind: 'updated', before, after: r.coordinate };
  }
}

/** xorshift32 from an FNV-1a hash of `seed`: deterministic, and nobody else's stream */
function seededRandom(seed: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  let x = h >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** estimated round trip between two coordinates, in milliseconds (Serf's DistanceTo) */
export function estimateRtt(a: Coordinate, b: Coordinate): number {
  return distanceTo(a, b) * 1000;
}
