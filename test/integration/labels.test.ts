// Cluster labels over real UDP/TCP on loopback (127.0.110.0/24): nodes with the same
// label form a cluster; another label, or none, cannot join, and what they send is
// dropped and counted by reason; encrypted + labelled works and the right key with the
// wrong label is refused; a three-step rolling rollout labels a live cluster without
// a single failure or dropped packet.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { MemberEvent } from '../../src/api.js';
import { JoinError } from '../../src/errors.js';
import { createNode, type NodeOptions, type RxSwimNode } from '../../src/node.js';
import { labelBytes } from '../../src/wire/label.js';
import { decodePacket, encodePacket } from '../../src/wire/packet.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { sleep, waitFor } from '../helpers/wait.js';

const KEY = 'AAECAwQFBgcICQoLDA0ODw==';

async function dropped(node: RxSwimNode, reason: string): Promise<number> {
  const { values } = await node.metrics.registry.getSingleMetric('rxswim_packets_dropped_total')!.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function labelDrops(node: RxSwimNode): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of ['label_malformed', 'label_missing', 'label_unexpected', 'label_mismatch', 'decrypt_failed']) {
    const n = await dropped(node, r);
    if (n > 0) out[r] = n;
  }
  return out;
}

const addr = (n: RxSwimNode) => `${n.address!.host}:${n.address!.port}`;
const sees = (nodes: RxSwimNode[], n: number) => nodes.every((x) => x.members().filter((m) => m.state === 'alive').length === n);

async function stopAll(nodes: RxSwimNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop()));
}

/** a ping as a node labelled `label` would send it, through a plain socket; resolves with the acks that came back */
async function pingFrom(host: string, to: RxSwimNode, target: string, label: string, count: number): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  let acks = 0;
  sock.on('message', (data) => {
    const d = decodePacket(data, { label: { label: labelBytes(label), acceptUnlabelled: false } });
    acks += d.messages.filter((m) => m.type === 'ack').length;
  });
  try {
    for (let i = 0; i < count; i++) {
      const ping = encodeMessage({ type: 'ping', seqNo: 1000 + i, node: target });
      const packet = encodePacket([ping], { compress: false, crc: false, label: labelBytes(label) });
      await new Promise<void>((r, j) => sock.send(packet, to.address!.port, to.address!.host, (e) => (e ? j(e) : r())));
    }
    await sleep(300);
    return acks;
  } finally {
    sock.close();
  }
}

test('same label forms a cluster; another label or none cannot join, and its packets and streams are dropped by reason', { timeout: 60_000 }, async () => {
  const blue = [1, 2, 3].map((i) => createNode({ name: `blue-${i}`, bind: `127.0.110.${i}:0`, profile: 'local', label: 'blue' }));
  const green = createNode({ name: 'green', bind: '127.0.110.4:0', profile: 'local', label: 'green' });
  const plain = createNode({ name: 'plain', bind: '127.0.110.5:0', profile: 'local' });
  const all = [...blue, green, plain];
  try {
    for (const n of all) await n.start();
    for (const n of blue.slice(1)) assert.equal(await n.join([addr(blue[0]!)]), 1);
    await waitFor('3 blue nodes to see 3 alive', () => sees(blue, 3), (ok) => ok, 15_000);
    const seed = blue[0]!;
    assert.deepEqual(await labelDrops(seed), {}, 'a labelled cluster drops nothing');

    // TCP: the join's push-pull is refused by the seed, which counts why.
    await assert.rejects(green.join([addr(seed)]), JoinError);
    assert.equal(await dropped(seed, 'label_mismatch'), 1, 'the green stream');
    await assert.rejects(plain.join([addr(seed)]), JoinError);
    assert.equal(await dropped(seed, 'label_missing'), 1, 'the unlabelled stream');
    // And the other way: a labelled stream to a node without a label.
    await assert.rejects(blue[1]!.join([addr(plain)]), JoinError);
    assert.equal(await dropped(plain, 'label_unexpected'), 1, 'the blue stream at the unlabelled node');

    // UDP: pings as a blue, a green and an unlabelled node send them. Only the blue one is answered.
    assert.equal(await pingFrom('127.0.110.6', seed, seed.name, 'blue', 3), 3, 'blue pings are acked (the path works)');
    assert.equal(await pingFrom('127.0.110.6', seed, seed.name, 'green', 5), 0);
    assert.equal(await dropped(seed, 'label_mismatch'), 1 + 5);
    assert.equal(await pingFrom('127.0.110.6', seed, seed.name, '', 4), 0);
    assert.equal(await dropped(seed, 'label_missing'), 1 + 4);

    await sleep(1000);
    for (const n of blue) assert.deepEqual(n.members().map((m) => m.name).sort(), ['blue-1', 'blue-2', 'blue-3'], `${n.name} lists only blue`);
    assert.deepEqual(green.members().map((m) => m.name), ['green']);
    assert.deepEqual(plain.members().map((m) => m.name), ['plain']);
  } finally {
    await stopAll(all);
  }
});

