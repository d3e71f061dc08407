// The Grafana dashboards proven against a real Prometheus: the demo cluster's four
// agents (same names and ports as `rxswim cluster --size 4` and deploy/prometheus.yml)
// are scraped by a real Prometheus server run with deploy/prometheus.yml; one agent is
// killed with SIGKILL; then every PromQL expression of every panel of every dashboard
// in grafana/dashboards is evaluated through Prometheus' HTTP API, with Grafana's
// variables substituted, and each must return data. The dashboards, the provisioning
// files and deploy/ are also checked structurally (and with `promtool check config`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { builtCli, httpMembers, kill, ProcGroup } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD_DIR = join(ROOT, 'grafana/dashboards');
const PROM_CONFIG = join(ROOT, 'deploy/prometheus.yml');
const DATASOURCES = join(ROOT, 'grafana/provisioning/datasources/prometheus.yml');
const DASHBOARD_PROVIDERS = join(ROOT, 'grafana/provisioning/dashboards/rxswim.yml');
const COMPOSE = join(ROOT, 'deploy/docker-compose.yml');

// The demo cluster, as src/cli/cluster.ts starts it with its defaults.
const N = 4;
const HOST = '127.0.0.1';
const NAMES = Array.from({ length: N }, (_, i) => `node-${i + 1}`);
const bind = (i: number) => `${HOST}:${7946 + i}`;
const http = (i: number) => `${HOST}:${8946 + i}`;
const KILLED = N - 1; // node-4
const PROM = '127.0.0.1:19090';
/** what Grafana's $__rate_interval would be is max(interval + scrape, 4 × scrape); 30 s is a comfortable window at 2 s scrapes */
const RATE_INTERVAL = '30s';

const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const HAS_PROMETHEUS = has('prometheus');
const HAS_PROMTOOL = has('promtool');
const NO_PROMETHEUS = 'the `prometheus` server is not installed (Debian: apt-get install -y prometheus; .ci/run installs it)';

// ------------------------------------------------------------------ dashboard model

interface Datasource {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  expr?: string;
  format?: string;
  datasource?: Datasource;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: Datasource;
  gridPos?: { h?: number; w?: number; x?: number; y?: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  datasource?: Datasource;
  definition?: string;
  query?: string | { query?: string };
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

function loadDashboards(): Array<{ file: string; text: string; d: Dashboard }> {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(DASHBOARD_DIR, file), 'utf8');
      return { file, text, d: JSON.parse(text) as Dashboard };
    });
}

/** every panel, those inside collapsed rows included */
function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

interface Query {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

function queriesOf(file: string, d: Dashboard): Query[] {
  return allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ dashboard: file, panel: p.title ?? `panel ${p.id}`, refId: t.refId ?? '?', expr: t.expr ?? '' })),
  );
}

function variableQuery(v: Variable): string | undefined {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition);
}

function provisionedUid(): string {
  const ds = parseYaml(readFileSync(DATASOURCES, 'utf8')) as { datasources?: Array<{ uid?: string; type?: string }> };
  const prom = ds.datasources?.filter((x) => x.type === 'prometheus') ?? [];
  assert.equal(prom.length, 1, 'exactly one provisioned Prometheus datasource');
  assert.ok(prom[0]!.uid, 'the provisioned datasource has a fixed uid');
  return prom[0]!.uid!;
}

/** Grafana's variables → the values a dashboard would send for them */
function substitute(expr: string, vars: Record<string, string>, where: string): string {
  // ($1 and the like are regex group references, e.g. in label_replace, not variables)
  return expr.replace(/\$\{([A-Za-z_]\w*)(?::\w+)?\}|\[\[([A-Za-z_]\w*)\]\]|\$([A-Za-z_]\w*)/g, (m, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c!;
    const value = vars[name];
    if (value === undefined) throw new Error(`${where}: unknown variable ${m} in: ${expr}`);
    return value;
  });
}

// ------------------------------------------------------------------ Prometheus API

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}
type PromResult = { resultType: 'vector'; result: PromSample[] } | { resultType: 'scalar' | 'string'; result: [number, string] } | { resultType: 'matrix'; result: unknown[] };

