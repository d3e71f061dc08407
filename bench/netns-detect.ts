// Crash detection and false failures on the network-namespace bed, one agent per host:
// Serf 0.8 (lan), rxswim --profile lan, rxswim --profile adaptive (issue 12's goal for
// the adaptive profile; see lib/netns-detect.ts for how each figure is taken).
// node --import tsx bench/netns-detect.ts [--hosts 10] [--reps 5] [--fault-seconds 120]
//   → bench/results/netns-detect.{json,md}. Needs root, ip, nft, serf and a built dist/.
// Measures, asserts nothing. About 25 min at the defaults; hard deadline 40 min.
import { BUILT_CLI, dropCliSnapshot, snapshotCli } from './lib/cluster.js';
import { buildInfo, Cluster, crashRep, IMPLS, lossRun, slowRun, type BuildInfo, type CrashRep, type Impl, type LossRun, type SlowRun } from './lib/netns-detect.js';
import { runStandalone } from './lib/standalone.js';
import { medianOf, ratio, sleep } from './lib/stats.js';
import { NetnsBed, netnsSkipReason } from '../test/helpers/netns.js';
import { builtCli, hasSerf } from '../test/helpers/procs.js';
import { commandLine, num } from './lib/argv.js';

const HOSTS = num('--hosts', 10);
const REPS = num('--reps', 5);
const FAULT_MS = num('--fault-seconds', 120) * 1000;
const SETTLE_MS = 30_000;
const REP_SETTLE_MS = 10_000;
/** how long a rep waits for every observer's failure line (Serf's longest suspicion at N = 10 is 24 s) */
const DETECT_WAIT_MS = 60_000;
/** failure lines are still counted this long after a fault ends (a suspicion raised at its end) */
const GRACE_MS = 10_000;
const LOSS_PERCENT = 10;
const STOP_MS = 800;
const PERIOD_MS = 1000;
/** measured in this order so that a soft deadline cuts lan, not the two the goal compares */
const ORDER: readonly Impl[] = ['serf', 'rxswim-adaptive', 'rxswim-lan'];
const LABEL: Record<Impl, string> = { serf: 'Serf 0.8 (lan)', 'rxswim-lan': 'rxswim lan', 'rxswim-adaptive': 'rxswim adaptive' };

interface ImplResult {
  impl: Impl;
  convergeMs: number | null;
  crashes: CrashRep[];
  loss: LossRun | null;
  slow: SlowRun | null;
  errors: string[];
}

interface Result {
  durationS: number;
  hosts: number;
  reps: number;
  faultSeconds: number;
  cli: { path: string; builtAt: string } | null;
  /** the source the CLI was built from, checked when the run started */
  build: BuildInfo | null;
  impls: ImplResult[];
  /** namespaces of the bed still present after bed.close() (should be empty) */
  leftovers: string[];
}

let bed: NetnsBed | undefined;
let current: Cluster | undefined;

