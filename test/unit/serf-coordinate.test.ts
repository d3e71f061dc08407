// Serf's coordinate math (hashicorp/serf coordinate/coordinate_test.go and
// client_test.go scenarios), with expected values worked out from the algorithm.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyForce,
  DEFAULT_VIVALDI_CONFIG,
  DimensionalityConflictError,
  distanceTo,
  isValidCoordinate,
  latencyFilter,
  newCoordinate,
  rawDistance,
  VivaldiClient,
  type Coordinate,
  type VivaldiConfig,
} from '../../src/serf/coordinate.js';

const cfg3: VivaldiConfig = { ...DEFAULT_VIVALDI_CONFIG, dimensionality: 3 };
const cfg3h0: VivaldiConfig = { ...cfg3, heightMin: 0 };
const at = (vec: number[], over: Partial<Coordinate> = {}, cfg = cfg3h0): Coordinate => ({ ...newCoordinate(cfg), vec, ...over });

function close(actual: number, expected: number, tol = 1e-9, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} should be ${expected} ± ${tol}`);
}
function closeVec(actual: readonly number[], expected: number[], tol = 1e-9): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((x, i) => close(x, expected[i]!, tol, `vec[${i}]`));
}

test('a new coordinate is the origin with the maximum error and the minimum height', () => {
  const c = newCoordinate();
  assert.equal(c.vec.length, 8);
  assert.deepEqual(c, { vec: [0, 0, 0, 0, 0, 0, 0, 0], error: 1.5, adjustment: 0, height: 10e-6 });
});

test('a coordinate with a NaN or infinite component in any field is invalid', () => {
  const fields: Array<(c: Coordinate, v: number) => Coordinate> = [
    ...[0, 1, 2].map((i) => (c: Coordinate, v: number) => ({ ...c, vec: c.vec.map((x, j) => (j === i ? v : x)) })),
    (c, v) => ({ ...c, error: v }),
    (c, v) => ({ ...c, adjustment: v }),
    (c, v) => ({ ...c, height: v }),
  ];
  const c = newCoordinate(cfg3);
  assert.ok(isValidCoordinate(c));
  for (const [i, set] of fields.entries()) {
    assert.equal(isValidCoordinate(set(c, NaN)), false, `field ${i} NaN`);
    assert.equal(isValidCoordinate(set(c, Infinity)), false, `field ${i} +Inf`);
    assert.equal(isValidCoordinate(set(c, -Infinity)), false, `field ${i} -Inf`);
  }
});

test('applyForce: pushes along the line between the points; coincident points get a direction', () => {
  const origin = newCoordinate(cfg3h0);
  const above = at([0, 0, 2.9]);
  let c = applyForce(cfg3h0, origin, 5.3, above);
  closeVec(c.vec, [0, 0, -5.3]);
  c = applyForce(cfg3h0, c, 2.0, at([3.4, 0, -5.3]));
  closeVec(c.vec, [-2.0, 0, -5.3]);
  // From the origin to itself: a random unit direction, so the distance is the force.
  c = applyForce(cfg3h0, origin, 1.0, origin, () => 0.9);
  close(distanceTo(origin, c), 1.0);
  // A random source giving the zero vector: the first axis.
  closeVec(applyForce(cfg3h0, origin, 1.0, origin, () => 0.5).vec, [1, 0, 0]);

  // Heights move with the force (in proportion to both heights; `above` has none),
  // never below heightMin.
  const h = cfg3.heightMin;
  c = applyForce(cfg3, newCoordinate(cfg3), 5.3, above);
  closeVec(c.vec, [0, 0, -5.3]);
  close(c.height, h + (5.3 * h) / 2.9, 1e-15);
  c = applyForce(cfg3, newCoordinate(cfg3), 5.3, at([0, 0, 2.9], {}, cfg3));
  close(c.height, h + (5.3 * 2 * h) / 2.9, 1e-15);
  c = applyForce(cfg3, newCoordinate(cfg3), -5.3, above);
  closeVec(c.vec, [0, 0, 5.3]);
  assert.equal(c.height, h);

  assert.throws(() => applyForce(cfg3, c, 1, newCoordinate({ ...cfg3, dimensionality: 4 })), DimensionalityConflictError);
});

test('distanceTo: Euclidean + heights + adjustments (unless that is not positive)', () => {
  const base = 4.104875150354758; // |(-0.5,1.3,2.4) - (1.2,-2.3,3.4)|
  const rows: Array<{ what: string; a: Partial<Coordinate>; b: Partial<Coordinate>; raw: number; dist: number }> = [
    { what: 'plain', a: {}, b: {}, raw: base, dist: base },
    { what: 'a hugely negative adjustment is ignored', a: { adjustment: -1e6 }, b: {}, raw: base, dist: base },
    { what: 'adjustments add', a: { adjustment: 0.1 }, b: { adjustment: 0.2 }, raw: base, dist: base + 0.3 },
    { what: 'heights add', a: { adjustment: 0.1, height: 0.7 }, b: { adjustment: 0.2, height: 0.1 }, raw: base + 0.8, dist: base + 0.3 + 0.8 },
    { what: 'raw ignores the adjustment', a: { adjustment: 1e6 }, b: {}, raw: base, dist: base + 1e6 },
  ];
  for (const r of rows) {
    const a = at([-0.5, 1.3, 2.4], r.a);
    const b = at([1.2, -2.3, 3.4], r.b);
    close(rawDistance(a, b), r.raw, 1e-12, `${r.what}: raw`);
    close(distanceTo(a, b), r.dist, 1e-9, `${r.what}: dist`);
    close(distanceTo(b, a), distanceTo(a, b), 1e-12, `${r.what}: symmetric`);
  }
  assert.equal(distanceTo(at([-0.5, 1.3, 2.4]), at([-0.5, 1.3, 2.4])), 0);
  // Whole nanoseconds, as Serf's time.Duration: 12.345 s exactly, 1.5 ns → 1 ns.
  assert.equal(distanceTo(newCoordinate(cfg3h0), at([0, 0, 12.345])), 12.345);
  assert.equal(distanceTo(newCoordinate(cfg3h0), at([0, 0, 1.5e-9])), 1e-9);
  assert.throws(() => distanceTo(at([0, 0, 0]), at([0, 0, 0, 0])), DimensionalityConflictError);
});

test('latency filter: the median of the last 3, per node', () => {
  const alice: number[] = [];
  const rows: Array<[number, number]> = [
    [0.201, 0.201],
    [0.2, 0.201],
    [0.207, 0.201],
    [1.9, 0.207], // the glitch is filtered out
    [0.203, 0.207],
    [0.199, 0.203],
    [0.211, 0.203],
  ];
  for (const [rtt, median] of rows) assert.equal(latencyFilter(alice, rtt, 3), median);
  assert.equal(latencyFilter([], 0.31, 3), 0.31);
  // In the client: a forgotten node starts over.
  const c = new VivaldiClient(cfg3);
  const other = at([0, 0, 0.001], {}, cfg3);
  c.update('alice', other, 0.2);
  c.forgetNode('alice');
  assert.ok(c.update('alice', other, 0.9).ok);
});

test('one update, worked by hand: client at the origin, peer 1 ms above, RTT 2 ms', () => {
  const client = new VivaldiClient(cfg3);
  const other = at([0, 0, 0.001], {}, cfg3);
  const r = client.update('node', other, 0.002);
  assert.ok(r.ok);
  const c = r.coordinate;
  // dist = 0.001 + 2·10 µs = 1.02 ms; wrongness = |1.02 − 2| / 2 = 0.49; weight = 1.5 / 3 = 0.5
  // error = 0.25·0.5·0.49 + 1.5·(1 − 0.125) = 1.37375
  close(c.error, 1.37375, 1e-12, 'error');
  // force = 0.25·0.5·(2 − 1.02) ms = 0.1225 ms, away from the peer (down)
  closeVec(c.vec, [0, 0, -0.0001225], 1e-11);
  // height = (10 + 10) µs · 0.1225 / 1 + 10 µs = 12.45 µs (gravity moves it by ~2e-13)
  close(c.height, 12.45e-6, 1e-12, 'height');
  // adjustment = (2 ms − (1.1225 ms + 12.45 µs + 10 µs)) / (2·20)
  close(c.adjustment, (0.002 - 0.00114495) / 40, 1e-12, 'adjustment');
  // The client scooted away from the peer, as Serf's TestClient_Update expects.
  assert.ok(c.vec[2]! < 0);
});

test('invalid RTTs and coordinates are rejected with a reason and change nothing', () => {
  const client = new VivaldiClient(cfg3);
  const other = at([0, 0, 0.001], {}, cfg3);
  const before = client.distanceTo(other);
  const rows: Array<{ other: Coordinate; rtt: number; reason: string }> = [
    { other, rtt: 9.223372036854776e9, reason: 'rtt_out_of_range' },
    { other, rtt: -35, reason: 'rtt_out_of_range' },
    { other, rtt: 11, reason: 'rtt_out_of_range' },
    { other, rtt: NaN, reason: 'rtt_out_of_range' },
    { other, rtt: Infinity, reason: 'rtt_out_of_range' },
    { other: { ...other, vec: [NaN, 0, 0] }, rtt: 0.25, reason: 'invalid_coordinate' },
    { other: { ...other, error: Infinity }, rtt: 0.25, reason: 'invalid_coordinate' },
    { other: newCoordinate({ ...cfg3, dimensionality: 6 }), rtt: 0.25, reason: 'dimensions' },
    { other: { ...other, vec: [] }, rtt: 0.25, reason: 'dimensions' },
  ];
  for (const r of rows) {
    assert.deepEqual(client.update('node', r.other, r.rtt), { ok: false, reason: r.reason }, `rtt ${r.rtt}`);
    assert.equal(client.distanceTo(other), before);
  }
  assert.equal(client.setCoordinate({ ...other, height: NaN }), 'invalid_coordinate');
  assert.equal(client.setCoordinate(newCoordinate(DEFAULT_VIVALDI_CONFIG)), 'dimensions');
  assert.equal(client.setCoordinate(at([0, 0, 99], {}, cfg3)), undefined);
  assert.equal(client.coordinate.vec[2], 99);
  // 0 and exactly 10 s are in range; a zero RTT is counted.
  assert.ok(client.update('node', other, 0).ok);
  assert.ok(client.update('node', other, 10).ok);
  assert.equal(client.stats.zeroRtts, 1);
});

test('a coordinate that goes non-finite is reset to the origin and counted', () => {
  const client = new VivaldiClient(cfg3);
  // Finite but so far away that the distance overflows to Infinity: the force is −∞.
  const r = client.update('far', at([1e308, 1e308, 0], {}, cfg3), 0.25);
  assert.ok(r.ok);
  assert.deepEqual(r.coordinate, newCoordinate(cfg3));
  assert.equal(client.stats.resets, 1);
});

test('two clients exchanging coordinates converge to the RTT between them', () => {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (const rttMs of [0.1, 1, 10, 100]) {
    const a = new VivaldiClient(DEFAULT_VIVALDI_CONFIG, random);
    const b = new VivaldiClient(DEFAULT_VIVALDI_CONFIG, random);
    for (let i = 0; i < 200; i++) {
      a.update('b', b.coordinate, rttMs / 1000);
      b.update('a', a.coordinate, rttMs / 1000);
    }
    const est = distanceTo(a.coordinate, b.coordinate) * 1000;
    assert.ok(Math.abs(est - rttMs) / rttMs < 0.05, `estimate ${est} ms for ${rttMs} ms`);
    assert.ok(a.coordinate.error < 0.5 && b.coordinate.error < 0.5, `errors ${a.coordinate.error} ${b.coordinate.error}`);
  }
});

test('a client far from a phantom cluster of known RTTs ends up with small relative errors', () => {
  // Serf's phantom.go idea in small: 5 nodes on a line, 10 ms apart; each learns from the true RTTs.
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const n = 5;
  const truth = (i: number, j: number) => Math.abs(i - j) * 0.01 + 0.0005;
  const clients = Array.from({ length: n }, () => new VivaldiClient(DEFAULT_VIVALDI_CONFIG, random));
  for (let round = 0; round < 1000; round++) {
    for (let i = 0; i < n; i++) {
      const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
      clients[i]!.update(String(j), clients[j]!.coordinate, truth(i, j));
    }
  }
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) worst = Math.max(worst, Math.abs(distanceTo(clients[i]!.coordinate, clients[j]!.coordinate) - truth(i, j)) / truth(i, j));
  assert.ok(worst < 0.25, `worst relative error ${worst}`);
});
