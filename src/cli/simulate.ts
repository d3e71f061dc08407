// `rxswim simulate`: plan a cluster before you run it. The real protocol code, N nodes
// on the in-memory network, minutes of protocol time in virtual time.
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Profile } from '../config.js';
import { aliveChartSvg, simulate, type SimulateReport } from '../sim/simulate.js';

export interface SimulateCliOptions {
  nodes: number;
  loss: number;
  profile: Profile;
  crash: number;
  seed: number;
  durationMs: number;
  json: boolean;
  svg?: string;
}

function ms(v: number | null): string {
  return v === null ? 'not reached' : `${(v / 1000).toFixed(2)} s`;
}

export function formatReport(r: SimulateReport): string {
  return [
    `rxswim simulate: ${r.options.nodes} nodes (+1 joining late), profile ${r.options.profile}, loss ${r.options.loss * 100} %, seed ${r.options.seed}`,
    `  converged after            ${ms(r.convergeMs)} of protocol time`,
    `  crashed                    ${r.crashed.length > 0 ? r.crashed.join(', ') : 'none'}`,
    `  first detection            ${ms(r.firstDetectionMs)}`,
    `  full detection             ${ms(r.fullDetectionMs)}   (bound the configuration implies: ${ms(r.detectionBoundMs)})`,
    `  join disseminated to all   ${ms(r.disseminationMs)} = ${r.disseminationRounds ?? '-'} gossip rounds = ${r.disseminationC ?? '-'} × ln(N)`,
    `  false positives            ${r.falseFailures} failed, ${r.falseSuspicions} suspected (healthy members)`,
    `  load per node              ${r.messagesPerNodePerSec} datagrams/s, ${r.bytesPerNodePerSec} bytes/s`,
    `  peak broadcast queue       ${r.peakBroadcastQueue}`,
    `  wall clock                 boot ${ms(r.wall.bootMs)}, run ${ms(r.wall.runMs)}: ${r.wall.nodeSecondsPerWallSecond} node-seconds per second, heap ${r.wall.heapMB} MB`,
  ].join('\n');
}

export async function runSimulate(o: SimulateCliOptions): Promise<number> {
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'simulating [{bar}] {percentage}% {phase}', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(100, 0, { phase: 'booting' });
  const report = await simulate({
    nodes: o.nodes,
    seed: o.seed,
    profile: o.profile,
    loss: o.loss,
    crash: o.crash,
    durationMs: o.durationMs,
    onProgress: (f, phase) => bar?.update(Math.round(f * 100), { phase }),
  });
  bar?.stop();
  if (o.svg) writeFileSync(o.svg, aliveChartSvg(report));
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n${o.svg ? `  chart                      ${o.svg}\n` : ''}`);
  return 0;
}
