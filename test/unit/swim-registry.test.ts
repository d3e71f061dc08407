// The member registry: one actor per member, and every list read from the actors.
// Probe order is memberlist's randomized round robin (every live member once per pass,
// reshuffled at each wrap, newcomers at a random position); gossip targets include the
// recently departed (so they can refute) but not the long dead or the reaped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import type { Member } from '../../src/api.js';
import type { MemberChange } from '../../machines/member.js';
import { clockFromScheduler } from '../../src/clock.js';
import { createRandom } from '../../src/sim/random.js';
import { Registry } from '../../src/swim/registry.js';

const VSN = Uint8Array.of(1, 5, 2, 2, 5, 5);
const EMPTY = new Uint8Array(0);
const BOUNDS = { minMs: 1000, maxMs: 1000, k: 0 };
const info = (i: number) => ({ addr: Uint8Array.of(10, 0, 0, i), port: 7946, meta: EMPTY, vsn: VSN });

function registry(seed = 7) {
  const s = new VirtualTimeScheduler();
  const changes: string[] = [];
  const expired: Array<[string, number]> = [];
  const reg = new Registry({
    clock: clockFromScheduler(s),
    random: createRandom(seed),
    onChange: (change: MemberChange, m: Member) => void changes.push(`${change}:${m.name}`),
    onExpired: (name, incarnation) => void expired.push([name, incarnation]),
  });
  let n = 0;
  const add = (name: string, incarnation = 1, at = 0) => reg.create(name, { ...info(++n), incarnation, at });
  const kill = (name: string, at: number, from = 'x') =>
    reg.deliver(name, { type: 'DEAD', incarnation: reg.member(name)!.incarnation, from, at });
  const suspect = (name: string, at: number) =>
    reg.deliver(name, { type: 'SUSPECT', incarnation: reg.member(name)!.incarnation, from: 'x', at, bounds: BOUNDS });
  const advanceTo = (t: number) => {
    s.schedule(() => {}, t - s.frame);
    s.maxFrames = t;
    s.flush();
  };
  return { reg, s, changes, expired, add, kill, suspect, advanceTo };
}

/**
 * Probe `calls` times, splitting the targets into passes at each wrap. The first pass
 * is the order before any wrap; `onWrap` runs at each wrap, as the core's reap does.
 */
