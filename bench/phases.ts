// Join and leave phases, rxswim beside Serf and mixed: how long until every member lists
// a join or a graceful leave, and whether a leave is ever listed as a failure
// (see lib/phases.ts).
// node --import tsx bench/phases.ts [--quick] [--pairs 8] [--sizes 8,32,64] [--mixed 8,32]
//        [--poll 100] [--concurrency 64] [--out STEM]
// node --import tsx bench/phases.ts --render bench/results/phases.json   (figures and markdown again)
//   → bench/results/phases.{json,md} (--quick: phases-quick.*)   (needs serf on the PATH, dist/ built)
// Uses 127.0.115.0/24 and 127.0.116.0/24. Measures only: nothing is asserted.
import { readFileSync, writeFileSync } from 'node:fs';
import { hasSerf } from '../test/helpers/procs.js';
import { builtCli, dropCliSnapshot, snapshotCli } from './lib/cluster.js';
import { killPhases, measurePhases, phaseFigures, renderPhases, type PhasesResult } from './lib/phases.js';
import { runStandalone } from './lib/standalone.js';
import { arg, commandLine, has, num, nums } from './lib/argv.js';

const QUICK = has('--quick');
const SIZES = nums('--sizes', QUICK ? [8, 16] : [8, 32, 64]);
const MIXED = nums('--mixed', QUICK ? [8] : [8, 32]);
const PAIRS = num('--pairs', QUICK ? 3 : 8);

// --render FILE: the markdown again from a results file, figures recomputed with the current code
if (arg('--render')) {
  const file = arg('--render')!;
  const { machine, ...r } = JSON.parse(readFileSync(file, 'utf8')) as PhasesResult & { machine: unknown };
  r.figures = phaseFigures(r.clusters, r.options.pollMs);
  writeFileSync(file, JSON.stringify({ machine, ...r }, null, 2) + '\n');
  const md = file.replace(/\.json$/, '.md');
  const head = readFileSync(md, 'utf8').split('\n').slice(0, 4).join('\n');
  writeFileSync(md, `${head}\n${renderPhases(r)}`);
  process.exit(0);
}

if (!builtCli()) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
if (!hasSerf()) throw new Error('serf is not installed (apt-get install -y serf)');
// every agent of the run, restarts included, runs the same build even if dist/ is rebuilt meanwhile
snapshotCli();

try {
  await runStandalone({
    title: 'Join and leave phases: rxswim beside Serf',
    command: commandLine('phases'),
    stem: arg('--out') ?? (QUICK ? 'phases-quick' : 'phases'),
    // No cluster or phase starts after the soft deadline; the hard one kills whatever still runs.
    softMs: (QUICK ? 8 : 35) * 60_000,
    hardMs: (QUICK ? 10 : 40) * 60_000,
    measure: (log, deadlineAt) =>
      measurePhases({
        sizes: { rxswim: SIZES, serf: SIZES, mixed: MIXED },
        pairs: PAIRS,
        pollMs: num('--poll', 100),
        concurrency: num('--concurrency', 64),
        ipBases: ['127.0.115', '127.0.116'],
        log,
        deadlineAt,
      }),
    render: renderPhases,
    cleanup: killPhases,
  });
} finally {
  dropCliSnapshot();
}
