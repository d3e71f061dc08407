// The churn soak's markdown: the verdict first (every check, by observer implementation),
// then the bounds with their arithmetic, convergence by kind of action, the violations
// with their timelines, and the memory slopes.
import { CATEGORIES } from './soak-truth.js';
import type { SoakResult } from './soak.js';

const s1 = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '–' : (ms / 1000).toFixed(1));
const kb = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toFixed(0));

/** whether the run met its checks: no lost, stale or left-as-failed view among rxswim observers, every fault proven, every check converged within its bound */
export function soakVerdict(r: SoakResult): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  const rx = r.totals.rxswim;
  for (const c of ['lost', 'stale', 'leftAsFailed'] as const) if (rx && rx[c] > 0) reasons.push(`${rx[c]} ${c} views among rxswim observers`);
  const unproven = r.actions.filter((a) => !a.proofOk && a.outcome !== 'failed');
  if (unproven.length) reasons.push(`${unproven.length} faults without proof (${unproven.map((a) => `#${a.id} ${a.kind}`).join(', ')})`);
  const failed = r.actions.filter((a) => a.outcome === 'failed');
  if (failed.length) reasons.push(`${failed.length} actions failed (${failed.map((a) => `#${a.id} ${a.kind}: ${a.error}`).join('; ')})`);
  const late = r.actions.filter((a) => a.outcome === 'late' || a.outcome === 'never' || a.outcome === 'superseded');
  if (late.length) reasons.push(`${late.length} changes not converged within their bound (${late.map((a) => `#${a.id} ${a.kind} ${a.member}`).join(', ')})`);
  if (r.aborted) reasons.push(`aborted: ${r.aborted}`);
  for (const e of r.errors) reasons.push(`error: ${e}`);
  return { ok: reasons.length === 0, reasons };
}

export function renderSoak(r: SoakResult): string {
  const b = r.bounds;
  const o = r.options;
  const out: string[] = [];
  const v = soakVerdict(r);
  out.push(
    `Churn soak: ${o.agents} rxswim agents (up to ${o.maxAgents}, ${o.anchors} anchors never churned)${o.serf ? ` + ${o.serf} serf` : ''}, profile \`${o.profile}\`, an action every ${o.everyS} s ±40 %, seed ${o.seed}; ${r.churnS} s of churn after the initial cluster converged in ${s1(r.initialConvergeMs)} s; load ${r.load[0]} → ${r.load[1]}.`,
    '',
    `**${v.ok ? 'All checks passed' : 'Checks failed'}**: ${r.actions.length} actions, ${r.checks} (observer, member) judgements in ${r.rounds} polling rounds (${r.unanswered} answers missing).${v.ok ? '' : ` ${v.reasons.join('; ')}.`}`,
    '',
    '| observers | checks | ' + CATEGORIES.join(' | ') + ' |',
    '|---|---:|' + CATEGORIES.map(() => '---:').join('|') + '|',
  );
  for (const impl of Object.keys(r.totals)) {
    const checks = Object.values(r.observers).filter((c) => c.impl === impl).reduce((a, c) => a + c.checks, 0);
    out.push(`| ${impl} | ${checks} | ${CATEGORIES.map((c) => r.totals[impl]![c]).join(' | ')} |`);
  }
  out.push(
    '',
    'lost: a live member missing or failed; stale: a failed or left member alive or suspect; leftAsFailed: a member that left gracefully shown as failed (caught at any time, not only after the bound); crashAsLeft: a crashed member shown as left; shortPauseFailed: a member paused for less than the shortest suspicion timeout shown as failed.',
    '',
    '### Settling bounds',
    '',
    `From \`src/swim/formulas.ts\` with the \`${o.profile}\` profile at n = ${b.n}: a broadcast lives retransmitLimit × gossipInterval = ${s1(b.gossipMs)} s; a push-pull every ${s1(b.pushPullMs)} s; the crash detection bound (n probe intervals + the unconfirmed suspicion, ${s1(b.suspicionMaxMs)} s, + the death's gossip) ${s1(b.detectionMs)} s; slack for the machine ${s1(b.slackMs)} s.`,
    '',
    'Convergence: every settled rxswim observer agrees in one polling round (serf observers, when there are any, are judged in the table above, and in the last column).',
    '',
    '| action | truth after it | bound (s) | count | within bound | late | never | superseded | failed | median (s) | max (s) | all observers: within bound |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const truthOf: Record<string, string> = { kill: 'failed', restart: 'alive', pauseShort: 'paused (not judged)', pauseLong: 'paused (not judged)', resume: 'alive', leave: 'left', rejoin: 'alive', join: 'alive' };
  for (const k of r.kinds) {
    out.push(`| ${k.kind} | ${truthOf[k.kind]} | ${k.boundMs ? s1(k.boundMs) : '–'} | ${k.count} | ${k.converged} | ${k.late} | ${k.never} | ${k.superseded} | ${k.failed} | ${s1(k.convergedMsMedian)} | ${s1(k.convergedMsMax)} | ${r.actions.filter((a) => a.kind === k.kind && a.convergedAllMs !== null && a.convergedAllMs !== undefined && a.convergedAllMs <= a.boundMs).length} |`);
  }
  out.push(
    '',
    `kill: detection bound + slack; leave, restart, re-join, join, resume after a short pause (${s1(b.shortPauseMs)} s): gossip + one push-pull + slack (a member that missed the broadcast is repaired by a push-pull); resume after a long pause (${s1(b.longPauseMs)} s, beyond the longest suspicion): two push-pulls (it learns it was declared dead, then its refutation spreads) + gossip + slack = ${s1(b.resumeLong)} s. An observer that was down is judged again ${s1(b.observerSettle)} s after it came back (${s1(b.observerSettleShortPause)} s after a short pause). "within bound": every settled observer agreed within the bound; "superseded": the member changed again before they agreed (a member is changed again only once its bound has passed, so this is a miss too).`,
    '',
  );
  out.push('### Violations', '');
  if (r.violations.length === 0) out.push('None.', '');
  for (const x of r.violations.slice(0, 30)) {
    out.push(
      `- **${x.category}**: observer ${x.observer} (${x.observerImpl}) showed ${x.member} ${x.seen}, truth ${x.truth} since ${s1(x.truthSinceMs)} s; ${x.dueAtMs === null ? 'caught before the bound' : `due at ${s1(x.dueAtMs)} s`}, seen at ${s1(x.firstSeenMs)} s, ${x.resolvedMs !== null ? `resolved at ${s1(x.resolvedMs)} s` : x.supersededMs != null ? `until ${x.member}'s next change at ${s1(x.supersededMs)} s` : 'never resolved'}.`,
    );
    for (const t of x.timeline) out.push(`  - ${s1(t.atMs)} s ${t.who}: ${t.what}`);
  }
  if (r.violations.length > 30) out.push(`- … ${r.violations.length - 30} more in the JSON`);
  out.push('', '### Memory', '');
  const m = r.memory;
  out.push(
    `Per process, sampled every ${o.sampleMs / 1000} s: RSS (VmRSS) and, for rxswim, the V8 heap in use (\`nodejs_heap_size_used_bytes\` on /metrics). Least-squares slope after the first ${m.warmupMin} min of each process's life (processes with less left are not listed), and over the last third of that. A process is judged when it has 15 min or more after its warm-up (the V8 heap in use rises between two major collections, which come minutes apart, so a shorter window sees only the rise); ↑ marks an upward trend: a slope > ${m.trendKBPerMin} KB/min and > 3 standard errors, over the whole window and over its last third (still rising at the end).`,
    '',
    '| member | pid | minutes | judged | RSS KB first → last | RSS slope KB/min (± se) | last third | heap KB first → last | heap slope KB/min (± se) | last third |',
    '|---|---:|---:|---|---|---:|---:|---|---:|---:|',
  );
  const sl = (x: { slope: number; stderr: number } | null | undefined) => (x ? `${x.slope.toFixed(1)} ± ${x.stderr.toFixed(1)}` : '–');
  for (const t of m.trends) {
    out.push(
      `| ${t.member} (${t.impl}) | ${t.pid} | ${t.minutes} | ${t.judged ? 'yes' : 'no'} | ${t.rssKB ? `${kb(t.rssKB[0])} → ${kb(t.rssKB[1])}` : '–'} | ${sl(t.rss)}${t.rssUp ? ' ↑' : ''} | ${sl(t.lastThird?.rss)} | ${t.heapKB ? `${kb(t.heapKB[0])} → ${kb(t.heapKB[1])}` : '–'} | ${sl(t.heap)}${t.heapUp ? ' ↑' : ''} | ${sl(t.lastThird?.heap)} |`,
    );
  }
  const up = m.trends.filter((t) => t.rssUp || t.heapUp);
  const judged = m.trends.filter((t) => t.judged).length;
  out.push('', judged === 0 ? 'No process lived long enough to be judged.' : up.length === 0 ? `No upward trend flagged (${judged} processes judged).` : `Upward trend flagged: ${up.map((t) => `${t.member}#${t.pid}${t.rssUp ? ' RSS' : ''}${t.heapUp ? ' heap' : ''}`).join(', ')}.`, '');
  out.push('### Actions', '', '| # | at (s) | action | member | proof | converged (s) | bound (s) | outcome |', '|---:|---:|---|---|---|---:|---:|---|');
  for (const a of r.actions) {
    out.push(`| ${a.id} | ${s1(a.atMs)} | ${a.kind} | ${a.member} | ${a.proofOk ? 'ok' : 'NO'}: ${JSON.stringify(a.proof).replace(/\|/g, '/')} | ${s1(a.convergedMs)} | ${a.boundMs ? s1(a.boundMs) : '–'} | ${a.outcome}${a.error ? ` (${a.error})` : ''} |`);
  }
  out.push('');
  return out.join('\n');
}
