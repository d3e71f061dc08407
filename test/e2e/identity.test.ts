// --data-dir: a restarted agent comes back above its old death at once, instead of
// being ignored until the cluster forgets it (GossipToTheDeadTime).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PRESETS } from '../../src/config.js';
import { builtCli, httpMembers, kill, ProcGroup } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

const A = { bind: '127.0.40.1:7946', http: '127.0.40.1:8946' };
const B = { bind: '127.0.40.2:7946', http: '127.0.40.2:8946' };
const C = { bind: '127.0.40.3:7946', http: '127.0.40.3:8946' };

test('a restarted agent with --data-dir is alive again at once, with a higher incarnation', { timeout: 90_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-id-'));
  const g = new ProcGroup();
  try {
    g.agent('a', A.bind, A.http, ['--profile', 'local']);
    await waitFor('a up', () => httpMembers(A.http), (m) => m !== undefined, 10_000);
    g.agent('b', B.bind, B.http, ['--profile', 'local', '--join', A.bind]);
    // c's name comes from the data dir after the first start.
    const c1 = g.agent('c', C.bind, C.http, ['--profile', 'local', '--join', A.bind, '--data-dir', dir]);
    const stateOf = async (http: string, name: string) => (await httpMembers(http))?.find((m) => m.name === name);
    await waitFor('a and b see c alive', async () => [await stateOf(A.http, 'c'), await stateOf(B.http, 'c')], (s) => s.every((m) => m?.state === 'alive'), 20_000);
    const stored = JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')) as { name: string; incarnation: number };
    assert.equal(stored.name, 'c');

    await kill(c1, 'SIGKILL');
    await waitFor('a and b see c failed', async () => [await stateOf(A.http, 'c'), await stateOf(B.http, 'c')], (s) => s.every((m) => m?.state === 'dead'), 40_000);
    const deadInc = (await stateOf(A.http, 'c'))!.incarnation;

    // Restart with the same data dir and no --node: the name and incarnation come from disk.
    const args = ['agent', '--bind', C.bind, '--http', C.http, '--profile', 'local', '--join', A.bind, '--data-dir', dir, '--log-format', 'json'];
    g.start('c2', process.execPath, [new URL('../../dist/cli/main.js', import.meta.url).pathname, ...args]);
    const took = await waitFor(
      'a and b see c alive again',
      async () => [await stateOf(A.http, 'c'), await stateOf(B.http, 'c')],
      (s) => s.every((m) => m?.state === 'alive'),
      30_000,
    );
    const back = (await stateOf(A.http, 'c'))!;
    assert.ok(back.incarnation > deadInc, `incarnation ${back.incarnation} is above the dead one ${deadInc}`);
    // Without the stored incarnation the new alive (incarnation 1) would be ignored until
    // the dead entry is forgotten, GossipToTheDeadTime after the death.
    assert.ok(took < PRESETS.local.gossipToTheDeadTime, `back after ${took} ms, before the ${PRESETS.local.gossipToTheDeadTime} ms it would take to be forgotten`);
    console.log(`# restarted agent alive again everywhere after ${took} ms (incarnation ${deadInc} -> ${back.incarnation})`);
  } finally {
    await g.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
