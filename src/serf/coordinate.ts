// Serf's network coordinates (hashicorp/serf/coordinate): a Vivaldi position in a
// Euclidean space plus a height (the access link every path to the node crosses) and
// an adjustment (the mean error of recent estimates, which the Euclidean part cannot
// absorb). Pure: no clock, no IO; randomness only when two points coincide, injected.
// Distances are in seconds, as Serf keeps them.

export interface Coordinate {
  readonly vec: readonly number[];
  /** the node's confidence in its own position, 0 (certain) to VivaldiErrorMax */
  readonly error: number;
  readonly adjustment: number;
  readonly height: number;
}

/** coordinate.Config, with Serf's DefaultConfig values */
export interface VivaldiConfig {
  readonly dimensionality: number;
  readonly vivaldiErrorMax: number;
  /** how fast the error estimate moves */
  readonly vivaldiCE: number;
  /** how fast the position moves */
  readonly vivaldiCC: number;
  /** samples in the adjustment's moving window; 0 turns the adjustment off */
  readonly adjustmentWindowSize: number;
  readonly heightMin: number;
  /** RTT samples per peer whose median is used, so one slow ping doesn't move us */
  readonly latencyFilterSize: number;
  /** how strongly the origin pulls back a drifting coordinate */
  readonly gravityRho: number;
}

export const DEFAULT_VIVALDI_CONFIG: VivaldiConfig = Object.freeze({
  dimensionality: 8,
  vivaldiErrorMax: 1.5,
  vivaldiCE: 0.25,
  vivaldiCC: 0.25,
  adjustmentWindowSize: 20,
  heightMin: 10e-6,
  latencyFilterSize: 3,
  gravityRho: 150,
});

/** below this, a distance or RTT counts as zero (Serf's zeroThreshold) */
const ZERO_THRESHOLD = 1e-6;
/** Serf's client rejects RTTs above this */
export const MAX_RTT_SECONDS = 10;

/** the origin, as unsure of itself as the config allows */
export function newCoordinate(cfg: VivaldiConfig = DEFAULT_VIVALDI_CONFIG): Coordinate {
  return { vec: new Array<number>(cfg.dimensionality).fill(0), error: cfg.vivaldiErrorMax, adjustment: 0, height: cfg.heightMin };
}

export function isValidCoordinate(c: Coordinate): boolean {
  return c.vec.every(Number.isFinite) && Number.isFinite(c.error) && Number.isFinite(c.adjustment) && Number.isFinite(c.height);
}

export function isCompatible(a: Coordinate, b: Coordinate): boolean {
  return a.vec.length === b.vec.length;
}

export class DimensionalityConflictError extends Error {
  override readonly name = 'DimensionalityConflictError';
  readonly code = 'ERR_RXSWIM_COORDINATE_DIMENSIONS';
  constructor(a: number, b: number) {
    super(`coordinate dimensionality does not match (${a} vs ${b})`);
  }
}

function mustBeCompatible(a: Coordinate, b: Coordinate): void {
  if (!isCompatible(a, b)) throw new DimensionalityConflictError(a.vec.length, b.vec.length);
}

function magnitude(v: readonly number[]): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Math.sqrt(sum);
}

