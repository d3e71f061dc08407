// Agent configuration from flags, RXSWIM_* variables and a JSON/YAML file:
// precedence, every protocol knob reachable from all three, and errors that name
// the setting the way the operator wrote it. Mostly in-process (loadAgentConfig),
// then once end to end through a real agent on 127.0.61.*.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { PRESETS, type ProtocolConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { checkAddresses, loadAgentConfig, parseDuration, SETTINGS, type ConfigSources } from '../../src/cli/agent-config.js';
import { builtCli, ProcGroup } from '../helpers/procs.js';
import { cleanEnv, exitOf, getJson, runCli, startAgent } from '../helpers/operator.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'rxswim-config-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function file(name: string, text: string): string {
  const p = join(dir, `${fileNo++}-${name}`);
  writeFileSync(p, text);
  return p;
}

function rejects(src: ConfigSources, field: string, text: RegExp) {
  assert.throws(
    () => loadAgentConfig(src),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(e.field, field);
      assert.match(e.message, text);
      return true;
    },
  );
}

test('precedence: flags > environment > file > profile default, per setting', () => {
  const yaml = file('p.yaml', 'node: from-file\nprobeInterval: 2000\njoin: [10.0.0.1, 10.0.0.2]\ntags: {role: db}\nlogLevel: warn\n');
  const all = loadAgentConfig({
    file: yaml,
    env: { RXSWIM_PROBE_INTERVAL: '3000', RXSWIM_JOIN: '10.0.0.3:7000,10.0.0.4', RXSWIM_NODE: 'from-env' },
    flags: { probeInterval: '4000', node: 'from-flag' },
  });
  assert.equal(all.effective.probeInterval, 4000);
  assert.equal(all.node, 'from-flag');
  assert.deepEqual(all.join, ['10.0.0.3:7000', '10.0.0.4'], 'env replaces the file list whole');
  assert.deepEqual(all.tags, { role: 'db' });
  assert.equal(all.logLevel, 'warn');
  assert.equal(all.sources.probeInterval, '--probe-interval');
  assert.equal(all.sources.join, 'RXSWIM_JOIN');
  assert.equal(all.sources.tags, `${yaml.split('/').at(-1)}: tags`);

  const envOnly = loadAgentConfig({ file: yaml, env: { RXSWIM_PROBE_INTERVAL: '3000' }, flags: {} });
  assert.equal(envOnly.effective.probeInterval, 3000);
  assert.equal(envOnly.node, 'from-file');
  const fileOnly = loadAgentConfig({ file: yaml });
  assert.equal(fileOnly.effective.probeInterval, 2000);
  assert.deepEqual(fileOnly.join, ['10.0.0.1', '10.0.0.2']);
  const none = loadAgentConfig({ flags: { node: 'x', profile: 'wan' } });
  assert.deepEqual(none.effective, PRESETS.wan);
  assert.deepEqual(none.protocol, {});
  assert.equal(none.bind, '0.0.0.0:7946');
  assert.equal(none.retryInterval, 30_000);

  // The file path itself may come from RXSWIM_CONFIG or --config.
  assert.equal(loadAgentConfig({ env: { RXSWIM_CONFIG: yaml } }).node, 'from-file');
  assert.equal(loadAgentConfig({ flags: { config: yaml }, env: { RXSWIM_CONFIG: '/nonexistent' } }).node, 'from-file');
});