await runStandalone<Result>({
  title: 'Crash detection and false failures on the netns bed: Serf, rxswim lan, rxswim adaptive',
  command: commandLine('netns-detect'),
  stem: 'netns-detect',
  softMs: 35 * 60_000,
  hardMs: 40 * 60_000,
  async cleanup() {
    await current?.stop();
    current = undefined;
    await bed?.close();
  },
  async measure(log, deadlineAt) {
    const t0 = Date.now();
    const skip = netnsSkipReason() || (!hasSerf() && 'needs `serf` (Debian package serf)') || (!builtCli() && 'run `npm run build` first');
    if (skip) throw new Error(skip);
    const build = buildInfo(BUILT_CLI);
    const cli = snapshotCli();
    if (build.newerThanBuild.length) log(`warning: dist/cli is older than ${build.newerThanBuild.join(', ')}: run npm run build`);
    const impls: ImplResult[] = [];
    let leftovers: string[] = [];
    bed = await NetnsBed.create(HOSTS, { tag: 'nd' });
    try {
      for (const impl of ORDER) {
        const r: ImplResult = { impl, convergeMs: null, crashes: [], loss: null, slow: null, errors: [] };
        impls.push(r);
        if (Date.now() + 2 * 60_000 > deadlineAt) {
          r.errors.push('not run: soft deadline');
          continue;
        }
        const c = new Cluster(bed, impl, cli.path);
        current = c;
        try {
          r.convergeMs = await c.start();
          log(`${impl}: ${HOSTS} agents list ${HOSTS} alive ${r.convergeMs} ms after the last started; settling ${SETTLE_MS / 1000} s`);
          await sleep(SETTLE_MS);
          for (let rep = 1; rep <= REPS; rep++) {
            if (Date.now() + 60_000 > deadlineAt) {
              r.errors.push(`reps ${rep}..${REPS} not run: soft deadline`);
              break;
            }
            r.crashes.push(await crashRep(c, rep, rep % HOSTS, DETECT_WAIT_MS, REP_SETTLE_MS, log));
          }
          if (Date.now() + FAULT_MS + 60_000 <= deadlineAt) r.loss = await lossRun(bed, c, LOSS_PERCENT, FAULT_MS, GRACE_MS, log);
          else r.errors.push('loss not run: soft deadline');
          if (Date.now() + FAULT_MS + 60_000 <= deadlineAt) r.slow = await slowRun(c, HOSTS - 1, STOP_MS, PERIOD_MS, FAULT_MS, GRACE_MS, log);
          else r.errors.push('slow node not run: soft deadline');
        } catch (e) {
          r.errors.push((e as Error).message);
          log(`${impl}: ${(e as Error).message}`);
        } finally {
          bed.heal();
          await c.stop();
          current = undefined;
        }
      }
    } finally {
      await bed.close();
      leftovers = bed.leftovers();
      log(`bed closed; namespaces left: ${leftovers.length ? leftovers.join(', ') : 'none'}`);
      dropCliSnapshot();
    }
    return { durationS: Math.round((Date.now() - t0) / 1000), hosts: HOSTS, reps: REPS, faultSeconds: FAULT_MS / 1000, cli, build, impls, leftovers };
  },
  render(r) {
    const out: string[] = [];
    const byImpl = (i: Impl) => r.impls.find((x) => x.impl === i);
    const every = (i: Impl) => medianOf(byImpl(i)?.crashes.map((c) => c.everyMs) ?? []);
    const med = (i: Impl) => medianOf(byImpl(i)?.crashes.map((c) => c.medianMs) ?? []);
    const worst = (i: Impl) => {
      const cs = byImpl(i)?.crashes ?? [];
      if (cs.length === 0) return '–';
      return cs.some((c) => c.everyMs === null) ? 'not all (see below)' : String(Math.max(...cs.map((c) => c.everyMs!)));
    };
    const show = (v: number | null) => (v === null ? '–' : String(Math.round(v)));
    const b = r.build;
    if (b && r.cli) {
      const stale = b.newerThanBuild.length ? ` **The build is older than ${b.newerThanBuild.join(', ')}**: the figures are for the source as it was at ${r.cli.builtAt}, not for HEAD.` : ' No file of src/ or machines/ was newer than the build.';
      out.push(`rxswim measured: dist/cli built ${r.cli.builtAt}; HEAD at the start ${b.head ?? '?'}${b.uncommitted.length ? `, uncommitted in src/ and machines/: ${b.uncommitted.join(', ')}` : ', src/ and machines/ as committed'}.${stale}`, '');
    }
    out.push(
      `${r.hosts} hosts, each a network namespace behind one bridge (test/helpers/netns.ts), one agent per host; the implementations ran one after another on the same bed (${ORDER.map((i) => LABEL[i]).join(', then ')}). ` +
        `Each cluster: host 0 first, 1..${r.hosts - 2} joining it, the last joining all; wait until every agent lists all ${r.hosts} alive, then ${SETTLE_MS / 1000} s settle. ` +
        'Times are taken outside the agents: every stdout/stderr line is stamped (performance.now()) as the bench reads it, and a failure is the first line that reports it ' +
        "(Serf: `serf: EventMemberFailed: <name>`; rxswim: its JSON event line `\"event\":\"failed\"`). rxswim agents run the built CLI (a snapshot of dist/cli taken at the start), Serf is Debian's `serf agent` with its defaults (lan).",
      '',
      `## Crash detection: kill -9 of one agent, ${r.reps} reps`,
      '',
      `Rep k kills host k's agent (t0 = just before the signal), waits up to ${DETECT_WAIT_MS / 1000} s for every other agent's failure line, restarts it (same name, same address, joining the others), waits until all ${r.hosts} list all alive and settles ${REP_SETTLE_MS / 1000} s. ` +
        `"Every member" = the last of the ${r.hosts - 1} observers; "median observer" = the median of the ${r.hosts - 1} observers' times. Medians over the reps.`,
      '',
      '| implementation | reps | every member, median ms | median observer, median ms | worst every member ms | every member / Serf | median observer / Serf |',
      '|---|---|---|---|---|---|---|',
    );
    for (const i of IMPLS) {
      const x = byImpl(i);
      if (!x) continue;
      out.push(`| ${LABEL[i]} | ${x.crashes.length} | ${show(every(i))} | ${show(med(i))} | ${worst(i)} | ${i === 'serf' ? '1' : (ratio(every(i), every('serf')) ?? '–')} | ${i === 'serf' ? '1' : (ratio(med(i), med('serf')) ?? '–')} |`);
    }
    const goal = ratio(every('rxswim-adaptive'), every('serf'));
    out.push('', `Goal (issue 12): rxswim adaptive's every-member detection ≤ 0.5× Serf's: ${goal === null ? 'not measured' : `${goal}× — ${goal <= 0.5 ? 'met' : 'not met'}`}.`, '');
    out.push('Per rep:', '', '| implementation | rep | victim | every member ms | median observer ms | first observer ms | back alive everywhere ms | other members failed |', '|---|---|---|---|---|---|---|---|');
    for (const i of IMPLS) {
      for (const c of byImpl(i)?.crashes ?? []) {
        const got = Object.values(c.perObserverMs).filter((v): v is number => v !== null);
        const missing = Object.entries(c.perObserverMs).filter(([, v]) => v === null).map(([o]) => o);
        out.push(`| ${LABEL[i]} | ${c.rep} | ${c.victim} | ${c.everyMs ?? `not all: ${missing.join(', ')} never`} | ${show(c.medianMs)} | ${got.length ? Math.min(...got) : '–'} | ${show(c.rejoinMs)} | ${c.otherFailures.length ? c.otherFailures.join('; ') : '0'} |`);
      }
    }
    out.push(
      '',
      `## False failures: ${LOSS_PERCENT} % random loss on every host, and a slow node, ${r.faultSeconds} s each`,
      '',
      `Loss: nftables \`numgen random mod 1000 < ${LOSS_PERCENT * 10} drop\` on every host's input (UDP and TCP; the bed's control address is accepted before the fault chain). ` +
        `Slow node: host ${r.hosts - 1}'s agent SIGSTOPped ${STOP_MS} ms of every ${PERIOD_MS} ms, by PID, no loss; SIGCONT at the end of every cycle and after the run. ` +
        `Counted: failure lines from the start of the fault until ${GRACE_MS / 1000} s after its end, one per observer and member (every member was up all along, so every one is false). ` +
        'Healthy = neither observer nor subject is the slow node. Then the bench waits until every agent lists everyone alive again.',
      '',
      '| implementation | loss: healthy failed | loss: suspicions | loss: nft drop rate | slow: healthy failed | slow: slow node failed | slow: failed by the slow node | slow: suspicions of healthy / of the slow node / by the slow node |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const i of IMPLS) {
      const x = byImpl(i);
      if (!x) continue;
      const l = x.loss;
      const s = x.slow;
      out.push(
        `| ${LABEL[i]} | ${l ? l.healthyFailed : '–'} | ${l ? l.healthySuspected : '–'} | ${l ? `${(l.dropRate * 100).toFixed(1)} %` : '–'} | ${s ? s.healthyFailed : '–'} | ${s ? s.slowFailed : '–'} | ${s ? s.bySlowFailed : '–'} | ${s ? `${s.healthySuspected} / ${s.slowSuspected} / ${s.bySlowSuspected}` : '–'} |`,
      );
    }
    out.push(
      '',
      'Suspicions are not the same count for the two: rxswim logs a `suspected` event each time a member enters suspect in an observer\'s view, whether the observer raised the suspicion or heard it by gossip; ' +
        'Serf at its default info level logs memberlist\'s `Suspect <name> has failed, no acks received` each time one of the observer\'s own probes of a member fails (a suspicion heard by gossip is not logged at info, and a suspicion that several failed probes keep alive is counted once per probe).',
      '',
    );
    out.push('Fault proofs:', '');
    for (const x of r.impls) {
      if (x.loss) {
        const rates = x.loss.perHost.map((h) => (h.arrived ? h.dropped / h.arrived : 0));
        out.push(
          `- ${LABEL[x.impl]}, loss: the loss rules dropped ${x.loss.perHost.reduce((s, h) => s + h.dropped, 0)} of ${x.loss.perHost.reduce((s, h) => s + h.arrived, 0)} packets arriving at the ${x.loss.perHost.length} hosts (${(x.loss.dropRate * 100).toFixed(1)} %; per host ${(Math.min(...rates) * 100).toFixed(1)}–${(Math.max(...rates) * 100).toFixed(1)} %); ` +
            `host 0's rules before the heal: \`${x.loss.rules.join(' / ')}\`; everyone alive again ${show(x.loss.recoveredMs)} ms after the grace.`,
        );
      }
      if (x.slow) {
        out.push(`- ${LABEL[x.impl]}, slow node ${x.slow.slowNode}: ${x.slow.cycles} stop/continue cycles, stopped ${(x.slow.stoppedShare * 100).toFixed(1)} % of the window (from the signal times); state after the last SIGCONT: ${x.slow.stateAfter}; everyone alive again ${show(x.slow.recoveredMs)} ms after the grace.`);
      }
    }
    const fails = r.impls.flatMap((x) => [
      ...(x.loss?.failures ?? []).map((f) => `- ${LABEL[x.impl]}, loss: ${f}`),
      ...(x.slow?.failures ?? []).map((f) => `- ${LABEL[x.impl]}, slow node: ${f}`),
    ]);
    if (fails.length) out.push('', 'Every failure line during the faults (observer: member, ms after the fault began):', '', ...fails);
    const errs = r.impls.flatMap((x) => x.errors.map((e) => `- ${LABEL[x.impl]}: ${e}`));
    out.push('', `Convergence after the last agent started: ${r.impls.map((x) => `${LABEL[x.impl]} ${show(x.convergeMs)} ms`).join(', ')}.`);
    if (errs.length) out.push('', 'Errors and skipped parts:', '', ...errs);
    out.push('', `Bed: namespaces left after bed.close(): ${r.leftovers.length ? r.leftovers.join(', ') : 'none'}.`);
    return out.join('\n') + '\n';
  },
});
