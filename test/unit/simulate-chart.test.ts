// The `rxswim simulate --svg` chart, read as a person reading a detection experiment
// would: a y axis zoomed to the data, several x ticks in seconds, the join and the crash
// marked, the detection times written down, and a legend that hides nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aliveAxis, aliveChartSvg, CHART, timeAxis, type SimulateReport } from '../../src/sim/simulate.js';

/** A report as a 19-node run would give it: 19 alive, 20 after the join at 5 s, 19 again after the crash at 10 s. */
function report(over: Partial<SimulateReport> = {}): SimulateReport {
  const aliveSeries: Array<[number, number, number]> = [];
  for (let s = 0; s <= 30; s++) {
    const v = s <= 5 ? 19 : s <= 12 ? 20 : s === 13 ? 19.4 : 19;
    aliveSeries.push([s, Math.floor(v), v]);
  }
  return {
    options: { nodes: 19, seed: 3, profile: 'lan', loss: 0, crash: 1, durationMs: 30_000 },
    convergeMs: 1000,
    joinAtMs: 5000,
    crashAtMs: 10_000,
    crashed: ['node-7'],
    firstDetectionMs: 6500,
    fullDetectionMs: 6900,
    detectionBoundMs: 52_800,
    joiner: 'node-19',
    disseminationMs: 600,
    disseminationRounds: 3,
    disseminationC: 1,
    falseFailures: 0,
    falseSuspicions: 0,
    messagesPerNodePerSec: 2,
    bytesPerNodePerSec: 100,
    peakBroadcastQueue: 2,
    aliveSeries,
    wall: { bootMs: 1, runMs: 1, nodeSecondsPerWallSecond: 1, heapMB: 1 },
    ...over,
  };
}

type Attrs = Record<string, string>;