function passes(reg: Registry, calls: number, onWrap: () => void = () => {}): string[][] {
  const out: string[][] = [[]];
  for (let i = 0; i < calls; i++) {
    const t = reg.nextProbeTarget(() => {
      out.push([]);
      onWrap();
    });
    if (t) out.at(-1)!.push(t.name);
  }
  return out;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('probe order: randomized round robin', () => {
  it('every live member is probed exactly once per pass, and the order is reshuffled between passes', () => {
    const h = registry();
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const n of names) h.add(n);
    const ps = passes(h.reg, names.length * 8 + 1); // the last call opens a 9th pass
    const full = ps.slice(0, -1);
    assert.equal(full.length, 8);
    for (const p of full) assert.deepEqual(sorted(p), names, `pass ${p.join(',')}`);
    assert.ok(new Set(full.map((p) => p.join(','))).size > 1, 'not the same order every pass');
  });

  it('the order is random: different seeds give different first passes', () => {
    const firsts = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      const h = registry(seed);
      for (const n of ['a', 'b', 'c', 'd', 'e']) h.add(n);
      firsts.add(passes(h.reg, 5)[0]!.join(','));
    }
    assert.ok(firsts.size > 1);
  });

  it('suspect members are probed; dead and left ones are skipped', () => {
    const h = registry();
    for (const n of ['a', 'b', 'c', 'd']) h.add(n);
    h.suspect('b', 0);
    h.kill('c', 0);
    h.kill('d', 0, 'd');
    const ps = passes(h.reg, 12).slice(1, -1);
    assert.ok(ps.length >= 2);
    for (const p of ps) assert.deepEqual(sorted(p), ['a', 'b']);
  });

  it('a newcomer is probed by the end of the next pass, and never twice in one pass, wherever it lands', () => {
    for (let seed = 1; seed <= 20; seed++) {
      for (let after = 0; after <= 4; after++) {
        const h = registry(seed);
        for (const n of ['a', 'b', 'c', 'd', 'e']) h.add(n);
        const before = passes(h.reg, after);
        h.add('new');
        const rest = passes(h.reg, 20);
        // the pass under way when it arrived, then the following one
        const current = [...before.at(-1)!, ...rest[0]!];
        const next = rest[1]!;
        const where = `seed ${seed}, added after ${after} probes`;
        assert.ok(current.includes('new') || next.includes('new'), where);
        for (const p of [current, ...rest.slice(1, -1)]) {
          assert.equal(p.length, new Set(p).size, `${where}: someone probed twice in ${p.join(',')}`);
        }
        for (const p of rest.slice(1, -1)) assert.deepEqual(sorted(p), ['a', 'b', 'c', 'd', 'e', 'new'], where);
      }
    }
  });

  it('many newcomers arriving mid-pass: nobody is probed twice in a pass, and every member is in every pass after its arrival', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const h = registry(seed);
      const rnd = createRandom(1000 + seed);
      const all: string[] = [];
      for (let i = 0; i < 8; i++) all.push(h.add(`m${i}`).name);
      // [pass number, names added before it started] per pass, as the probes go
      const seen: string[][] = [[]];
      const known: string[][] = [[...all]];
      for (let step = 0; step < 400; step++) {
        if (all.length < 60 && rnd() < 0.3) all.push(h.add(`m${all.length}`).name);
        const t = h.reg.nextProbeTarget(() => {
          seen.push([]);
          known.push([...all]);
        });
        if (t) seen.at(-1)!.push(t.name);
      }
      const where = `seed ${seed}`;
      for (const p of seen) assert.equal(p.length, new Set(p).size, `${where}: someone probed twice in ${p.join(',')}`);
      // a whole pass (not the first, not the last one still under way) holds everyone known when it began
      for (let i = 1; i < seen.length - 1; i++) for (const n of known[i]!) assert.ok(seen[i]!.includes(n), `${where}: ${n} missing from pass ${i}`);
      assert.ok(seen.length > 4, `${where}: only ${seen.length} passes`);
    }
  });

  it('a newcomer lands in the current pass for some seeds (a random position, not always the end or the next pass)', () => {
    let inCurrent = 0;
    let inNext = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const h = registry(seed);
      for (const n of ['a', 'b', 'c', 'd', 'e']) h.add(n);
      const before = passes(h.reg, 2);
      h.add('new');
      const rest = passes(h.reg, 20);
      if ([...before.at(-1)!, ...rest[0]!].includes('new')) inCurrent++;
      else inNext++;
    }
    assert.ok(inCurrent > 0 && inNext > 0, `current ${inCurrent}, next ${inNext}`);
  });

  it('no member, or none live: undefined, without looping', () => {
    const h = registry();
    assert.equal(h.reg.nextProbeTarget(() => {}), undefined);
    h.add('a');
    h.add('b');
    h.kill('a', 0);
    h.kill('b', 0);
    let wraps = 0;
    assert.equal(h.reg.nextProbeTarget(() => wraps++), undefined);
    assert.ok(wraps <= 1);
  });

  it('the wrap callback runs before the reshuffle: members reaped there leave the order; one that rejoins is probed again', () => {
    const h = registry();
    for (const n of ['a', 'b', 'c']) h.add(n);
    h.kill('c', 0);
    const reap = () => {
      if (h.reg.view('c')?.state === 'dead') h.reg.reap('c');
    };
    passes(h.reg, 6, reap);
    assert.equal(h.reg.view('c')?.reaped, true);
    // It returns, as the core delivers a forgotten member's alive: a replacement.
    assert.equal(h.reg.deliver('c', { type: 'ALIVE', incarnation: 1, at: 5, replace: true, ...info(3) }), true);
    assert.deepEqual(h.changes.slice(-1), ['joined:c']);
    const ps = passes(h.reg, 12).slice(1, -1);
    for (const p of ps) assert.deepEqual(sorted(p), ['a', 'b', 'c']);
  });

  it('a forgotten member leaves the order at the next wrap and is never returned', () => {
    const h = registry();
    for (const n of ['a', 'b', 'c']) h.add(n);
    h.kill('b', 0);
    h.reg.forget('b');
    const all = passes(h.reg, 10).flat();
    assert.ok(!all.includes('b'));
    assert.equal(h.reg.has('b'), false);
  });
});

