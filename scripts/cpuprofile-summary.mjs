// Summarise a V8 .cpuprofile: self time by file and by function, and inclusive time of
// the functions named on the command line (a function's time with all it calls, counted
// once per sample even when it recurses). Usage:
//   node scripts/cpuprofile-summary.mjs DIR|FILE.cpuprofile [--around FN MS] [fnName ...]
// With a directory, the largest profile in it is read (a simulation's child process).
// `--around FN MS` keeps only the MS milliseconds of samples from 20 ms before the first
// sample inside FN (an agent's profile holds its start-up and its leave too: this is
// the window of one event, such as the first mergePushPull).
import { readFileSync, readdirSync, statSync } from 'node:fs';

const argv = process.argv.slice(2);
let around;
const ai = argv.indexOf('--around');
if (ai >= 0) {
  around = { fn: argv[ai + 1], ms: Number(argv[ai + 2]) };
  if (!around.fn || !(around.ms > 0)) throw new Error('--around needs a function name and a window in ms');
  argv.splice(ai, 3);
}
const [target, ...inclusive] = argv;
if (!target) throw new Error('usage: cpuprofile-summary.mjs DIR|FILE [--around FN MS] [fnName ...]');
const file = statSync(target).isDirectory()
  ? `${target}/${readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => [f, statSync(`${target}/${f}`).size]).sort((a, b) => a[1] - b[1]).pop()[0]}`
  : target;
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inFn = (id, fn) => {
  for (let x = id; x !== undefined; x = parent.get(x)) if (byId.get(x).callFrame.functionName === fn) return true;
  return false;
};
// sample i's time, µs from the profile's start
const at = [];
for (let i = 0, t = 0; i < p.samples.length; i++) at.push((t += p.timeDeltas[i] ?? 0));
let keep = () => true;
if (around) {
  const first = p.samples.findIndex((id) => inFn(id, around.fn));
  if (first < 0) throw new Error(`no sample inside ${around.fn}`);
  const from = at[first] - 20_000;
  keep = (i) => at[i] >= from && at[i] < from + around.ms * 1000;
}
const self = new Map();
for (let i = 0; i < p.samples.length; i++) if (keep(i)) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const short = (u) => {
  if (!u) return '(native)';
  let m = u.match(/node_modules\/([^/]+)/);
  if (m) return m[1];
  m = u.match(/((?:dist\/)?(?:src|machines|cli)\/.*)$/);
  return m ? m[1] : u.replace(/^.*\//, '');
};
const byFn = new Map();
const byFile = new Map();
const incl = new Map(inclusive.map((f) => [f, 0]));
let total = 0;
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const f = short(cf.url);
  total += us;
  const k = `${cf.functionName || '(anon)'} ${f}:${cf.lineNumber + 1}`;
  byFn.set(k, (byFn.get(k) ?? 0) + us);
  byFile.set(f, (byFile.get(f) ?? 0) + us);
  if (incl.size) {
    const seen = new Set();
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const name = byId.get(x).callFrame.functionName;
      if (incl.has(name) && !seen.has(name)) { seen.add(name); incl.set(name, incl.get(name) + us); }
    }
  }
}
const ms = (v) => String(Math.round(v / 1000)).padStart(7);
const pct = (v) => `${((100 * v) / total).toFixed(1).padStart(5)} %`;
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, v]) => `${ms(v)} ${pct(v)} ${n}`).join('\n');
console.log(`${file}\ntotal ms ${Math.round(total / 1000)}`);
console.log('--- self time by file'); console.log(top(byFile, 14));
console.log('--- self time by function'); console.log(top(byFn, 30));
if (incl.size) { console.log('--- inclusive'); console.log(top(incl, incl.size)); }
