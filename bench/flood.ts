// The hostile-input flood at bench length: test/e2e/hostile-input.test.ts's flood test (a
// victim node, two agent peers, 20,000 datagrams/s from one source, half garbage, half
// pings; a separate process pinging the victim as a peer would), run for 60 s instead of
// CI's 3 s, in 127.0.114.x. node --import tsx bench/flood.ts [--seconds 60] [--net 127.0.114]
// Writes bench/results/flood.{json,md}: packets sent, whether any peer suspected the
// victim, the probe round trips during the flood, and the test's own verdict. The test
// runs in a process group of its own, killed by its PID on the deadline and on SIGINT.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './lib/machine.js';
import { arg, commandLine, num } from './lib/argv.js';

const seconds = num('--seconds', 60);
const net = arg('--net') ?? '127.0.114';
const TEST = fileURLToPath(new URL('../test/e2e/hostile-input.test.ts', import.meta.url));
const OUT = fileURLToPath(new URL('./results/', import.meta.url));
const deadlineMs = seconds * 1000 + 120_000;

interface Rtt {
  sent: number;
  acked: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}
interface FloodJson {
  rate: number;
  floodMs: number;
  flood: { sent: number; ms: number };
  victimReadPackets: number;
  quiet: Rtt;
  probed: Rtt;
  peerProbes: Record<string, Record<string, number>>;
  suspicions: string[];
}

const t0 = Date.now();
const child = spawn(process.execPath, ['--import', 'tsx', '--test-name-pattern=flood', TEST], {
  env: { ...process.env, RXSWIM_FLOOD_MS: String(seconds * 1000), RXSWIM_HOSTILE_NET: net, RXSWIM_FLOOD_JSON: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
const killGroup = () => {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
};
const timer = setTimeout(() => {
  process.stderr.write(`flood: deadline of ${deadlineMs} ms, killing the test's process group ${child.pid}\n`);
  killGroup();
}, deadlineMs);
process.once('SIGINT', () => {
  killGroup();
  process.exit(130);
});
let out = '';
child.stdout!.on('data', (c: Buffer) => {
  out += c.toString();
  process.stderr.write(c);
});
const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
clearTimeout(timer);
killGroup();

const line = out.split('\n').find((l) => l.includes('# flood-json: '));
const figures = line ? (JSON.parse(line.slice(line.indexOf('# flood-json: ') + 14)) as FloodJson) : null;
const passed = code === 0 && /^# pass 1$/m.test(out);
const failures = out.split('\n').filter((l) => /^\s*(not ok|error:|expected|actual)/.test(l)).slice(0, 10);
const machine = describeMachine();
const result = { machine, seconds, net, durationS: Math.round((Date.now() - t0) / 1000), passed, exitCode: code, figures, failures };
const f = figures;
const md = [
  `# Flood, ${seconds} s`,
  '',
  `\`${commandLine('flood')}\`: test/e2e/hostile-input.test.ts's flood test with RXSWIM_FLOOD_MS=${seconds * 1000} in ${net}.x. Machine: ${machine.cpuModel}, ${machine.cores} cores; Node ${machine.node}; ${machine.date}${machine.commit ? `; rxswim at ${machine.commit}` : ''}. Run took ${result.durationS} s.`,
  '',
  `**Test ${passed ? 'passed' : 'FAILED'}**${failures.length ? `: ${failures.join(' / ')}` : ''}.`,
  '',
  ...(f
    ? [
        '| figure | value |',
        '|---|---|',
        `| packets sent by the flooder | ${f.flood.sent} in ${f.flood.ms} ms (${Math.round((f.flood.sent * 1000) / f.flood.ms)}/s; target ${f.rate}/s) |`,
        `| packets the victim read (rxswim_packets_received_total{transport="udp"}) | ${f.victimReadPackets} of the ${f.flood.sent} sent (what the node does not read in time, the kernel drops when the socket's buffer is full) |`,
        `| peers that suspected or failed the victim | ${f.suspicions.length === 0 ? 'none' : f.suspicions.join(', ')} |`,
        `| peers' probes of their members during the flood | ${Object.entries(f.peerProbes).map(([p, o]) => `${p}: ${Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')} |`,
        `| ping→ack RTT from a peer process, quiet (1 s) | ${f.quiet.acked}/${f.quiet.sent} acked, p50 ${f.quiet.p50} ms, p99 ${f.quiet.p99} ms, max ${f.quiet.max} ms |`,
        `| ping→ack RTT during the flood (one ping / 20 ms) | ${f.probed.acked}/${f.probed.sent} acked, p50 ${f.probed.p50} ms, p99 ${f.probed.p99} ms, max ${f.probed.max} ms |`,
      ]
    : ['The test printed no figures.']),
  '',
].join('\n');
mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}flood.json`, JSON.stringify(result, null, 2) + '\n');
writeFileSync(`${OUT}flood.md`, md);
process.stdout.write(md);
process.exit(passed ? 0 : 1);