describe('gossip targets', () => {
  const NOW = 100_000;
  const WINDOW = 30_000;

  function cluster() {
    const h = registry();
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) h.add(n);
    h.suspect('c', NOW - 500);
    h.kill('d', NOW - 1_000); // recently dead
    h.kill('e', NOW - 29_999, 'e'); // left, just within the window
    h.kill('f', NOW - 30_001); // dead for longer than the window: long dead, not yet reaped
    h.kill('g', NOW - 1_000);
    h.reg.reap('g'); // forgotten by memberlist
    return h;
  }

  it('alive, suspect, and dead or left within the window; not the long dead, not the reaped', () => {
    const h = cluster();
    const got = h.reg.gossipTargets(100, NOW, WINDOW).map((m) => m.name);
    assert.equal(got.length, new Set(got).size, 'distinct');
    assert.deepEqual(sorted(got), ['a', 'b', 'c', 'd', 'e']);
  });

  it('at most k distinct targets, drawn from all eligible', () => {
    const h = cluster();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const got = h.reg.gossipTargets(3, NOW, WINDOW).map((m) => m.name);
      assert.equal(got.length, 3);
      assert.equal(new Set(got).size, 3);
      for (const n of got) seen.add(n);
    }
    assert.deepEqual(sorted(seen), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(h.reg.gossipTargets(0, NOW, WINDOW), []);
  });

  it('live members first: with k − 1 or fewer live members, every one of them is a target every time', () => {
    const h = registry();
    for (const n of ['a', 'b', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6']) h.add(n);
    for (const n of ['d1', 'd2', 'd3', 'd4', 'd5', 'd6']) h.kill(n, NOW - 1_000);
    const dead = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const got = h.reg.gossipTargets(3, NOW, WINDOW).map((m) => m.name);
      assert.equal(new Set(got).size, 3);
      assert.ok(got.includes('a') && got.includes('b'), `both live members in ${got.join(',')}`);
      for (const n of got) if (n.startsWith('d')) dead.add(n);
    }
    assert.equal(dead.size, 6, 'the last slot still reaches every recently dead member');
  });

  it('reflects changes made after it was last asked (deliveries and timer expiries)', () => {
    const h = registry();
    for (const n of ['a', 'b', 'c']) h.add(n);
    assert.deepEqual(sorted(h.reg.gossipTargets(10, 0, 0).map((m) => m.name)), ['a', 'b', 'c']);
    h.kill('a', 0);
    assert.deepEqual(sorted(h.reg.gossipTargets(10, 0, 0).map((m) => m.name)), ['b', 'c'], 'after a delivery');
    h.suspect('b', 0);
    assert.deepEqual(sorted(h.reg.gossipTargets(10, 0, 0).map((m) => m.name)), ['b', 'c'], 'suspects are live');
    h.advanceTo(BOUNDS.minMs);
    assert.deepEqual(h.expired, [['b', 1]]);
    assert.deepEqual(h.reg.gossipTargets(10, BOUNDS.minMs, 0).map((m) => m.name), ['c'], 'after the suspicion timer fired');
  });
});

describe('random members', () => {
  it('filters by state, excludes names, returns at most k distinct', () => {
    const h = registry();
    for (const n of ['a', 'b', 'c', 'd', 'e']) h.add(n);
    h.suspect('b', 0);
    h.kill('c', 0);
    h.kill('d', 0, 'd');
    const names = (ms: Member[]) => sorted(ms.map((m) => m.name));
    assert.deepEqual(names(h.reg.randomMembers(10, ['alive'])), ['a', 'e']);
    assert.deepEqual(names(h.reg.randomMembers(10, ['alive', 'suspect'])), ['a', 'b', 'e']);
    assert.deepEqual(names(h.reg.randomMembers(10, ['dead'])), ['c']);
    assert.deepEqual(names(h.reg.randomMembers(10, ['left'])), ['d']);
    assert.deepEqual(names(h.reg.randomMembers(10, ['alive', 'suspect'], new Set(['a', 'b']))), ['e']);
    assert.deepEqual(h.reg.randomMembers(0, ['alive']), []);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const two = h.reg.randomMembers(2, ['alive', 'suspect']);
      assert.equal(two.length, 2);
      assert.notEqual(two[0]!.name, two[1]!.name);
      for (const m of two) seen.add(m.name);
    }
    assert.deepEqual(sorted(seen), ['a', 'b', 'e'], 'every eligible member gets picked');
  });
});

describe('deliver', () => {
  it('true when the machine accepted the event, false when it refused it', () => {
    const h = registry();
    h.add('a', 5);
    const alive = (incarnation: number) => ({ type: 'ALIVE' as const, incarnation, at: 1, ...info(1) });
    assert.equal(h.reg.deliver('a', alive(5)), false, 'equal alive');
    assert.equal(h.reg.deliver('a', alive(4)), false, 'older alive');
    assert.equal(h.reg.deliver('a', { type: 'SUSPECT', incarnation: 4, from: 'x', at: 1, bounds: BOUNDS }), false, 'stale suspect');
    assert.equal(h.reg.deliver('a', { type: 'DEAD', incarnation: 4, from: 'x', at: 1 }), false, 'stale dead');
    assert.equal(h.reg.reap('a'), false, 'a live member is not reaped');
    assert.equal(h.reg.deliver('nobody', alive(9)), false, 'unknown name');
    assert.deepEqual(h.changes, []);
    assert.equal(h.reg.deliver('a', alive(6)), true, 'newer alive');
    assert.equal(h.reg.deliver('a', { type: 'DEAD', incarnation: 6, from: 'x', at: 2 }), true);
    assert.equal(h.reg.deliver('a', { type: 'DEAD', incarnation: 7, from: 'x', at: 3 }), false, 'already dead');
    assert.equal(h.reg.reap('a'), true);
    assert.equal(h.reg.reap('a'), false, 'already reaped');
    assert.deepEqual(h.changes, ['failed:a']);
  });
});

