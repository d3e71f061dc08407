// What a new user meets first, through the built CLI on 127.0.82.*: --version, the
// one exit-code table (0 ok, 1 run-time failure, 2 usage/configuration/seeds), one
// clear line on stderr naming the setting as it was given, settings checked before
// anything binds, and keys refused on an agent started without encryption.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { builtCli, kill, ProcGroup } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';
import { cleanEnv, exitOf, getJson, runCli, startAgent, type CliResult } from '../helpers/operator.js';

const skip = !builtCli() && 'run `npm run build` first';
const KEY = 'AAECAwQFBgcICQoLDA0ODw==';

async function occupy(host: string, port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve());
  });
  return s;
}
const release = (s: Server) => new Promise<void>((r) => s.close(() => r()));

/** exactly one line on stderr, no stack trace, nothing on stdout */
function oneLine(r: CliResult, pattern: RegExp, what: string): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
  assert.match(lines[0]!, pattern, what);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

test('--version and -V print the version from package.json', { skip }, async () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const [long, short, help] = await Promise.all([runCli(['--version']), runCli(['-V']), runCli(['--help'])]);
  for (const r of [long, short]) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
  assert.match(help.stdout, /-V, --version/);
});

test('agent: settings are checked before anything binds (exit 2, one line naming the setting as given)', { timeout: 30_000, skip }, async () => {
  // The gossip port is taken: the advertise error must still come first.
  const held = await occupy('127.0.82.1', 17946);
  try {
    const runs = await Promise.all([
      runCli(['agent', '--node', 'x', '--bind', '0.0.0.0:17946']),
      runCli(['agent', '--node', 'x'], { env: cleanEnv({ RXSWIM_BIND: '0.0.0.0:17946' }) }),
      runCli(['agent', '--node', 'x', '--bind', '127.0.82.1:17947', '--http', 'nothostport']),
      runCli(['agent', '--node', 'x', '--bind', '127.0.82.1:17947'], { env: cleanEnv({ RXSWIM_HTTP: 'nothostport' }) }),
      runCli(['agent', '--node', 'x', '--bind', '127.0.82.1:17947', '--join', '[::1']),
      runCli(['agent', '--node', 'x', '--bind', '127.0.82.1:17947', '--retry-join', 'a b']),
      runCli(['agent', '--node', 'x', '--bind', '127.0.82.1:17947', '--reconnect-timeout', '2 days']),
    ]);
    const want: Array<[RegExp, string]> = [
      [/^rxswim: --advertise: must be set to a reachable address when binding to 0\.0\.0\.0 \(--bind is 0\.0\.0\.0:17946\)$/, 'wildcard --bind'],
      [/^rxswim: RXSWIM_ADVERTISE: must be set to a reachable address when binding to 0\.0\.0\.0 \(RXSWIM_BIND is 0\.0\.0\.0:17946\)$/, 'wildcard RXSWIM_BIND'],
      [/^rxswim: --http: must be HOST:PORT .*the port is missing \(got "nothostport"\)$/, '--http nothostport'],
      [/^rxswim: RXSWIM_HTTP: must be HOST:PORT .*\(got "nothostport"\)$/, 'RXSWIM_HTTP nothostport'],
      [/^rxswim: --join\[0\]: must be HOST:PORT, \[IPv6\]:PORT, HOST or dns:NAME\[:PORT\] .*\(got "\[::1"\)$/, '--join [::1'],
      [/^rxswim: --retry-join\[0\]: must be HOST:PORT.*no spaces \(got "a b"\)$/, '--retry-join "a b"'],
      [/^rxswim: --reconnect-timeout: must be a duration like 500ms, 2s, 1h or 2d, or an integer number of milliseconds \(got "2 days"\)$/, '--reconnect-timeout "2 days"'],
    ];
    runs.forEach((r, i) => {
      const [pattern, what] = want[i]!;
      assert.equal(r.code, 2, `${what}: exit 2\n${r.stderr}`);
      oneLine(r, pattern, what);
    });
  } finally {
    await release(held);
  }
});

