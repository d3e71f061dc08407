// `rxswim simulate` end to end: the built CLI, a JSON report and an SVG chart.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCli, CLI } from '../helpers/procs.js';

test('rxswim simulate --json reports detection, dissemination and load, and is reproducible', { timeout: 120_000, skip: !builtCli() && 'run `npm run build` first' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-sim-'));
  try {
    const run = () =>
      spawnSync(process.execPath, [CLI, 'simulate', '--nodes', '12', '--duration', '25s', '--seed', '7', '--json', '--svg', join(dir, 'alive.svg')], { encoding: 'utf8', timeout: 100_000 });
    const a = run();
    assert.equal(a.status, 0, a.stderr);
    const r = JSON.parse(a.stdout) as { crashed: string[]; fullDetectionMs: number; detectionBoundMs: number; disseminationRounds: number; falseFailures: number; messagesPerNodePerSec: number; wall: unknown };
    assert.equal(r.crashed.length, 1);
    assert.ok(r.fullDetectionMs > 0 && r.fullDetectionMs <= r.detectionBoundMs);
    assert.ok(r.disseminationRounds > 0);
    assert.equal(r.falseFailures, 0);
    assert.ok(r.messagesPerNodePerSec > 0);
    assert.match(readFileSync(join(dir, 'alive.svg'), 'utf8'), /^<svg[\s\S]*<polyline[\s\S]*<\/svg>$/);
    const b = run();
    const strip = (s: string) => { const o = JSON.parse(s) as Record<string, unknown>; delete o.wall; return o; };
    assert.deepEqual(strip(b.stdout), strip(a.stdout), 'same seed, same report');
    const bad = spawnSync(process.execPath, [CLI, 'simulate', '--loss', '2'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--loss must be a probability/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
