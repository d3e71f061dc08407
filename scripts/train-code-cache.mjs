// Makes dist/cli/rxswim.cjs.v8cache, V8's code cache for the CLI bundle (see
// scripts/cli-loader.mjs), by running what an agent does first: two agents on 127.0.0.1
// (free ports, about 4 s), the second started with RXSWIM_CODE_CACHE_OUT, joined to the
// first through its HTTP API and the first to it (a seed's side of a join), asked for
// its members, itself and its metrics, left to probe and gossip for a few seconds, then
// stopped (a graceful leave); the loader writes
// the cache as that process exits, so it holds every function the run compiled. Nothing
// leaves loopback. If the run fails the build goes on without a cache, and says so:
// agents then compile as they start, slower, not differently.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { renameSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

const HOST = '127.0.0.1';
const DEADLINE_MS = 30_000;

/** a port free for both TCP and UDP on HOST (an agent binds both on its gossip port) */
async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, HOST, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no port free for both TCP and UDP on 127.0.0.1');
}

function http(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: HOST, port, method, path, headers: data ? { 'content-type': 'application/json' } : {}, timeout: 5_000 }, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`))));
    });
    req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.once('error', reject);
    req.end(data);
  });
}

async function answering(port, child) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`an agent exited with code ${child.exitCode} before answering`);
    try {
      return await http(port, 'GET', '/v1/self');
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function exited(child) {
  return child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
}

export async function trainCodeCache(cliDir) {
  const cache = `${cliDir}/rxswim.cjs.v8cache`;
  const partial = `${cache}.partial`;
  const children = [];
  const agent = (name, port, httpPort, env = {}) => {
    const child = spawn(process.execPath, [`${cliDir}/main.js`, 'agent', '--node', name, '--bind', `${HOST}:${port}`, '--http', `${HOST}:${httpPort}`, '--log-level', 'info'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...env },
    });
    children.push(child);
    return child;
  };
  const deadline = setTimeout(() => {
    for (const c of children) c.kill('SIGKILL');
  }, DEADLINE_MS);
  try {
    const [gossipA, httpA, gossipB, httpB] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const seed = agent('code-cache-seed', gossipA, httpA);
    await answering(httpA, seed);
    const trainee = agent('code-cache-trainee', gossipB, httpB, { RXSWIM_CODE_CACHE_OUT: partial });
    await answering(httpB, trainee);
    await http(httpB, 'POST', '/v1/join', { seeds: [`${HOST}:${gossipA}`] });
    // and the other way round, so that answering a joiner's push-pull is trained too
    await http(httpA, 'POST', '/v1/join', { seeds: [`${HOST}:${gossipB}`] });
    for (const path of ['/v1/members', '/v1/self', '/metrics']) await http(httpB, 'GET', path);
    // a few probe rounds (one a second), gossip ticks and their acks
    await new Promise((r) => setTimeout(r, 3_500));
    await http(httpB, 'GET', '/v1/members');
    trainee.kill('SIGTERM');
    await exited(trainee);
    if (trainee.exitCode !== 0) throw new Error(`the trainee agent exited with code ${trainee.exitCode}`);
    renameSync(partial, cache);
    console.log(`bundle-cli: code cache ${Math.round(statSync(cache).size / 1024)} kB (dist/cli/rxswim.cjs.v8cache)`);
  } catch (e) {
    rmSync(partial, { force: true });
    console.warn(`bundle-cli: WARNING: no code cache (${e.message}); agents will compile their code as they start`);
  } finally {
    clearTimeout(deadline);
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map(exited));
  }
}