test('agent: a port in use is one line naming --bind or --http, exit 1; 2d is a duration', { timeout: 30_000, skip }, async () => {
  const gossip = await occupy('127.0.82.2', 7946);
  const api = await occupy('127.0.82.3', 8946);
  try {
    const [bind, http, httpEnv] = await Promise.all([
      runCli(['agent', '--node', 'x', '--bind', '127.0.82.2:7946', '--http', '127.0.82.2:8946', '--reconnect-timeout', '2d', '--profile', 'local']),
      runCli(['agent', '--node', 'y', '--bind', '127.0.82.3:7946', '--http', '127.0.82.3:8946', '--profile', 'local', '--log-level', 'warn']),
      runCli(['agent', '--node', 'z', '--bind', '127.0.82.4:7946', '--profile', 'local', '--log-level', 'warn'], { env: cleanEnv({ RXSWIM_HTTP: '127.0.82.3:8946' }) }),
    ]);
    assert.equal(bind.code, 1, bind.stderr);
    oneLine(bind, /^rxswim: --bind: 127\.0\.82\.2:7946 is already in use \(EADDRINUSE\)/, '--bind in use');
    assert.equal(http.code, 1, http.stderr);
    oneLine(http, /^rxswim: --http: 127\.0\.82\.3:8946 is already in use \(EADDRINUSE\)/, '--http in use');
    assert.equal(httpEnv.code, 1, httpEnv.stderr);
    oneLine(httpEnv, /^rxswim: RXSWIM_HTTP: 127\.0\.82\.3:8946 is already in use/, 'RXSWIM_HTTP in use');
  } finally {
    await release(gossip);
    await release(api);
  }
});

test('keys on an agent started without --encrypt: refused (409, exit 1), nothing changes; HEAD /v1/health; SIGTERM exits 0', { timeout: 30_000, skip }, async () => {
  const g = new ProcGroup();
  const at = '127.0.82.5:8946';
  try {
    const a = startAgent(g, 'plain', ['--node', 'plain', '--bind', '127.0.82.5:7946', '--http', at, '--profile', 'local']);
    await waitFor('the agent', () => getJson(`http://${at}/v1/health`).catch(() => undefined), (r) => r?.status === 200, 10_000);

    const [install, use, list, badKey, badSeed] = await Promise.all([
      runCli(['keys', 'install', KEY, '--http', at]),
      runCli(['keys', 'use', KEY, '--http', at]),
      runCli(['keys', 'list', '--http', at]),
      runCli(['keys', 'install', 'not-a-key', '--http', at]),
      runCli(['join', '[::1', '--http', at]),
    ]);
    assert.equal(install.code, 1, 'the agent refused: exit 1');
    oneLine(install, /^rxswim keys: POST \/v1\/keys: 409 no keyring to modify \(encryption not enabled\)/, 'keys install');
    assert.equal(use.code, 1);
    assert.match(use.stderr, /409 no keyring to modify/);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'no keys: traffic is not encrypted\n');
    assert.equal(badKey.code, 2, 'a malformed key is a usage error, found before the agent is asked');
    oneLine(badKey, /^rxswim keys: KEY: is not valid base64$/, 'keys install not-a-key');
    assert.equal(badSeed.code, 2);
    oneLine(badSeed, /^rxswim join: ADDR: must be HOST:PORT.*\(got "\[::1"\)$/, 'join [::1');
    assert.equal(((await getJson(`http://${at}/v1/self`)).body as { encrypted: boolean }).encrypted, false, 'still unencrypted');

    const head = await fetch(`http://${at}/v1/health`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal(head.headers.get('content-type'), 'application/json');

    assert.equal(await kill(a, 'SIGTERM'), 0, 'SIGTERM: a graceful leave, exit 0');
    assert.ok(a.lines.some((l) => l.includes('"event":"stopped"')), a.lines.join('\n'));
  } finally {
    await g.killAll();
  }
});

test('agent: --join that reaches no seed exits 2; --retry-max exhausted exits 2', { timeout: 30_000, skip }, async () => {
  const g = new ProcGroup();
  try {
    const join = startAgent(g, 'j', ['--node', 'j', '--bind', '127.0.82.6:7946', '--profile', 'local', '--join', '127.0.82.99:7946']);
    const retry = startAgent(g, 'r', ['--node', 'r', '--bind', '127.0.82.7:7946', '--profile', 'local', '--retry-join', '127.0.82.99:7946', '--retry-max', '2', '--retry-interval', '100ms']);
    assert.equal(await exitOf(join, 15_000), 2, join.lines.join('\n'));
    assert.ok(join.lines.some((l) => /^rxswim: join failed for every seed: 127\.0\.82\.99:7946/.test(l)), join.lines.join('\n'));
    assert.equal(await exitOf(retry, 15_000), 2, retry.lines.join('\n'));
    assert.ok(retry.lines.some((l) => l.includes('"event":"stopped"')), 'it left and stopped before exiting');
  } finally {
    await g.killAll();
  }
});
