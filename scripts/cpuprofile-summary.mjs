// Summarise a V8 .cpuprofile: self time by file and by function, and inclusive time of
// the functions named on the command line (a function's time with all it calls, counted
// once per sample even when it recurses). Usage:
//   node scripts/cpuprofile-summary.mjs DIR|FILE.cpuprofile [fnName ...]
// With a directory, the largest profile in it is read (a simulation's child process).
import { readFileSync, readdirSync, statSync } from 'node:fs';

const [target, ...inclusive] = process.argv.slice(2);
if (!target) throw new Error('usage: cpuprofile-summary.mjs DIR|FILE [fnName ...]');
const file = statSync(target).isDirectory()
  ? `${target}/${readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => [f, statSync(`${target}/${f}`).size]).sort((a, b) => a[1] - b[1]).pop()[0]}`
  : target;
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
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