test('JSON and YAML files; durations as ms or Go-style text; booleans; tags from every source', () => {
  const json = file('c.json', JSON.stringify({ node: 'j', profile: 'local', probeTimeout: 150, disableTcpPings: true, tags: { a: '1' }, retryJoin: 'dns:seeds.local' }));
  const c = loadAgentConfig({ file: json });
  assert.equal(c.effective.probeTimeout, 150);
  assert.equal(c.effective.disableTcpPings, true);
  assert.deepEqual(c.retryJoin, ['dns:seeds.local'], 'a single string is a one-seed list');
  const y = loadAgentConfig({ file: file('c.yml', 'node: y\nretryInterval: 1.5s\npushPullInterval: 2m\nenableCompression: false\n') });
  assert.equal(y.retryInterval, 1500);
  assert.equal(y.effective.pushPullInterval, 120_000);
  assert.equal(y.effective.enableCompression, false);
  const e = loadAgentConfig({ env: { RXSWIM_NODE: 'e', RXSWIM_TAGS: 'role=api,zone=a=b', RXSWIM_GOSSIP_VERIFY_OUTGOING: 'no', RXSWIM_TCP_TIMEOUT: '250ms' } });
  assert.deepEqual(e.tags, { role: 'api', zone: 'a=b' });
  assert.equal(e.effective.gossipVerifyOutgoing, false);
  assert.equal(e.effective.tcpTimeout, 250);
  const f = loadAgentConfig({ flags: { node: 'f', tags: ['x=1', 'y='], disableTcpPings: true, inspect: true } });
  assert.deepEqual(f.tags, { x: '1', y: '' });
  assert.equal(f.effective.disableTcpPings, true, 'a bare boolean flag means true');
  assert.equal(f.inspect, 'ws://localhost:8080');
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('soon'), 'soon');
});

test('durations: days (the ranges reach 365 d), sums like 1h30m, and errors that show the syntax', () => {
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('0.5d'), 43_200_000);
  for (const bad of ['', '2 d', '2w', '1h-5m', 'ms', '-5', '1.5']) assert.equal(parseDuration(bad), bad, bad);
  const c = loadAgentConfig({ flags: { node: 'n', reconnectTimeout: '2d' }, env: { RXSWIM_TOMBSTONE_TIMEOUT: '365d' } });
  assert.equal(c.effective.reconnectTimeout, 172_800_000);
  assert.equal(c.effective.tombstoneTimeout, 365 * 86_400_000);
  assert.equal(loadAgentConfig({ file: file('d.yaml', 'node: n\nretryInterval: 1d\n') }).retryInterval, 86_400_000);
  const syntax = /must be a duration like 500ms, 2s, 1h or 2d, or an integer number of milliseconds/;
  rejects({ flags: { node: 'n', probeInterval: '5 sec' } }, '--probe-interval', new RegExp(`${syntax.source} \\(got "5 sec"\\)$`));
  rejects({ env: { RXSWIM_NODE: 'n', RXSWIM_RETRY_INTERVAL: '2w' } }, 'RXSWIM_RETRY_INTERVAL', syntax);
  const y = file('dur.yaml', 'node: n\nleaveTimeout: soon\n');
  rejects({ file: y }, `${y.split('/').at(-1)}: leaveTimeout`, syntax);
  rejects({ file: file('dur.json', JSON.stringify({ node: 'n', gossipInterval: true })) }, `${fileNo - 1}-dur.json: gossipInterval`, syntax);
  // in range and in syntax, but out of range: the range is shown
  rejects({ flags: { node: 'n', reconnectTimeout: '366d' } }, '--reconnect-timeout', /\[0, 31536000000\]/);
});