function attrsOf(tag: string): Attrs {
  const out: Attrs = {};
  for (const m of tag.matchAll(/([\w:-]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Every element `<name ...>` whose class list holds `cls`, with its attributes and (for text) its content. */
function find(svg: string, name: string, cls?: string): Array<Attrs & { text?: string }> {
  const re = name === 'text' ? /<text\b([^>]*)>([^<]*)<\/text>/g : new RegExp(`<${name}\\b([^>]*)/?>`, 'g');
  const out: Array<Attrs & { text?: string }> = [];
  for (const m of svg.matchAll(re)) {
    const a: Attrs & { text?: string } = attrsOf(m[1]!);
    if (name === 'text') a.text = m[2]!;
    if (cls === undefined || (a.class ?? '').split(/\s+/).includes(cls)) out.push(a);
  }
  return out;
}

function one(svg: string, name: string, cls: string): Attrs & { text?: string } {
  const all = find(svg, name, cls);
  assert.equal(all.length, 1, `one <${name} class="${cls}">, found ${all.length}`);
  return all[0]!;
}

const num = (a: Attrs, k: string) => {
  const v = Number(a[k]);
  assert.ok(Number.isFinite(v), `${k}="${a[k]}" is a number`);
  return v;
};

function plotRect(svg: string) {
  const r = one(svg, 'rect', 'plot-area');
  return { x: num(r, 'x'), y: num(r, 'y'), w: num(r, 'width'), h: num(r, 'height') };
}

/** The x pixel of t seconds on the chart's time axis. */
function xOf(svg: string, t: number): number {
  const p = plotRect(svg);
  const max = num(one(svg, 'g', 'plot'), 'data-x-max');
  return p.x + (p.w * t) / max;
}

test('chart: the y axis spans the data (19..20), not 0..N, so one member is a step a reader sees', () => {
  const svg = aliveChartSvg(report());
  const g = one(svg, 'g', 'plot');
  const yMin = num(g, 'data-y-min');
  const yMax = num(g, 'data-y-max');
  assert.ok(yMin > 0, `y axis starts at ${yMin}, not 0`);
  assert.ok(yMin < 19 && yMax > 20, `the data 19..20 is inside the axis ${yMin}..${yMax}, with padding`);
  assert.ok(yMax - yMin <= 4, `the axis ${yMin}..${yMax} is zoomed to the data`);
  const ticks = find(svg, 'text', 'tick-y').map((t) => t.text!);
  assert.ok(ticks.length >= 2);
  for (const t of ticks) assert.match(t, /^\d+$/, 'integer y ticks');
  assert.deepEqual(ticks.map(Number), [...ticks.map(Number)].sort((a, b) => a - b));
  // Measured on the drawn line: 19 → 20 is at least a sixth of the plot's height.
  const p = plotRect(svg);
  const ys = one(svg, 'polyline', 'series-min').points!.split(' ').map((pt) => Number(pt.split(',')[1]));
  const step = Math.max(...ys) - Math.min(...ys);
  assert.ok(step >= p.h / 6, `a one-member change is ${step.toFixed(1)} px of ${p.h} px`);
  for (const y of ys) assert.ok(y >= p.y && y <= p.y + p.h, 'the line stays inside the plot area');
});

test('chart: y axis for a large drop, and for a flat line, keeps integer ticks and padding', () => {
  const big = aliveAxis([[0, 100, 100], [1, 50, 70], [2, 50, 50]]);
  assert.ok(big.min < 50 && big.min > 0 && big.max > 100, `${big.min}..${big.max}`);
  assert.ok(big.ticks.length >= 3 && big.ticks.length <= 12);
  for (const t of big.ticks) assert.ok(Number.isInteger(t));
  const flat = aliveAxis([[0, 7, 7], [1, 7, 7]]);
  assert.ok(flat.min < 7 && flat.max > 7 && flat.min > 0, `${flat.min}..${flat.max}`);
  assert.deepEqual(aliveAxis([]), { min: 0, max: 1, ticks: [0, 1] });
});

test('chart: at least 4 x ticks labelled in seconds, from 0 across the run', () => {
  for (const seconds of [6, 11, 25, 30, 120, 600]) {
    const a = timeAxis(seconds);
    assert.ok(a.ticks.length >= 4 && a.ticks.length <= 11, `${seconds} s: ${a.ticks.length} ticks`);
    assert.equal(a.ticks[0], 0);
    assert.ok(a.ticks.at(-1)! <= seconds && a.ticks.at(-1)! > seconds / 2);
  }
  const svg = aliveChartSvg(report());
  const labels = find(svg, 'text', 'tick-x');
  assert.ok(labels.length >= 4, `${labels.length} x labels`);
  for (const l of labels) assert.match(l.text!, /^\d+(\.\d+)? s$/, 'labelled in seconds');
  const xs = labels.map((l) => Number(l.x));
  assert.deepEqual(xs, [...xs].sort((a, b) => a - b));
  const p = plotRect(svg);
  assert.ok(xs.at(-1)! - xs[0]! >= p.w * 0.6, 'the labels spread across the plot');
});

test('chart: the join and the crash are vertical lines at their times, labelled; the detection times are written down', () => {
  const svg = aliveChartSvg(report());
  const p = plotRect(svg);
  for (const [cls, t] of [['marker-join', 5], ['marker-crash', 10], ['marker-detect-first', 16.5], ['marker-detect-all', 16.9]] as const) {
    const l = one(svg, 'line', cls);
    assert.equal(num(l, 'x1'), num(l, 'x2'), `${cls} is vertical`);
    assert.ok(Math.abs(num(l, 'x1') - xOf(svg, t)) < 0.2, `${cls} at ${t} s`);
    assert.ok(num(l, 'y2') >= p.y + p.h - 0.5 && num(l, 'y1') <= p.y + 0.5, `${cls} crosses the plot`);
  }
  const labels = find(svg, 'text', 'marker-label').map((t) => t.text!);
  assert.ok(labels.some((t) => /node-19 joins at 5 s/.test(t) && /known to all \+0\.6 s/.test(t)), labels.join(' | '));
  assert.ok(labels.some((t) => /crash of 1 at 10 s/.test(t)), labels.join(' | '));
  const detect = one(svg, 'text', 'detect-label').text!;
  assert.match(detect, /declared failed by the first member \+6\.5 s/);
  assert.match(detect, /by all \+6\.9 s/);
  assert.match(detect, /bound 52\.8 s/);
  assert.match(one(svg, 'text', 'subtitle').text!, /crashed: node-7/);
});

test('chart: labels above the plot do not overlap each other or the plot, and stay on the canvas', () => {
  // The crash late in the run: its labels must turn left instead of running off the canvas.
  const svg = aliveChartSvg(report({ crashAtMs: 28_000, firstDetectionMs: 1000, fullDetectionMs: null }));
  const p = plotRect(svg);
  const labels = [...find(svg, 'text', 'marker-label'), ...find(svg, 'text', 'detect-label')];
  assert.equal(labels.length, 3);
  const ys = labels.map((l) => num(l, 'y'));
  assert.equal(new Set(ys).size, 3, 'one row each');
  for (const l of labels) {
    assert.ok(num(l, 'y') < p.y, `"${l.text}" sits above the plot`);
    const w = l.text!.length * 7.5;
    const left = l['text-anchor'] === 'end' ? num(l, 'x') - w : num(l, 'x');
    assert.ok(left >= 0 && left + w <= CHART.width + 20, `"${l.text}" (${left.toFixed(0)}..${(left + w).toFixed(0)}) stays on the canvas`);
  }
  assert.match(one(svg, 'text', 'detect-label').text!, /first member \+1 s, not by all before the end/);
  assert.equal(find(svg, 'line', 'marker-detect-all').length, 0, 'no line for a detection that did not happen');
});

test('chart: the legend sits outside the plot area', () => {
  const svg = aliveChartSvg(report());
  const p = plotRect(svg);
  const box = one(svg, 'rect', 'legend-box');
  const b = { x: num(box, 'x'), y: num(box, 'y'), w: num(box, 'width'), h: num(box, 'height') };
  const overlap = b.x < p.x + p.w && b.x + b.w > p.x && b.y < p.y + p.h && b.y + b.h > p.y;
  assert.ok(!overlap, `legend ${JSON.stringify(b)} overlaps the plot ${JSON.stringify(p)}`);
  assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= CHART.width && b.y + b.h <= CHART.height, 'legend on the canvas');
  const legend = svg.slice(svg.indexOf('<g class="legend">'));
  assert.match(legend, /mean members alive/);
  assert.match(legend, /fewest alive/);
});

test('chart: a run without a crash has no crash marker and no detection label; the output is plain SVG', () => {
  const svg = aliveChartSvg(report({ options: { nodes: 19, seed: 3, profile: 'lan', loss: 0, crash: 0, durationMs: 30_000 }, crashAtMs: null, crashed: [], firstDetectionMs: null, fullDetectionMs: null }));
  assert.equal(find(svg, 'line', 'marker-crash').length, 0);
  assert.equal(find(svg, 'text', 'detect-label').length, 0);
  assert.equal(find(svg, 'line', 'marker-join').length, 1);
  assert.match(one(svg, 'text', 'subtitle').text!, /no crash/);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*viewBox="0 0 \d+ \d+"[\s\S]*<\/svg>$/);
  // Balanced groups, and no stray markup in the text.
  assert.equal((svg.match(/<g\b/g) ?? []).length, (svg.match(/<\/g>/g) ?? []).length);
  for (const t of find(svg, 'text')) assert.doesNotMatch(t.text!, /[<>]/);
});
