import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { PRESETS, resolveConfig } from '../../src/config.js';
import { parseHostPort } from '../../src/membership/address.js';

test('presets carry memberlist defaults', () => {
  assert.equal(PRESETS.lan.probeInterval, 1000);
  assert.equal(PRESETS.lan.probeTimeout, 500);
  assert.equal(PRESETS.lan.suspicionMult, 4);
  assert.equal(PRESETS.wan.probeInterval, 5000);
  assert.equal(PRESETS.wan.suspicionMult, 6);
  assert.equal(PRESETS.local.probeTimeout, 200);
  assert.equal(PRESETS.local.indirectChecks, 1);
  assert.deepEqual(resolveConfig(), PRESETS.lan);
  assert.equal(resolveConfig('wan', { gossipNodes: 5 }).gossipNodes, 5);
});

function rejects(fn: () => unknown, field: string, text: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.match(e.message, text);
    return true;
  });
}

test('errors name the field and the allowed values', () => {
  rejects(() => resolveConfig('fast'), 'profile', /one of lan, wan, local/);
  rejects(() => resolveConfig('lan', { probeInterval: 5 }), 'probeInterval', /integer in \[10, 3600000\] ms.*got 5/);
  rejects(() => resolveConfig('lan', { indirectChecks: 1.5 }), 'indirectChecks', /integer in \[0, 64\]/);
  rejects(() => resolveConfig('lan', { gossipNodes: '3' }), 'gossipNodes', /integer/);
  rejects(() => resolveConfig('lan', { enableCompression: 1 }), 'enableCompression', /true or false/);
  rejects(() => resolveConfig('lan', { probeIntervall: 1000 }), 'probeIntervall', /not a known option/);
  rejects(() => resolveConfig('lan', { probeTimeout: 2000 }), 'probeTimeout', /must not exceed probeInterval/);
});

test('host:port parsing', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:7000', 'x'), { host: '127.0.0.1', port: 7000 });
  assert.deepEqual(parseHostPort('10.0.0.1', 'x'), { host: '10.0.0.1', port: 7946 });
  assert.deepEqual(parseHostPort('[::1]:9', 'x'), { host: '::1', port: 9 });
  rejects(() => parseHostPort('127.0.0.1:99999', 'bind'), 'bind', /HOST:PORT/);
  rejects(() => parseHostPort('127.0.0.1:x', 'bind'), 'bind', /HOST:PORT/);
});
