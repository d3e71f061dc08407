// Where one push-pull join's time goes, read off the wire: a fresh agent joins a settled
// cluster of N, rxswim and Serf in the same run, while tcpdump on lo records the join
// request reaching the joiner's API, the joiner's dial to the seed, its push-pull, the
// seed's reply and the API's answer (see lib/join-timeline.ts).
// node --import tsx bench/join-timeline.ts [--n 32] [--reps 5]
//   → bench/results/join-timeline.{json,md}   (needs root for tcpdump, serf on the PATH, dist/ built)
// Uses 127.0.157.0/24 (serf) and 127.0.158.0/24 (rxswim). Measures only: nothing is asserted.
import { runStandalone } from './lib/standalone.js';
import { killJoinTimeline, measureJoinTimeline, renderJoinTimeline } from './lib/join-timeline.js';
import { commandLine, num } from './lib/argv.js';

const N = num('--n', 32);
const REPS = num('--reps', 5);

await runStandalone({
  title: 'One join, phase by phase on the wire: rxswim beside Serf',
  command: commandLine('join-timeline'),
  stem: 'join-timeline',
  softMs: 6 * 60_000,
  hardMs: 8 * 60_000,
  measure: (log, deadlineAt) => measureJoinTimeline({ n: N, reps: REPS, log, deadlineAt }),
  render: renderJoinTimeline,
  cleanup: killJoinTimeline,
});
