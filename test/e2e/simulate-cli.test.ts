// `rxswim simulate` end to end: the built CLI, a JSON report and an SVG chart; the flags
// it refuses (with the flag and what it accepts, exit 2, no stack trace) and its help.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtCli, CLI } from '../helpers/procs.js';

const skip = !builtCli() && 'run `npm run build` first';
const STACK = /\n\s+at [^\n]*[:(]/;

function simulateCli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'simulate', ...args], { encoding: 'utf8', timeout: 100_000 });
}

test('rxswim simulate --json reports detection, dissemination and load, and is reproducible; --svg makes its folder', { timeout: 120_000, skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-sim-'));
  const svg = join(dir, 'not', 'yet', 'alive.svg');
  try {
    const run = () => simulateCli('--nodes', '12', '--duration', '25s', '--seed', '7', '--json', '--svg', svg);
    const a = run();
    assert.equal(a.status, 0, a.stderr);
    const r = JSON.parse(a.stdout) as { crashed: string[]; joinAtMs: number; crashAtMs: number; fullDetectionMs: number; detectionBoundMs: number; disseminationRounds: number; falseFailures: number; messagesPerNodePerSec: number; wall: unknown };
    assert.equal(r.crashed.length, 1);
    assert.equal(r.joinAtMs, 5000);
    assert.equal(r.crashAtMs, 10_000);
    assert.ok(r.fullDetectionMs > 0 && r.fullDetectionMs <= r.detectionBoundMs);
    assert.ok(r.disseminationRounds > 0);
    assert.equal(r.falseFailures, 0);
    assert.ok(r.messagesPerNodePerSec > 0);
    const chart = readFileSync(svg, 'utf8');
    assert.match(chart, /^<svg[\s\S]*<polyline[\s\S]*<\/svg>$/);
    assert.match(chart, /class="marker marker-join"/);
    assert.match(chart, /class="marker marker-crash"/);
    assert.match(chart, /class="detect-label"[^>]*>declared failed by the first member \+[\d.]+ s, by all \+[\d.]+ s/);
    const b = run();
    const strip = (s: string) => { const o = JSON.parse(s) as Record<string, unknown>; delete o.wall; return o; };
    assert.deepEqual(strip(b.stdout), strip(a.stdout), 'same seed, same report');
    const bad = simulateCli('--loss', '2');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--loss must be a probability/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rxswim simulate refuses a --duration too short for the join and the crash, naming the minimum', { timeout: 30_000, skip }, () => {
  const short = simulateCli('--nodes', '4', '--duration', '5s');
  assert.equal(short.status, 2, short.stderr);
  assert.match(short.stderr, /--duration must be at least 11s/);
  assert.doesNotMatch(short.stderr, STACK);
  assert.equal(short.stdout, '', 'no report with "not reached" for events never scheduled');
  const joinOnly = simulateCli('--nodes', '4', '--crash', '0', '--duration', '5s');
  assert.equal(joinOnly.status, 2);
  assert.match(joinOnly.stderr, /--duration must be at least 6s/);
});

test('rxswim simulate refuses more crashes than --nodes minus 1, naming --crash and the range', { timeout: 30_000, skip }, () => {
  const many = simulateCli('--crash', '20', '--nodes', '10');
  assert.equal(many.status, 2, many.stderr);
  assert.match(many.stderr, /--crash must be in \[0, 9\] with --nodes 10/);
  assert.doesNotMatch(many.stderr, STACK);
  assert.equal(many.stdout, '');
});

test('rxswim simulate --svg where no file can be written: one message naming --svg, exit 2, no stack trace', { timeout: 30_000, skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-sim-'));
  try {
    writeFileSync(join(dir, 'file'), '');
    const r = simulateCli('--nodes', '4', '--svg', join(dir, 'file', 'sub', 'alive.svg'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^rxswim: --svg .*alive\.svg: cannot write the chart there/);
    assert.doesNotMatch(r.stderr, STACK);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rxswim simulate --help shows the default duration as 120s, as the docs do', { timeout: 30_000, skip }, () => {
  const h = simulateCli('--help');
  assert.equal(h.status, 0, h.stderr);
  const help = h.stdout.replace(/\s+/g, ' '); // commander wraps to the terminal's width
  assert.match(help, /--duration <d> [^()]*\([^()]*\) \(default: 120s\) --json/);
  assert.doesNotMatch(help, /120000/);
  assert.match(help, /at least 11s, 6s with --crash 0/);
});

test('rxswim simulate --crash 0 reports no crash instead of "not reached"', { timeout: 60_000, skip }, () => {
  const r = simulateCli('--nodes', '4', '--crash', '0', '--duration', '8s');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /first detection\s+no crash in this run \(--crash 0\)/);
  assert.doesNotMatch(r.stdout, /detection\s+not reached/);
});
