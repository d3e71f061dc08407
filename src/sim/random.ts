// Seeded pseudo-random numbers for deterministic simulation. mulberry32: a 32-bit
// state, period 2^32, good enough for loss decisions, jitter and probe order, and
// cheap. The same seed always yields the same sequence on every platform (only
// 32-bit integer arithmetic via Math.imul and unsigned shifts).

/** A PRNG returning floats in [0, 1), like Math.random, fully determined by `seed`. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
