// The label options: validation that names the option (library and agent), what each
// rollout step sends and accepts, and that packets with a label still fit udpBufferSize.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAgentConfig } from '../../src/cli/agent-config.js';
import { ConfigError } from '../../src/errors.js';
import { createNode } from '../../src/node.js';
import { resolveLabels } from '../../src/node-options.js';
import { PacketBuilder } from '../../src/shell/packet-builder.js';
import { BroadcastQueue, takeGossip } from '../../src/swim/broadcast-queue.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { decodePacket } from '../../src/wire/packet.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('no ConfigError');
}

test('createNode: a label longer than 255 bytes of UTF-8 is a ConfigError naming `label`', () => {
  assert.doesNotThrow(() => createNode({ name: 'a', label: 'x'.repeat(255) }));
  // 128 two-byte characters: 128 characters, 256 bytes.
  const e = configError(() => createNode({ name: 'a', label: 'é'.repeat(128) }));
  assert.equal(e.field, 'label');
  assert.match(e.message, /at most 255 bytes of UTF-8 \(got 256 bytes\)/);
  assert.equal(configError(() => createNode({ name: 'a', label: 7 as unknown as string })).field, 'label');
  assert.equal(configError(() => createNode({ name: 'a', label: 'x', labelRollout: 'later' as 'send' })).field, 'labelRollout');
  assert.equal(configError(() => createNode({ name: 'a', labelRollout: 'send' })).field, 'labelRollout');
});

test('what each rollout step sends and accepts', () => {
  const none = resolveLabels(undefined, undefined);
  assert.ok(none.send.length === 0 && none.accept.label.length === 0 && !none.accept.acceptUnlabelled);
  const strict = resolveLabels('blue', undefined);
  assert.ok(text(strict.send) === 'blue' && text(strict.accept.label) === 'blue' && !strict.accept.acceptUnlabelled);
  const accept = resolveLabels('blue', 'accept');
  assert.ok(accept.send.length === 0 && text(accept.accept.label) === 'blue' && accept.accept.acceptUnlabelled);
  const send = resolveLabels('blue', 'send');
  assert.ok(text(send.send) === 'blue' && text(send.accept.label) === 'blue' && send.accept.acceptUnlabelled);
});

test('agent: --label and --label-rollout, with errors named as the operator wrote them', () => {
  const base = { node: 'n', bind: '127.0.110.1:7946' };
  const cfg = loadAgentConfig({ flags: { ...base, label: 'blue', labelRollout: 'send' }, env: {} });
  assert.equal(cfg.label, 'blue');
  assert.equal(cfg.labelRollout, 'send');
  const fromEnv = loadAgentConfig({ flags: base, env: { RXSWIM_LABEL: 'green', RXSWIM_LABEL_ROLLOUT: 'accept' } });
  assert.equal(fromEnv.label, 'green');
  assert.equal(fromEnv.labelRollout, 'accept');
  const long = configError(() => loadAgentConfig({ flags: { ...base, label: 'x'.repeat(256) }, env: {} }));
  assert.equal(long.field, '--label');
  assert.match(long.message, /at most 255 bytes/);
  assert.equal(configError(() => loadAgentConfig({ flags: base, env: { RXSWIM_LABEL_ROLLOUT: 'sometime' } })).field, 'RXSWIM_LABEL_ROLLOUT');
  const lone = configError(() => loadAgentConfig({ flags: { ...base, labelRollout: 'accept' }, env: {} }));
  assert.equal(lone.field, '--label-rollout');
  assert.match(lone.message, /needs a label.*--label/);
});

test('with a label, packets full of gossip still fit udpBufferSize and decode under the label', () => {
  const label = new TextEncoder().encode('l'.repeat(255));
  const KEY = new Uint8Array(16).fill(5);
  for (const sealed of [false, true]) {
    const q = new BroadcastQueue(1000, () => 10);
    const uq = new BroadcastQueue(1000, () => 10);
    for (let i = 0; i < 200; i++) q.queue({ key: `k${i}`, message: encodeMessage({ type: 'user', payload: new Uint8Array(20 + (i % 90)).fill(i) }) });
    const b = new PacketBuilder({
      udpBufferSize: 512,
      compress: false,
      protocolVersion: 5,
      sealKey: () => (sealed ? KEY : null),
      takeGossip: (limit) => takeGossip(q, uq, limit),
      hasGossip: () => q.depth > 0,
      labels: { send: label, accept: { label, acceptUnlabelled: false } },
    });
    assert.equal(b.labelOverhead(), 257);
    let packets = 0;
    while (q.depth > 0 && packets < 100) {
      const [p] = b.encode(b.gossip(5), 5);
      if (!p) break;
      packets++;
      assert.ok(p.length <= 512, `${p.length} bytes`);
      const d = decodePacket(p, { label: { label, acceptUnlabelled: false }, ...(sealed ? { keyring: [KEY] } : {}) });
      assert.deepEqual(d.errors, []);
      assert.ok(d.messages.length > 0);
    }
    assert.ok(packets > 5, `${packets} packets`);
  }
});
