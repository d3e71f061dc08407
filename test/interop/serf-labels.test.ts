// Cluster labels against a real Serf 0.8 agent (memberlist 0.2.x, which predates
// labels): a label-less rxswim agent joins it as ever; a labelled one forms no cluster
// with it in either direction. Serf reads our header byte 244 as a message type it does
// not know and drops the stream; we count Serf's unlabelled push-pull as label_missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { builtCli, CLI, hasSerf, httpMembers, metricValue, ProcGroup, serfMembers } from '../helpers/procs.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { labelBytes } from '../../src/wire/label.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { encodePacket } from '../../src/wire/packet.js';

const SERF = { name: 'serf-1', bind: '127.0.111.1:7946', rpc: '127.0.111.1:7373' };
const PLAIN = { name: 'rx-plain', bind: '127.0.111.11:7946', http: '127.0.111.11:8946' };
const BLUE = { name: 'rx-blue', bind: '127.0.111.12:7946', http: '127.0.111.12:8946' };

const skip = !hasSerf() ? 'serf is not installed (apt-get install -y serf; .ci/run does it)' : !builtCli() ? 'run `npm run build` first' : false;

test('a label-less rxswim agent joins Serf 0.8; a labelled one forms no cluster with it', { timeout: 120_000, skip }, async () => {
  const g = new ProcGroup();
  try {
    const serf = g.serf(SERF.name, SERF.bind, SERF.rpc);
    await waitFor('serf-1 RPC', () => serfMembers(SERF.rpc).length, (n) => n === 1, 15_000);
    g.agent(PLAIN.name, PLAIN.bind, PLAIN.http, ['--join', SERF.bind]);
    const blue = g.agent(BLUE.name, BLUE.bind, BLUE.http, ['--label', 'blue']);
    await waitFor('serf-1 lists rx-plain alive', () => serfMembers(SERF.rpc), (ms) => ms.some((m) => m.name === PLAIN.name && m.status === 'alive'), 30_000);
    await waitFor('rx-plain lists serf-1 alive', () => httpMembers(PLAIN.http), (ms) => ms?.some((m) => m.name === SERF.name && m.state === 'alive') ?? false, 30_000);
    await waitFor('rx-blue HTTP API', () => httpMembers(BLUE.http), (ms) => ms !== undefined, 15_000);

    // rx-blue → Serf: the labelled push-pull is refused by Serf.
    const join = spawnSync(process.execPath, [CLI, 'join', '--http', BLUE.http, SERF.bind], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(join.status, 0, `rxswim join should fail: ${join.stdout}${join.stderr}`);
    const onStream = /Received invalid msgType \(244\)/;
    await waitFor('Serf to log the stream it could not read', () => serf.lines.some((l) => onStream.test(l)), (ok) => ok, 10_000);

    // A labelled datagram, as rx-blue would send it: Serf drops it as an unknown type.
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.111.20', () => r()));
    const ping = encodePacket([encodeMessage({ type: 'ping', seqNo: 1, node: SERF.name })], { compress: false, crc: false, label: labelBytes('blue') });
    await new Promise<void>((r, j) => sock.send(ping, 7946, '127.0.111.1', (e) => (e ? j(e) : r())));
    sock.close();
    const onPacket = /msg type \(244\) not supported/;
    await waitFor('Serf to log the packet it could not read', () => serf.lines.some((l) => onPacket.test(l)), (ok) => ok, 10_000);

    // Serf → rx-blue: Serf's unlabelled push-pull is dropped and counted.
    const serfJoin = spawnSync('serf', ['join', `-rpc-addr=${SERF.rpc}`, BLUE.bind], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(serfJoin.status, 0, `serf join should fail: ${serfJoin.stdout}${serfJoin.stderr}`);
    await waitFor('rx-blue to count label_missing', () => metricValue(BLUE.http, 'rxswim_packets_dropped_total', { reason: 'label_missing' }), (n) => (n ?? 0) >= 1, 10_000);

    await sleep(2000);
    assert.deepEqual(serfMembers(SERF.rpc).map((m) => m.name).sort(), [PLAIN.name, SERF.name]);
    assert.deepEqual((await httpMembers(BLUE.http))?.map((m) => m.name), [BLUE.name]);
    assert.deepEqual((await httpMembers(PLAIN.http))?.map((m) => m.name).sort(), [PLAIN.name, SERF.name]);
    assert.equal(await metricValue(PLAIN.http, 'rxswim_packets_dropped_total', { reason: 'label_unexpected' }), 0);
    assert.equal(blue.child.exitCode, null, 'rx-blue keeps running alone');
  } finally {
    await g.killAll();
  }
});