describe('counts and lists', () => {
  it('size leaves out reaped members, aliveCount counts alive and suspect, list keeps everyone until forgotten', () => {
    const h = registry();
    for (const n of ['a', 'b', 'c', 'd']) h.add(n);
    h.suspect('b', 0);
    h.kill('c', 0);
    h.kill('d', 0);
    h.reg.reap('d');
    assert.equal(h.reg.size, 4, 'me + a, b, c');
    assert.equal(h.reg.aliveCount, 3, 'me + a, b');
    assert.deepEqual(sorted(h.reg.list().map((m) => m.name)), ['a', 'b', 'c', 'd']);
    assert.deepEqual(sorted(h.reg.pushState().map((r) => r.name)), ['a', 'b', 'c']);
    assert.deepEqual(sorted(h.reg.failed().map((m) => m.name)), ['c', 'd']);
    assert.deepEqual(
      h.reg.departed().map((d) => [d.name, d.state, d.reaped]).sort(),
      [
        ['c', 'dead', false],
        ['d', 'dead', true],
      ],
    );
    h.reg.forget('d');
    assert.equal(h.reg.member('d'), undefined);
    assert.equal(h.reg.size, 4);
    assert.equal(h.reg.list().length, 3);
  });
});

describe('counts kept from emitted events', () => {
  it('n, the alive count and the counts by state always equal a scan of the actors (random histories)', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.record({ kind: fc.constantFrom('add', 'suspect', 'kill', 'leave', 'alive', 'reap', 'forget', 'time'), who: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const h = registry();
        let t = 0;
        for (const o of ops) {
          const name = `m${o.who}`;
          const m = h.reg.member(name);
          if (o.kind === 'add' && !m) h.add(name, 1, t);
          else if (!m) continue;
          else if (o.kind === 'suspect') h.suspect(name, t);
          else if (o.kind === 'kill') h.kill(name, t);
          else if (o.kind === 'leave') h.kill(name, t, name);
          else if (o.kind === 'alive') h.reg.deliver(name, { type: 'ALIVE', incarnation: m.incarnation + 1, at: t, replace: h.reg.view(name)!.reaped, ...info(o.who) });
          else if (o.kind === 'reap') h.reg.reap(name);
          else if (o.kind === 'forget' && h.reg.view(name)!.reaped) h.reg.forget(name);
          else if (o.kind === 'time') h.advanceTo((t += 700)); // suspicion timers (1 s) may fire
          const list = h.reg.list();
          const scan = { alive: 0, suspect: 0, dead: 0, left: 0 };
          for (const x of list) scan[x.state]++;
          const counted = { alive: 0, suspect: 0, dead: 0, left: 0 };
          h.reg.countInto(counted);
          assert.deepEqual(counted, scan);
          assert.equal(h.reg.aliveCount, 1 + scan.alive + scan.suspect);
          assert.equal(h.reg.size, 1 + list.filter((x) => !h.reg.view(x.name)!.reaped).length);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('members are read once per snapshot', () => {
  it('the same frozen Member until the member changes, then a new one; a refused event keeps it', () => {
    const { reg, add, suspect } = registry();
    add('a');
    const first = reg.member('a')!;
    assert.ok(Object.isFrozen(first), 'frozen: every reader shares it');
    assert.equal(reg.member('a'), first, 'a second read is the same object');
    assert.equal(reg.list().find((m) => m.name === 'a'), first, 'and so is the list entry');
    // A stale alive (incarnation 0 < 1) is refused: nothing changes.
    assert.equal(reg.deliver('a', { type: 'ALIVE', incarnation: 0, at: 5, ...info(1) }), false);
    assert.equal(reg.member('a'), first);
    assert.equal(suspect('a', 10), true);
    const second = reg.member('a')!;
    assert.notEqual(second, first, 'a change gives a new Member');
    assert.equal(second.state, 'suspect');
    assert.equal(first.state, 'alive', 'the old one still says what was');
  });
});