test('addresses are checked as typed: --http needs a port, hosts are IPs or DNS names, seeds too', () => {
  rejects({ flags: { node: 'n', http: 'nothostport' } }, '--http', /must be HOST:PORT or \[IPv6\]:PORT .*the port is missing \(got "nothostport"\)/);
  rejects({ env: { RXSWIM_NODE: 'n', RXSWIM_HTTP: '127.0.0.1' } }, 'RXSWIM_HTTP', /the port is missing/);
  rejects({ flags: { node: 'n', http: 'a b:8946' } }, '--http', /no spaces/);
  assert.equal(loadAgentConfig({ flags: { node: 'n', http: 'localhost:8946' } }).http, 'localhost:8946');
  assert.equal(loadAgentConfig({ flags: { node: 'n', http: '[::1]:8946' } }).http, '[::1]:8946');
  rejects({ flags: { node: 'n', bind: '[::1' } }, '--bind', /HOST:PORT.*got "\[::1"/);
  rejects({ flags: { node: 'n', bind: 'bad_host!:7946' } }, '--bind', /HOST:PORT/);
  rejects({ flags: { node: 'n', advertise: 'myhost:7946' } }, '--advertise', /the host must be an IP address/);
  rejects({ flags: { node: 'n', join: ['10.0.0.1', '[::1'] } }, '--join[1]', /HOST:PORT, \[IPv6\]:PORT, HOST or dns:NAME\[:PORT\].*got "\[::1"/);
  rejects({ env: { RXSWIM_NODE: 'n', RXSWIM_RETRY_JOIN: 'good:1,[fd00::1' } }, 'RXSWIM_RETRY_JOIN[1]', /HOST:PORT/);
  rejects({ file: file('seeds.yaml', 'node: n\njoin: ["a b:7946"]\n') }, `${fileNo - 1}-seeds.yaml: join[0]`, /no spaces/);
  rejects({ file: file('seeds.json', JSON.stringify({ node: 'n', join: [7946] })) }, `${fileNo - 1}-seeds.json: join[0]`, /must be a seed address/);
});

test('every ProtocolConfig field is reachable as a flag, an environment variable and a file key', () => {
  const keys = Object.keys(PRESETS.lan) as Array<keyof ProtocolConfig>;
  // A value valid for every field and different from every preset: booleans flipped,
  // numbers nudged by one within their ranges.
  const pick = (k: keyof ProtocolConfig): boolean | number => {
    const v = PRESETS.local[k];
    if (typeof v === 'boolean') return !v;
    if (k === 'protocolVersion') return 3;
    return v + 1;
  };
  for (const k of keys) {
    const s = SETTINGS.find((x) => x.key === k);
    assert.ok(s, `no setting for ${k}`);
    const want = pick(k);
    const asText = String(want);
    const viaFlag = loadAgentConfig({ flags: { node: 'n', profile: 'local', [k]: asText } });
    const viaEnv = loadAgentConfig({ env: { RXSWIM_NODE: 'n', RXSWIM_PROFILE: 'local', [s.env]: asText } });
    const viaFile = loadAgentConfig({ file: file(`${k}.yaml`, `node: n\nprofile: local\n${k}: ${asText}\n`) });
    for (const [how, c] of [['flag', viaFlag], ['env', viaEnv], ['file', viaFile]] as const) {
      assert.equal(c.effective[k], want, `${k} via ${how}`);
    }
    assert.equal(s.flag, `--${k.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`);
    assert.equal(s.env, `RXSWIM_${k.replace(/[A-Z]/g, (x) => `_${x}`).toUpperCase()}`);
  }
});

