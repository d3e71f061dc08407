// Ping→ack RTT on the wire at SWIM's real rate: N = 8 rxswim agents, then 8 serf agents,
// then a bare Node UDP echo, each captured by tcpdump on lo (see lib/wire-rtt.ts).
// node --import tsx bench/wire-rtt.ts [--seconds 35] [--reps 3] [--n 8]
//   → bench/results/wire-rtt.{json,md}   (needs root for tcpdump, serf on the PATH, dist/ built)
// Uses 127.0.110.0/24 only. Measures only: nothing is asserted.
import { runStandalone } from './lib/standalone.js';
import { measureWireRtt, renderWireRtt } from './lib/wire-rtt.js';
import { commandLine, num } from './lib/argv.js';

// 3 reps × 3 phases × (35 s capture + ~10 s start, join, settle, teardown) ≈ 7 min
const SECONDS = num('--seconds', 35);
const REPS = num('--reps', 3);
const N = num('--n', 8);

await runStandalone({
  title: 'Wire ping→ack RTT: rxswim beside Serf and a bare Node echo',
  command: commandLine('wire-rtt'),
  stem: 'wire-rtt',
  // No phase starts after the soft deadline; the hard one kills whatever is still running.
  softMs: 7.5 * 60_000,
  hardMs: 8.5 * 60_000,
  measure: (log, deadlineAt) => measureWireRtt({ n: N, seconds: SECONDS, reps: REPS, ipBase: '127.0.110', log, deadlineAt }),
  render: renderWireRtt,
});
