// Summarise a V8 .heapsnapshot: objects grouped by constructor (or by node type for
// strings, closures, arrays...), with count and shallow size, largest first. With
// `--per N`, counts and bytes are also divided by N (e.g. per member); with `--base
// FILE`, the groups of that earlier snapshot are subtracted (what was added between).
//   node scripts/heap-summary.mjs FILE.heapsnapshot [--base FILE] [--per N] [--top K]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args[0];
const per = Number(args[args.indexOf('--per') + 1]) || 0;
const topK = Number(args[args.indexOf('--top') + 1]) || 40;
const base = args.includes('--base') ? args[args.indexOf('--base') + 1] : undefined;
function summarise(path) {
const snap = JSON.parse(readFileSync(path, 'utf8'));
const meta = snap.snapshot.meta;
const fields = meta.node_fields;
const nf = fields.length;
const types = meta.node_types[0];
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const nodes = snap.nodes;
const strings = snap.strings;
const groups = new Map();
let total = 0;
for (let i = 0; i < nodes.length; i += nf) {
  const type = types[nodes[i + iType]];
  const size = nodes[i + iSize];
  total += size;
  let key;
  if (type === 'object') key = strings[nodes[i + iName]];
  else if (type === 'closure') key = `(closure ${strings[nodes[i + iName]] || 'anon'})`;
  else key = `(${type})`;
  const g = groups.get(key) ?? { count: 0, size: 0 };
  g.count++;
  g.size += size;
  groups.set(key, g);
}
return { groups, total };
}
const { groups, total: after } = summarise(file);
let total = after;
if (base) {
  const b = summarise(base);
  total -= b.total;
  for (const [k, g] of b.groups) {
    const a = groups.get(k) ?? { count: 0, size: 0 };
    groups.set(k, { count: a.count - g.count, size: a.size - g.size });
  }
}
console.log(`${file}${base ? ` minus ${base}` : ''}: ${(total / 1048576).toFixed(1)} MB${per ? `; per ${per}: ${(total / per).toFixed(0)} B` : ''}`);
console.log(`${'bytes'.padStart(11)} ${'count'.padStart(9)}${per ? `${'B/per'.padStart(8)}${'n/per'.padStart(7)}` : ''}  group`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, topK)) {
  console.log(`${String(g.size).padStart(11)} ${String(g.count).padStart(9)}${per ? `${(g.size / per).toFixed(0).padStart(8)}${(g.count / per).toFixed(2).padStart(7)}` : ''}  ${k.slice(0, 80)}`);
}