async function promGet<T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  const res = await fetch(`http://${PROM}${path}?${body}`, { signal: AbortSignal.timeout(5000) });
  const json = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
  if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${json.errorType}: ${json.error}`);
  return json.data;
}

async function promTargets(): Promise<Array<{ instance: string; job: string; health: string }> | undefined> {
  try {
    const res = await fetch(`http://${PROM}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(2000) });
    const json = (await res.json()) as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> } };
    return json.data.activeTargets.map((t) => ({ instance: t.labels.instance ?? '', job: t.labels.job ?? '', health: t.health }));
  } catch {
    return undefined;
  }
}

/** samples of an instant vector (a scalar as one sample) */
function samples(r: PromResult): PromSample[] {
  if (r.resultType === 'vector') return r.result;
  if (r.resultType === 'scalar') return [{ metric: {}, value: r.result }];
  return [];
}

// ------------------------------------------------------------------ tests

test('dashboards, provisioning and deploy files are well-formed and consistent', () => {
  const uid = provisionedUid();
  const dashboards = loadDashboards();
  assert.deepEqual(dashboards.map((x) => x.file), ['rxswim-cluster.json', 'rxswim-node.json']);
  const uids = new Set<string>();
  for (const { file, text, d } of dashboards) {
    assert.ok(!text.includes('${DS_') && !text.includes('__inputs'), `${file}: refers to its datasource by the provisioned uid, not an import input`);
    assert.ok(d.uid && !uids.has(d.uid), `${file}: a unique dashboard uid`);
    uids.add(d.uid);
    assert.ok(d.title, `${file}: a title`);
    assert.ok(typeof d.schemaVersion === 'number' && d.schemaVersion >= 36 && d.schemaVersion <= 41, `${file}: schemaVersion ${d.schemaVersion}`);
    const panels = allPanels(d);
    assert.ok(panels.length > 0, `${file}: has panels`);
    const ids = new Set<number>();
    const titles = new Set<string>();
    const boxes: Array<{ title: string; x: number; y: number; w: number; h: number }> = [];
    for (const p of panels) {
      const what = `${file}: panel ${p.id} "${p.title}"`;
      assert.ok(Number.isInteger(p.id) && !ids.has(p.id!), `${what}: a unique integer id`);
      ids.add(p.id!);
      const g = p.gridPos;
      assert.ok(g && [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n! >= 0), `${what}: gridPos {h, w, x, y}`);
      assert.ok(g.w! >= 1 && g.h! >= 1 && g.x! + g.w! <= 24, `${what}: gridPos inside the 24-column grid`);
      for (const b of boxes) {
        const overlap = g.x! < b.x + b.w && b.x < g.x! + g.w! && g.y! < b.y + b.h && b.y < g.y! + g.h!;
        assert.ok(!overlap, `${what} overlaps "${b.title}"`);
      }
      boxes.push({ title: p.title ?? '', x: g.x!, y: g.y!, w: g.w!, h: g.h! });
      if (p.type === 'row') {
        assert.equal(p.targets, undefined, `${what}: a row has no queries`);
        continue;
      }
      assert.ok(p.title && !titles.has(p.title), `${file}: panel ${p.id} has a title of its own ("${p.title}")`);
      titles.add(p.title);
      assert.deepEqual(p.datasource, { type: 'prometheus', uid }, `${what}: datasource is the provisioned one`);
      assert.ok(p.targets && p.targets.length > 0, `${what}: has queries`);
      const refIds = new Set<string>();
      for (const t of p.targets) {
        assert.ok(t.refId && !refIds.has(t.refId), `${what}: unique refIds`);
        refIds.add(t.refId);
        assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `${what} ${t.refId}: a PromQL expr`);
        if (t.datasource) assert.deepEqual(t.datasource, { type: 'prometheus', uid }, `${what} ${t.refId}: datasource is the provisioned one`);
        // rate windows follow the scrape interval Grafana knows about
        for (const m of t.expr.matchAll(/\b(?:rate|irate|increase)\((?:[^()]|\([^()]*\))*\[([^\]]+)\]/g)) {
          assert.ok(['$__rate_interval', '$__range'].includes(m[1]!), `${what} ${t.refId}: window [${m[1]}] should be $__rate_interval: ${t.expr}`);
        }
      }
    }
    for (const v of d.templating?.list ?? []) {
      if (v.type === 'query') assert.deepEqual(v.datasource, { type: 'prometheus', uid }, `${file}: variable ${v.name} uses the provisioned datasource`);
    }
  }

  // Both dashboards show the issue's families: members by state, suspicions and failures,
  // flaps, probe RTT p50/p99 and its heatmap, gossip queue, bandwidth, drops, health
  // score, probe outcomes, push-pull results and duration, event-loop lag.
  const required: RegExp[] = [
    /\brxswim_members\b/,
    /\brxswim_suspicions_raised_total\b/,
    /\brxswim_member_transitions_total\{[^}]*to="dead"/,
    /\brxswim_flaps_total\b/,
    /histogram_quantile\(0\.5, .*\brxswim_probe_rtt_seconds_bucket\b/,
    /histogram_quantile\(0\.99, .*\brxswim_probe_rtt_seconds_bucket\b/,
    /\brxswim_gossip_queue_depth\b/,
    /\brxswim_bytes_sent_total\b/,
    /\brxswim_bytes_received_total\b/,
    /\brxswim_packets_dropped_total\b/,
    /\brxswim_local_health_score\b/,
    /\brxswim_probes_total\b/,
    /\brxswim_push_pulls_total\b/,
    /histogram_quantile\(.*\brxswim_push_pull_duration_seconds_bucket\b/,
    /\bnodejs_eventloop_lag_\w*seconds\b/,
  ];
  for (const { file, d } of dashboards) {
    const exprs = queriesOf(file, d).map((q) => q.expr);
    for (const r of required) assert.ok(exprs.some((e) => r.test(e)), `${file}: no panel queries ${r}`);
    const heat = allPanels(d).filter((p) => p.type === 'heatmap');
    assert.ok(heat.some((p) => p.targets?.some((t) => t.expr?.includes('rxswim_probe_rtt_seconds_bucket') && t.format === 'heatmap')), `${file}: a probe RTT heatmap from the histogram buckets`);
  }

  // The node dashboard: one instance, chosen by $instance, and every series scoped to it.
  const node = dashboards.find((x) => x.file === 'rxswim-node.json')!.d;
  const instanceVar = node.templating?.list?.find((v) => v.name === 'instance');
  assert.ok(instanceVar, 'rxswim-node.json has an `instance` variable');
  assert.equal(variableQuery(instanceVar), 'label_values(rxswim_members, instance)');
  for (const q of queriesOf('rxswim-node.json', node)) {
    for (const m of q.expr.matchAll(/\b((?:rxswim|nodejs|process)_\w+|up)\b(\{[^}]*\})?/g)) {
      assert.ok(m[2]?.includes('instance="$instance"'), `rxswim-node.json "${q.panel}" ${q.refId}: ${m[1]} is not scoped to instance="$instance": ${q.expr}`);
    }
  }

  // Grafana's dashboard provider reads the folder docker-compose mounts the dashboards into.
  const providers = parseYaml(readFileSync(DASHBOARD_PROVIDERS, 'utf8')) as { providers: Array<{ type: string; options: { path: string } }> };
  const provider = providers.providers.find((p) => p.type === 'file');
  assert.ok(provider, 'a file dashboard provider');
  const compose = parseYaml(readFileSync(COMPOSE, 'utf8')) as { services: Record<string, { volumes?: string[]; command?: string[] }> };
  const grafanaVolumes = compose.services.grafana?.volumes ?? [];
  assert.ok(grafanaVolumes.some((v) => v.startsWith('../grafana/dashboards:') && v.split(':')[1] === provider.options.path), `docker-compose mounts ../grafana/dashboards at ${provider.options.path}`);
  assert.ok(grafanaVolumes.some((v) => v.startsWith('../grafana/provisioning:/etc/grafana/provisioning')), 'docker-compose mounts the provisioning folder');
  assert.ok(compose.services.prometheus?.volumes?.some((v) => v.startsWith('./prometheus.yml:')), 'docker-compose runs Prometheus with deploy/prometheus.yml');

  // deploy/prometheus.yml scrapes exactly the demo cluster's HTTP ports.
  const prom = parseYaml(readFileSync(PROM_CONFIG, 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  const job = prom.scrape_configs.find((s) => s.job_name === 'rxswim');
  assert.ok(job, 'deploy/prometheus.yml has job rxswim');
  assert.deepEqual(job.static_configs.flatMap((s) => s.targets), NAMES.map((_, i) => http(i)));
});

test('promtool accepts deploy/prometheus.yml', { skip: !HAS_PROMTOOL && 'promtool is not installed (Debian package prometheus)' }, () => {
  const r = spawnSync('promtool', ['check', 'config', PROM_CONFIG], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `promtool check config failed:\n${r.stdout}${r.stderr}`);
});

test(
  'every dashboard query returns data from a real Prometheus scraping the demo cluster, after a kill -9',
  { timeout: 120_000, skip: (!HAS_PROMETHEUS && NO_PROMETHEUS) || (!builtCli() && 'run `npm run build` first') },
  async () => {
    const started = Date.now();
    assert.equal(await httpMembers(http(0)), undefined, `something already answers on ${http(0)}: stop the demo cluster (npm start) before running this test`);
    const g = new ProcGroup();
    const dataDir = mkdtempSync(join(tmpdir(), 'rxswim-prom-'));
    // Should the runner give up on this test (timeout) and exit, leave nothing behind.
    const onExit = () => {
      for (const p of g.procs) p.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    };
    process.once('exit', onExit);
    try {
      for (let i = 0; i < N; i++) {
        g.agent(NAMES[i]!, bind(i), http(i), ['--profile', 'local', ...(i > 0 ? ['--join', bind(0)] : [])]);
        if (i === 0) await waitFor('seed HTTP', () => httpMembers(http(0)), (m) => m !== undefined, 10_000);
      }
      const prom = g.start('prometheus', 'prometheus', [
        `--config.file=${PROM_CONFIG}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=${PROM}`,
        '--log.level=warn',
      ]);
      for (let i = 0; i < N; i++) {
        await waitFor(`${NAMES[i]} sees ${N} alive`, () => httpMembers(http(i)), (m) => m?.filter((x) => x.state === 'alive').length === N, 20_000);
      }
      const promStart = Date.now();
      try {
        await waitFor(
          `Prometheus to scrape all ${N} targets`,
          promTargets,
          (t) => t !== undefined && t.length === N && t.every((x) => x.job === 'rxswim' && x.health === 'up'),
          20_000,
          250,
        );
      } catch (e) {
        throw new Error(`${(e as Error).message}\nprometheus output:\n${prom.lines.join('\n')}`);
      }
      console.log(`# ${N} agents converged and scraped after ${Date.now() - started} ms`);

      // Every rxswim metric family an agent exports has a panel on the node dashboard.
      const exposition = await (await fetch(`http://${http(0)}/metrics`)).text();
      const families = [...exposition.matchAll(/^# TYPE (rxswim_\w+) /gm)].map((m) => m[1]!);
      assert.ok(families.length > 20, `rxswim metric families exported: ${families.join(' ')}`);
      const nodeExprs = queriesOf('rxswim-node.json', loadDashboards().find((x) => x.file === 'rxswim-node.json')!.d).map((q) => q.expr);
      const uncovered = families.filter((f) => !nodeExprs.some((e) => new RegExp(`\\b${f}(?:_bucket|_sum|_count)?\\b`).test(e)));
      assert.deepEqual(uncovered, [], `metric families without a panel on grafana/dashboards/rxswim-node.json: ${uncovered.join(', ')}`);

      // kill -9 node-4; the other three must mark it failed, and Prometheus must have seen it.
      await kill(g.procs[KILLED]!, 'SIGKILL');
      const killedAt = Date.now();
      const live = NAMES.map((_, i) => i).filter((i) => i !== KILLED);
      const detected = await waitFor(
        `${NAMES[KILLED]} marked failed by the others`,
        () => Promise.all(live.map(async (i) => (await httpMembers(http(i)))?.find((m) => m.name === NAMES[KILLED])?.state)),
        (states) => states.every((s) => s === 'dead'),
        40_000,
      );
      await waitFor(
        'Prometheus to scrape the failure from every live node',
        () => promGet<PromResult>('/api/v1/query', { query: 'rxswim_members{state="dead"} >= 1' }).then(samples),
        (s) => s.length === live.length,
        15_000,
        500,
      );
      console.log(`# ${NAMES[KILLED]} marked failed by ${live.length} nodes ${detected} ms after kill -9`);

      // $instance: what Grafana lists for the variable (label_values(rxswim_members, instance),
      // sorted), its first live entry chosen.
      const node = loadDashboards().find((x) => x.file === 'rxswim-node.json')!.d;
      const varQuery = variableQuery(node.templating!.list!.find((v) => v.name === 'instance')!)!;
      const lv = /^label_values\((\w+),\s*(\w+)\)$/.exec(varQuery);
      assert.ok(lv, `a label_values() variable query: ${varQuery}`);
      const options = (await promGet<string[]>(`/api/v1/label/${lv[2]}/values`, { 'match[]': lv[1]!, start: String(promStart / 1000 - 60), end: String(Date.now() / 1000) })).sort();
      assert.deepEqual(options, NAMES.map((_, i) => http(i)).sort(), '$instance lists every scraped agent');
      const instance = options.find((o) => o !== http(KILLED))!;

      // Evaluate every query at one instant; retry (bounded) while rate() windows fill.
      const queries = loadDashboards().flatMap(({ file, d }) => queriesOf(file, d));
      let failures: string[] = [];
      let results = new Map<Query, PromSample[]>();
      let evalMs = 0;
      const deadline = started + 105_000;
      for (let attempt = 1; ; attempt++) {
        const at = Date.now() / 1000;
        const rangeS = Math.max(60, Math.ceil(at - promStart / 1000));
        const vars: Record<string, string> = {
          instance,
          __rate_interval: RATE_INTERVAL,
          __interval: '2s',
          __interval_ms: '2000',
          __range: `${rangeS}s`,
          __range_s: String(rangeS),
          __range_ms: String(rangeS * 1000),
        };
        failures = [];
        results = new Map();
        const t0 = Date.now();
        await Promise.all(
          queries.map(async (q) => {
            const where = `${q.dashboard} panel "${q.panel}" (${q.refId})`;
            const expr = substitute(q.expr, vars, where);
            let s: PromSample[];
            try {
              s = samples(await promGet<PromResult>('/api/v1/query', { query: expr, time: String(at) }));
            } catch (e) {
              failures.push(`${where}: query error ${(e as Error).message}\n    expr: ${q.expr}`);
              return;
            }
            results.set(q, s);
            if (s.length === 0) failures.push(`${where}: no data\n    expr: ${q.expr}\n    sent: ${expr}`);
            else if (s.every((x) => Number.isNaN(Number(x.value[1])))) failures.push(`${where}: only NaN\n    expr: ${q.expr}\n    sent: ${expr}`);
          }),
        );
        evalMs = Date.now() - t0;
        if (failures.length === 0 || Date.now() + 3000 > deadline) break;
        console.log(`# attempt ${attempt}: ${failures.length} of ${queries.length} queries without data yet (${failures.map((f) => f.split('\n')[0]).join('; ')}), retrying`);
        await sleep(2000);
      }
      assert.equal(failures.length, 0, `dashboard queries without data (instance=${instance}, $__rate_interval=${RATE_INTERVAL}):\n  ${failures.join('\n  ')}`);
      console.log(`# ${queries.length} queries of ${loadDashboards().length} dashboards all returned data (evaluated in ${evalMs} ms, ${Date.now() - killedAt} ms after the kill)`);

      // The failure is visible on the dashboards.
      const result = (dashboard: string, panel: string, refId = 'A') => {
        const q = [...results.keys()].find((k) => k.dashboard === dashboard && k.panel === panel && k.refId === refId);
        assert.ok(q, `${dashboard} has a panel "${panel}" (${refId})`);
        return results.get(q)!;
      };
      const value = (s: PromSample[]) => Number(s[0]?.value[1]);
      assert.equal(value(result('rxswim-cluster.json', 'Failed members (most any node sees)')), 1, 'the cluster overview shows one failed member');
      assert.equal(value(result('rxswim-cluster.json', 'Agents down')), 1, 'the cluster overview shows one agent down');
      assert.equal(value(result('rxswim-cluster.json', 'Agents up')), N - 1);
      const perNode = result('rxswim-cluster.json', 'Members by state, per node');
      for (const i of live) {
        const dead = perNode.find((s) => s.metric.instance === http(i) && s.metric.state === 'dead');
        assert.equal(Number(dead?.value[1]), 1, `${NAMES[i]} (${http(i)}) lists one dead member on the cluster overview`);
      }
      assert.ok(!perNode.some((s) => s.metric.instance === http(KILLED)), 'the killed agent is no longer reported');
      const nodeStates = Object.fromEntries(result('rxswim-node.json', 'Members by state').map((s) => [s.metric.state, Number(s.value[1])]));
      assert.deepEqual(nodeStates, { alive: N - 1, suspect: 0, dead: 1, left: 0 }, `the node dashboard for ${instance} shows 3 alive and 1 dead`);
      assert.equal(value(result('rxswim-node.json', 'Agent up')), 1);
      console.log(`# whole test ${Date.now() - started} ms`);
    } finally {
      await g.killAll();
      rmSync(dataDir, { recursive: true, force: true });
      process.off('exit', onExit);
    }
  },
);
