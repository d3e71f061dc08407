// `rxswim simulate`: plan a cluster before you run it. The real protocol code, N nodes
// on the in-memory network, minutes of protocol time in virtual time.
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Profile } from '../config.js';
import { aliveChartSvg, maxCrash, minDurationMs, SCENARIO, simulate, type SimulateReport } from '../sim/simulate.js';
import { EXIT } from './client.js';
import { runInOwnProcess, wantsOwnProcess } from './simulate-process.js';

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

/** 11000 → "11s", 1500 → "1.5s": the CLI's duration syntax, so a message can be pasted back. */
function flagSeconds(ms: number): string {
  return `${Math.round(ms) / 1000}s`;
}

/**
 * What is wrong with a combination of flags that each parsed well, one message per
 * problem, each naming its flag and what it accepts; empty when the run can go ahead.
 */
export function simulateUsageErrors(o: Pick<SimulateCliOptions, 'nodes' | 'crash' | 'durationMs'>): string[] {
  const errors: string[] = [];
  if (o.crash > maxCrash(o.nodes)) {
    errors.push(
      `--crash must be in [0, ${maxCrash(o.nodes)}] with --nodes ${o.nodes}: node-0 and the late joiner are never crashed, so that members survive to observe the crash (got ${o.crash})`,
    );
  }
  const min = minDurationMs(o.crash);
  if (o.durationMs < min) {
    const when = o.crash > 0
      ? `the late join is at ${flagSeconds(SCENARIO.joinAtMs)} and the crash at ${flagSeconds(SCENARIO.crashAtMs)} after convergence`
      : `the late join is at ${flagSeconds(SCENARIO.joinAtMs)} after convergence`;
    const other = o.crash > 0 ? ` (${flagSeconds(minDurationMs(0))} with --crash 0)` : '';
    errors.push(
      `--duration must be at least ${flagSeconds(min)}${other}: ${when}, and the run keeps ${flagSeconds(SCENARIO.observeMs)} after the last (got ${flagSeconds(o.durationMs)})`,
    );
  }
  return errors;
}

function sec(v: number): string {
  return `${(v / 1000).toFixed(2)} s`;
}

/** A measured time, or why there is none: never "not reached" for an event that did not happen. */
function since(v: number | null, eventAtMs: number | null, runMs: number, event: string, none: string): string {
  if (eventAtMs === null) return none;
  return v === null ? `not reached in the ${sec(runMs - eventAtMs)} between the ${event} and the end of the run` : sec(v);
}

export function formatReport(r: SimulateReport): string {
  const run = r.options.durationMs;
  const noCrash = r.options.crash === 0 ? 'no crash in this run (--crash 0)' : 'no crash in this run (its time is past the end)';
  const noJoin = 'no join in this run (its time is past the end)';
  const row = (name: string, value: string) => `  ${name.padEnd(27)}${value}`;
  const dissemination = r.disseminationMs === null
    ? since(null, r.joinAtMs, run, 'join', noJoin)
    : `${sec(r.disseminationMs)} = ${r.disseminationRounds} gossip rounds = ${r.disseminationC} × ln(N)`;
  return [
    `rxswim simulate: ${r.options.nodes} nodes (+1 joining late), profile ${r.options.profile}, loss ${r.options.loss * 100} %, seed ${r.options.seed}`,
    row('converged after', `${sec(r.convergeMs)} of protocol time`),
    row('crashed', r.crashed.length > 0 ? `${r.crashed.join(', ')} at ${sec(r.crashAtMs!)}` : 'none'),
    row('first detection', since(r.firstDetectionMs, r.crashAtMs, run, 'crash', noCrash)),
    row('full detection', `${since(r.fullDetectionMs, r.crashAtMs, run, 'crash', noCrash)}   (bound the configuration implies: ${sec(r.detectionBoundMs)})`),
    row('joined late', r.joinAtMs === null ? 'nobody' : `${r.joiner} at ${sec(r.joinAtMs)}`),
    row('join disseminated to all', dissemination),
    row('false positives', `${r.falseFailures} failed, ${r.falseSuspicions} suspected (healthy members)`),
    row('load per node', `${r.messagesPerNodePerSec} datagrams/s, ${r.bytesPerNodePerSec} bytes/s`),
    row('peak broadcast queue', `${r.peakBroadcastQueue}`),
    row('wall clock', `boot ${sec(r.wall.bootMs)}, run ${sec(r.wall.runMs)}: ${r.wall.nodeSecondsPerWallSecond} node-seconds per second, heap ${r.wall.heapMB} MB`),
  ].join('\n');
}

/** Make the chart's folder and check that the chart can be written there; a message naming --svg otherwise. */
export function prepareSvgPath(file: string): string | undefined {
  const path = resolve(file);
  try {
    mkdirSync(dirname(path), { recursive: true });
    accessSync(dirname(path), constants.W_OK);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // no such file yet: fine
    }
    if (isDir) return `--svg ${file}: is a folder; give a file name such as ${file.replace(/\/+$/, '')}/alive.svg`;
    return undefined;
  } catch (e) {
    return `--svg ${file}: cannot write the chart there (${(e as Error).message})`;
  }
}

export async function runSimulate(o: SimulateCliOptions): Promise<number> {
  const problems = simulateUsageErrors(o);
  const svgProblem = o.svg === undefined ? undefined : prepareSvgPath(o.svg);
  if (svgProblem) problems.push(svgProblem);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`rxswim: ${p}\n`);
    return EXIT.usage;
  }
  if (wantsOwnProcess()) {
    const code = await runInOwnProcess();
    if (code !== undefined) return code;
  }
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
    // The process ends right after the report: the OS frees the nodes faster than stopping them.
    stopAtEnd: false,
    onProgress: (f, phase) => bar?.update(Math.round(f * 100), { phase }),
  });
  bar?.stop();
  let code: number = EXIT.ok;
  if (o.svg) {
    try {
      writeFileSync(o.svg, aliveChartSvg(report));
    } catch (e) {
      process.stderr.write(`rxswim: --svg ${o.svg}: cannot write the chart (${(e as Error).message})\n`);
      code = EXIT.usage;
    }
  }
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n${o.svg && code === EXIT.ok ? `  chart                      ${o.svg}\n` : ''}`);
  return code;
}