test('errors name the setting as its source spells it, with the allowed values and what was given', () => {
  rejects({ flags: { node: 'n', probeInterval: '5' } }, '--probe-interval', /integer in \[10, 3600000\] ms.*got 5/);
  rejects({ env: { RXSWIM_NODE: 'n', RXSWIM_PROBE_INTERVAL: 'fast' } }, 'RXSWIM_PROBE_INTERVAL', /integer.*got "fast"/);
  const f = file('bad.yaml', 'node: n\nprobeIntervall: 1000\n');
  rejects({ file: f }, `${f.split('/').at(-1)}: probeIntervall`, /not a known setting/);
  const t = file('tags.yaml', 'node: n\ntags: {zone: 1}\n');
  rejects({ file: t }, `${t.split('/').at(-1)}: tags[zone]`, /must be a string.*got 1/);
  rejects({ flags: { node: 'n', join: ['10.0.0.1:99999'] } }, '--join[0]', /HOST:PORT/);
  rejects({ env: { RXSWIM_NODE: 'n', RXSWIM_RETRY_JOIN: 'dns:' } }, 'RXSWIM_RETRY_JOIN[0]', /dns:NAME/);
  rejects({ flags: { node: 'n', encrypt: 'not-a-key' } }, '--encrypt', /base64|bytes/);
  rejects({ flags: { node: 'n', profile: 'fast' } }, '--profile', /one of lan, wan, local/);
  rejects({ env: { RXSWIM_NODE: 'n', RXSWIM_ENABLE_COMPRESSION: 'maybe' } }, 'RXSWIM_ENABLE_COMPRESSION', /true or false/);
  rejects({ flags: { node: 'n', retryInterval: '1 week' } }, '--retry-interval', /duration/);
  rejects({ flags: { node: 'n', tags: ['=x'] } }, '--tag', /empty tag key/);
  rejects({ flags: { node: 'n', probeTimeout: '2000' } }, '--probe-timeout', /must not exceed probeInterval/);
  rejects({ flags: {} }, '--node', /required/);
  rejects({ file: join(dir, 'missing.yaml') }, join(dir, 'missing.yaml'), /cannot read config file: ENOENT/);
  rejects({ file: file('list.yaml', '- a\n- b\n') }, `${dir}/${fileNo - 1}-list.yaml`, /mapping/);
  rejects({ file: file('broken.json', '{"node": ') }, `${dir}/${fileNo - 1}-broken.json`, /not valid JSON/);
});

