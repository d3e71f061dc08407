// Re-renders a results file's markdown (and its notes) with the current report code:
//   node --import tsx bench/render.ts bench/results/full.json [--latest]
// writes bench/results/<name>.md next to it; --latest also copies it to latest.{json,md}.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Results } from './run.js';
import { autoNotes } from './lib/notes.js';
import { renderMarkdown } from './lib/report.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: node --import tsx bench/render.ts <results.json> [--latest]');
  process.exit(2);
}
const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
r.notes = autoNotes(r);
const json = `${JSON.stringify(r, null, 2)}\n`;
const md = renderMarkdown(r);
const dir = dirname(file);
writeFileSync(file, json);
writeFileSync(join(dir, `${basename(file, '.json')}.md`), md);
if (process.argv.includes('--latest')) {
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, 'latest.md'), md);
}
