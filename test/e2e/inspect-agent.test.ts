// `rxswim agent --inspect URL` streams member actors to a WebSocket inspector: a real
// WebSocket server receives the machine of a killed member going alive → suspect → dead.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { builtCli, httpMembers, kill, ProcGroup } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';

test('agent --inspect sends inspection events of a member going alive → suspect → dead', { timeout: 60_000, skip: !builtCli() && 'run `npm run build` first' }, async () => {
  const wss = new WebSocketServer({ host: '127.0.41.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.41.1:${(wss.address() as AddressInfo).port}`;
  const states: string[] = [];
  wss.on('connection', (ws) =>
    ws.on('message', (data) => {
      const ev = JSON.parse(String(data)) as { type: string; snapshot?: { value?: unknown; context?: { name?: string; addr?: unknown } } };
      if (ev.type === '@xstate.snapshot' && ev.snapshot?.context?.name === 'b') {
        const v = String(ev.snapshot.value);
        if (states.at(-1) !== v) states.push(v);
        // byte fields arrive readable
        assert.equal(ev.snapshot.context.addr, '127.0.41.3');
      }
    }),
  );
  const g = new ProcGroup();
  try {
    g.agent('a', '127.0.41.2:7946', '127.0.41.2:8946', ['--profile', 'local', '--inspect', url]);
    await waitFor('a up', () => httpMembers('127.0.41.2:8946'), (m) => m !== undefined, 10_000);
    const b = g.agent('b', '127.0.41.3:7946', '127.0.41.3:8946', ['--profile', 'local', '--join', '127.0.41.2:7946']);
    await waitFor('inspector sees b alive', () => states, (s) => s.includes('alive'), 15_000);
    await kill(b, 'SIGKILL');
    await waitFor('inspector sees b go suspect then dead', () => states, (s) => s.includes('dead'), 40_000);
    assert.deepEqual(states, ['alive', 'suspect', 'dead']);
  } finally {
    await g.killAll();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  }
});
