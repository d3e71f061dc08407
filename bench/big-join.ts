// One push-pull join carrying 10,000 members into a lone agent, rxswim beside Serf
// (see lib/big-join.ts).
// node --import tsx bench/big-join.ts [--members 10000] [--reps 3] [--vsn 1,5,2,2,5,4] [--out STEM]
//   → bench/results/big-join.{json,md}   (needs serf on the PATH, dist/ built)
// Uses 127.0.111.0/24 for the agents and the joiner, 127.0.112-119.x for the fake
// members (nothing listens there). Measures only: nothing is asserted.
import { measureBigJoin, renderBigJoin } from './lib/big-join.js';
import { runStandalone } from './lib/standalone.js';
import { arg, commandLine, num, nums } from './lib/argv.js';

const MEMBERS = num('--members', 10_000);
const REPS = num('--reps', 3);
const VSN = arg('--vsn') === undefined ? undefined : nums('--vsn', []);

await runStandalone({
  title: 'A big join: rxswim beside Serf',
  command: commandLine('big-join'),
  // a trial with another vsn writes next to the committed results, not over them
  stem: arg('--out') ?? 'big-join',
  // No repetition starts after the soft deadline; the hard one kills whatever still runs.
  softMs: 7 * 60_000,
  hardMs: 8 * 60_000,
  measure: (log, deadlineAt) => measureBigJoin({ members: MEMBERS, reps: REPS, ipBase: '127.0.111', log, deadlineAt, ...(VSN ? { vsn: VSN } : {}) }),
  render: renderBigJoin,
});