test('the agent: bad settings exit 2 naming the field; a file + env + flags agent runs with the merged settings', { timeout: 30_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const bad = await runCli(['agent', '--node', 'x', '--probe-interval', '5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--probe-interval: must be an integer/);
  const badEnv = await runCli(['agent', '--node', 'x'], { env: cleanEnv({ RXSWIM_GOSSIP_NODES: 'lots' }) });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /RXSWIM_GOSSIP_NODES: must be an integer/);
  const usage = await runCli(['agent', '--no-such-flag']);
  assert.equal(usage.code, 2, 'a usage error exits 2');
  assert.match(usage.stderr, /unknown option/);

  const g = new ProcGroup();
  try {
    const cfg = file('agent.yaml', 'node: cfg-agent\nbind: 127.0.61.1:7946\nhttp: 127.0.61.1:8946\nprofile: local\nprobeInterval: 900\ngossipNodes: 2\ntags:\n  role: from-file\n');
    const p = startAgent(g, 'cfg-agent', ['--config', cfg, '--probe-interval', '800ms'], cleanEnv({ RXSWIM_GOSSIP_NODES: '4', RXSWIM_LOG_LEVEL: 'warn' }));
    await waitFor('the agent to answer', () => getJson('http://127.0.61.1:8946/v1/self').catch(() => undefined), (r) => r?.status === 200, 10_000);
    const body = (await getJson('http://127.0.61.1:8946/v1/self')).body as { name: string; tags: Record<string, string>; profile: string; protocol: ProtocolConfig };
    assert.equal(body.name, 'cfg-agent');
    assert.equal(body.profile, 'local');
    assert.deepEqual(body.tags, { role: 'from-file' });
    assert.equal(body.protocol.probeInterval, 800, 'flag beats file');
    assert.equal(body.protocol.gossipNodes, 4, 'env beats file');
    assert.equal(body.protocol.probeTimeout, PRESETS.local.probeTimeout, 'profile default');
    // log level warn from the environment: no info lines
    assert.ok(!p.lines.some((l) => (JSON.parse(l) as { level: number }).level < 40), p.lines.join('\n'));
    assert.equal(await exitOf(p, 0), null, 'still running');
  } finally {
    await g.killAll();
  }
});

test('the systemd unit and the Kubernetes ConfigMap carry config files the agent accepts', () => {
  const root = new URL('../../deploy/', import.meta.url);
  const cm = parseYaml(readText(new URL('kubernetes/configmap.yaml', root))) as { data: Record<string, string> };
  const k8s = loadAgentConfig({ file: file('rxswim.yaml', cm.data['rxswim.yaml']!), env: { RXSWIM_NODE: 'rxswim-0', RXSWIM_ADVERTISE: '10.1.2.3:7946' } });
  assert.ok(k8s.retryJoin.some((s) => s.startsWith('dns:')), 'joins through the headless service');
  assert.ok(k8s.http, 'serves HTTP for probes and scraping');
  const sts = parseYaml(readText(new URL('kubernetes/statefulset.yaml', root))) as {
    spec: { serviceName: string; template: { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ args: string[]; readinessProbe: { httpGet: { path: string } } }> } } };
  };
  const svc = parseYaml(readText(new URL('kubernetes/service.yaml', root))) as { metadata: { name: string }; spec: { clusterIP: string; publishNotReadyAddresses: boolean } };
  const container = sts.spec.template.spec.containers[0]!;
  assert.equal(container.readinessProbe.httpGet.path, '/v1/health');
  assert.deepEqual(container.args, ['agent', '--config', '/etc/rxswim/rxswim.yaml']);
  assert.equal(sts.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
  assert.equal(svc.spec.clusterIP, 'None', 'headless');
  assert.equal(sts.spec.serviceName, svc.metadata.name);
  assert.ok(k8s.retryJoin.includes(`dns:${svc.metadata.name}:7946`), 'joins the headless service by name');
  const sample = loadAgentConfig({ file: file('rxswim.yaml', readText(new URL('systemd/rxswim.yaml', root))), env: { RXSWIM_NODE: 'host-1' } });
  assert.equal(sample.dataDir, '/var/lib/rxswim');
  // Both bind 0.0.0.0: the pod gets RXSWIM_ADVERTISE from the StatefulSet, while the
  // systemd sample leaves `advertise:` for the operator to fill in, and says so.
  checkAddresses(k8s);
  assert.throws(() => checkAddresses(sample), (e: unknown) => e instanceof ConfigError && /rxswim\.yaml: advertise$/.test(e.field) && /rxswim\.yaml: bind is 0\.0\.0\.0:7946/.test(e.message));
  checkAddresses(loadAgentConfig({ file: file('rxswim.yaml', readText(new URL('systemd/rxswim.yaml', root))), env: { RXSWIM_NODE: 'host-1', RXSWIM_ADVERTISE: '10.0.0.5:7946' } }));
});

function readText(u: URL): string {
  return readFileSync(u, 'utf8');
}

test('docs/configuration.md and docs/cli.md name every setting, variable and command', () => {
  const config = readText(new URL('../../docs/configuration.md', import.meta.url));
  const cli = readText(new URL('../../docs/cli.md', import.meta.url));
  for (const s of SETTINGS) {
    for (const name of [s.flag, s.env, `\`${s.key}\``]) assert.ok(config.includes(name), `docs/configuration.md lacks ${name}`);
    assert.ok(cli.includes(s.flag), `docs/cli.md lacks ${s.flag}`);
  }
  for (const cmd of ['agent', 'members', 'info', 'join', 'leave', 'event', 'query', 'force-leave', 'tags', 'keys', 'monitor', 'cluster']) assert.match(cli, new RegExp(`^rxswim ${cmd}\\b`, 'm'));
  for (const route of ['/v1/members', '/v1/self', '/v1/health', '/metrics', '/v1/events', '/v1/join', '/v1/leave', '/v1/event', '/v1/query', '/v1/force-leave', '/v1/tags', '/v1/keys']) assert.ok(cli.includes(route), route);
  for (const v of ['RXSWIM_CONFIG', 'RXSWIM_HTTP_ADDR', 'RXSWIM_HTTP_TOKEN']) assert.ok(cli.includes(v), v);
});