test('encrypted and labelled: the cluster forms; the right key with the wrong label, or no label, is refused', { timeout: 60_000 }, async () => {
  const opts = (name: string, i: number, label?: string): NodeOptions => ({
    name,
    bind: `127.0.110.${10 + i}:0`,
    profile: 'local',
    keyring: [KEY],
    ...(label !== undefined ? { label } : {}),
    config: { pushPullInterval: 1000 },
  });
  const a = createNode(opts('a', 1, 'blue'));
  const b = createNode(opts('b', 2, 'blue'));
  const wrong = createNode(opts('wrong', 3, 'green'));
  const none = createNode(opts('none', 4));
  const all = [a, b, wrong, none];
  try {
    for (const n of all) await n.start();
    assert.equal(await b.join([addr(a)]), 1);
    await waitFor('a and b to see each other', () => sees([a, b], 2), (ok) => ok, 10_000);
    await sleep(2500); // a few encrypted push-pulls and probes
    assert.deepEqual(await labelDrops(a), {});
    assert.deepEqual(await labelDrops(b), {});
    await assert.rejects(wrong.join([addr(a)]), JoinError);
    assert.equal(await dropped(a, 'label_mismatch'), 1);
    await assert.rejects(none.join([addr(a)]), JoinError);
    assert.equal(await dropped(a, 'label_missing'), 1);
    assert.equal(await dropped(a, 'decrypt_failed'), 0, 'refused by the label, before any decryption');
    assert.equal(a.members().length, 2);
  } finally {
    await stopAll(all);
  }
});

test('rolling rollout: a live unlabelled cluster is labelled in three restarts per node, with no failure and no drop', { timeout: 150_000 }, async () => {
  const N = 3;
  const dirs = Array.from({ length: N }, () => mkdtempSync(join(tmpdir(), 'rxswim-labels-')));
  // Fixed ports: a restarted node comes back at its old address, so its new incarnation is taken at once.
  const optsFor = (i: number, step: Pick<NodeOptions, 'label' | 'labelRollout'>): NodeOptions => ({
    name: `roll-${i}`,
    bind: `127.0.110.${20 + i}:7946`,
    profile: 'local',
    dataDir: dirs[i]!,
    config: { pushPullInterval: 1000 },
    ...step,
  });
  const nodes: RxSwimNode[] = Array.from({ length: N }, (_, i) => createNode(optsFor(i, {})));
  const failures: string[] = [];
  const watch = (n: RxSwimNode) => n.events$.subscribe((e: MemberEvent) => {
    if (e.type === 'failed' || e.type === 'suspected') failures.push(`${n.name}: ${e.type} ${e.member.name}`);
  });
  nodes.forEach(watch);
  const drops: string[] = [];
  const collect = async (n: RxSwimNode) => {
    const d = await labelDrops(n);
    if (Object.keys(d).length > 0) drops.push(`${n.name}: ${JSON.stringify(d)}`);
  };
  try {
    for (const n of nodes) await n.start();
    for (let i = 1; i < N; i++) await nodes[i]!.join([addr(nodes[0]!)]);
    await waitFor('the unlabelled cluster', () => sees(nodes, N), (ok) => ok, 15_000);
    const steps: Array<Pick<NodeOptions, 'label' | 'labelRollout'>> = [
      { label: 'blue', labelRollout: 'accept' },
      { label: 'blue', labelRollout: 'send' },
      { label: 'blue' },
    ];
    for (const step of steps) {
      for (let i = 0; i < N; i++) {
        await collect(nodes[i]!);
        await nodes[i]!.leave();
        const next = createNode(optsFor(i, step));
        watch(next);
        nodes[i] = next;
        await next.start();
        const peer = nodes[(i + 1) % N]!;
        assert.equal(await next.join([addr(peer)]), 1, `${next.name} rejoins at ${JSON.stringify(step)}`);
        await waitFor(`all ${N} alive after ${next.name} moved to ${JSON.stringify(step)}`, () => sees(nodes, N), (ok) => ok, 15_000);
        await sleep(1200); // probes, gossip and a push-pull between the mixed steps
        assert.ok(sees(nodes, N), `still all alive after ${next.name} moved to ${JSON.stringify(step)}`);
      }
    }
    for (const n of nodes) await collect(n);
    assert.deepEqual(failures, []);
    assert.deepEqual(drops, []);
    // The end state is strict: an unlabelled node is now refused.
    const late = createNode({ name: 'late', bind: '127.0.110.30:0', profile: 'local' });
    await late.start();
    try {
      await assert.rejects(late.join([addr(nodes[0]!)]), JoinError);
      assert.equal(await dropped(nodes[0]!, 'label_missing'), 1);
    } finally {
      await late.stop();
    }
  } finally {
    await stopAll(nodes);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('the rollout steps that must not meet: unlabelled and label-sending nodes refuse each other', { timeout: 30_000 }, async () => {
  const old = createNode({ name: 'old', bind: '127.0.110.40:0', profile: 'local' });
  const sending = createNode({ name: 'sending', bind: '127.0.110.41:0', profile: 'local', label: 'blue', labelRollout: 'send' });
  const accepting = createNode({ name: 'accepting', bind: '127.0.110.42:0', profile: 'local', label: 'blue', labelRollout: 'accept' });
  const strict = createNode({ name: 'strict', bind: '127.0.110.43:0', profile: 'local', label: 'blue' });
  const all = [old, sending, accepting, strict];
  try {
    for (const n of all) await n.start();
    await assert.rejects(sending.join([addr(old)]), JoinError);
    assert.equal(await dropped(old, 'label_unexpected'), 1);
    await assert.rejects(accepting.join([addr(strict)]), JoinError);
    assert.equal(await dropped(strict, 'label_missing'), 1);
    // Neighbouring steps do meet.
    assert.equal(await accepting.join([addr(old)]), 1);
    assert.equal(await sending.join([addr(strict)]), 1);
  } finally {
    await stopAll(all);
  }
});