/** Euclidean distance plus both heights, in seconds; no adjustment */
export function rawDistance(a: Coordinate, b: Coordinate): number {
  mustBeCompatible(a, b);
  let sum = 0;
  for (let i = 0; i < a.vec.length; i++) {
    const d = a.vec[i]! - b.vec[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum) + a.height + b.height;
}

/**
 * Serf's DistanceTo, in seconds: the raw distance plus both adjustments, unless that
 * would make it zero or negative (then the raw distance). Truncated to whole
 * nanoseconds, as Serf's time.Duration is.
 */
export function distanceTo(a: Coordinate, b: Coordinate): number {
  const raw = rawDistance(a, b);
  const adjusted = raw + a.adjustment + b.adjustment;
  return Math.trunc((adjusted > 0 ? adjusted : raw) * 1e9) / 1e9;
}

/**
 * The unit vector from b to a and the distance between them. Coincident points get a
 * random direction (magnitude 0), so that two nodes at the origin can push apart.
 */
function unitVectorAt(a: readonly number[], b: readonly number[], random: () => number): { unit: number[]; mag: number } {
  const d = a.map((x, i) => x - b[i]!);
  const mag = magnitude(d);
  if (mag > ZERO_THRESHOLD) return { unit: d.map((x) => x / mag), mag };
  const r = d.map(() => random() - 0.5);
  const rm = magnitude(r);
  if (rm > ZERO_THRESHOLD) return { unit: r.map((x) => x / rm), mag: 0 };
  return { unit: d.map((_, i) => (i === 0 ? 1 : 0)), mag: 0 };
}

/**
 * Moves `c` by `force` seconds along the line from `other` (a positive force pushes it
 * away). The height moves in proportion, never below heightMin; with coincident
 * points only the vector moves.
 */
export function applyForce(cfg: VivaldiConfig, c: Coordinate, force: number, other: Coordinate, random: () => number = Math.random): Coordinate {
  mustBeCompatible(c, other);
  const { unit, mag } = unitVectorAt(c.vec, other.vec, random);
  const vec = c.vec.map((x, i) => x + unit[i]! * force);
  let height = c.height;
  if (mag > ZERO_THRESHOLD) height = Math.max((c.height + other.height) * force / mag + c.height, cfg.heightMin);
  return { vec, error: c.error, adjustment: c.adjustment, height };
}

/** Why an update was refused; also the `reason` label of the rejected-updates metric. */
export const COORDINATE_REJECT_REASONS = ['dimensions', 'invalid_coordinate', 'rtt_out_of_range'] as const;
export type CoordinateRejectReason = (typeof COORDINATE_REJECT_REASONS)[number];

export type UpdateResult = { ok: true; coordinate: Coordinate } | { ok: false; reason: CoordinateRejectReason };

export interface VivaldiStats {
  /** our own coordinate went non-finite and was reset to the origin */
  resets: number;
  /** RTTs of exactly zero (accepted; clamped to ZERO_THRESHOLD by the update) */
  zeroRtts: number;
}

/**
 * coordinate.Client: our coordinate, refined by every (peer coordinate, RTT)
 * observation. One writer; not shared across nodes.
 */
export class VivaldiClient {
  private coord: Coordinate;
  private readonly origin: Coordinate;
  private readonly adjustmentSamples: number[];
  private adjustmentIndex = 0;
  private readonly latencySamples = new Map<string, number[]>();
  readonly stats: VivaldiStats = { resets: 0, zeroRtts: 0 };

  constructor(
    readonly config: VivaldiConfig = DEFAULT_VIVALDI_CONFIG,
    private readonly random: () => number = Math.random,
  ) {
    if (!(config.dimensionality > 0)) throw new RangeError('VivaldiConfig.dimensionality must be > 0');
    this.coord = newCoordinate(config);
    this.origin = newCoordinate(config);
    this.adjustmentSamples = new Array<number>(config.adjustmentWindowSize).fill(0);
  }

  get coordinate(): Coordinate {
    return this.coord;
  }

  /** replaces our coordinate (e.g. one saved before a restart); refused like an update */
  setCoordinate(c: Coordinate): CoordinateRejectReason | undefined {
    const bad = this.check(c);
    if (!bad) this.coord = copy(c);
    return bad;
  }

  /** drops a departed peer's RTT samples */
  forgetNode(node: string): void {
    this.latencySamples.delete(node);
  }

  /** DistanceTo from our coordinate, in seconds */
  distanceTo(other: Coordinate): number {
    return distanceTo(this.coord, other);
  }

  /**
   * One observation: `other` is the peer's coordinate as it sent it, `rttSeconds` the
   * round trip we measured to it. Refused (nothing changes) when the coordinate is
   * alien or non-finite, or the RTT is negative, NaN or over 10 s.
   */
  update(node: string, other: Coordinate, rttSeconds: number): UpdateResult {
    const bad = this.check(other);
    if (bad) return { ok: false, reason: bad };
    if (!(rttSeconds >= 0 && rttSeconds <= MAX_RTT_SECONDS)) return { ok: false, reason: 'rtt_out_of_range' };
    if (rttSeconds === 0) this.stats.zeroRtts++;
    const rtt = this.latencyFilter(node, rttSeconds);
    this.updateVivaldi(other, rtt);
    this.updateAdjustment(other, rtt);
    this.updateGravity();
    if (!isValidCoordinate(this.coord)) {
      this.stats.resets++;
      this.coord = newCoordinate(this.config);
    }
    return { ok: true, coordinate: this.coord };
  }

  private check(c: Coordinate): CoordinateRejectReason | undefined {
    if (!isCompatible(this.coord, c)) return 'dimensions';
    if (!isValidCoordinate(c)) return 'invalid_coordinate';
    return undefined;
  }

  private latencyFilter(node: string, rtt: number): number {
    let samples = this.latencySamples.get(node);
    if (!samples) this.latencySamples.set(node, (samples = []));
    return latencyFilter(samples, rtt, this.config.latencyFilterSize);
  }

  private updateVivaldi(other: Coordinate, rttIn: number): void {
    const cfg = this.config;
    const dist = distanceTo(this.coord, other);
    const rtt = Math.max(rttIn, ZERO_THRESHOLD);
    const wrongness = Math.abs(dist - rtt) / rtt;
    // The less sure we are relative to the peer, the more we move.
    const totalError = Math.max(this.coord.error + other.error, ZERO_THRESHOLD);
    const weight = this.coord.error / totalError;
    const error = Math.min(cfg.vivaldiCE * weight * wrongness + this.coord.error * (1 - cfg.vivaldiCE * weight), cfg.vivaldiErrorMax);
    const force = cfg.vivaldiCC * weight * (rtt - dist);
    this.coord = applyForce(cfg, { ...this.coord, error }, force, other, this.random);
  }

  private updateAdjustment(other: Coordinate, rtt: number): void {
    const size = this.config.adjustmentWindowSize;
    if (size === 0) return;
    this.adjustmentSamples[this.adjustmentIndex] = rtt - rawDistance(this.coord, other);
    this.adjustmentIndex = (this.adjustmentIndex + 1) % size;
    let sum = 0;
    for (const s of this.adjustmentSamples) sum += s;
    // Half the mean: the adjustment is added at both ends of a distance.
    this.coord = { ...this.coord, adjustment: sum / (2 * size) };
  }

  private updateGravity(): void {
    const dist = distanceTo(this.origin, this.coord);
    const force = -1 * Math.pow(dist / this.config.gravityRho, 2);
    this.coord = applyForce(this.config, this.coord, force, this.origin, this.random);
  }
}

/**
 * Serf's latency filter: appends `rtt` to a peer's samples (keeping the last `size`)
 * and returns their median (the upper one of an even count), so that one slow ping
 * never reaches Vivaldi.
 */
export function latencyFilter(samples: number[], rtt: number, size: number): number {
  samples.push(rtt);
  while (samples.length > size) samples.shift();
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function copy(c: Coordinate): Coordinate {
  return { vec: [...c.vec], error: c.error, adjustment: c.adjustment, height: c.height };
}
