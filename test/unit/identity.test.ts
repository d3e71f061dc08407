// Persistent identity in --data-dir: round trip, atomic replace, typed errors
// for a corrupt file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { IDENTITY_FILE, loadIdentity, saveIdentity } from '../../src/membership/identity.js';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rxswim-identity-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('absent identity is undefined; saved identity loads back', () => {
  withTempDir((root) => {
    assert.equal(loadIdentity(root), undefined);
    assert.equal(loadIdentity(join(root, 'does-not-exist')), undefined);
    saveIdentity(root, { name: 'node-a', incarnation: 0 });
    assert.deepEqual(loadIdentity(root), { name: 'node-a', incarnation: 0 });
    saveIdentity(root, { name: 'node-a', incarnation: 4294967295 });
    assert.deepEqual(loadIdentity(root), { name: 'node-a', incarnation: 4294967295 });
  });
});

test('saveIdentity creates the directory with mode 0700 and leaves no temp files', () => {
  withTempDir((root) => {
    const dir = join(root, 'a', 'b');
    for (let i = 1; i <= 20; i++) saveIdentity(dir, { name: 'n', incarnation: i });
    assert.deepEqual(loadIdentity(dir), { name: 'n', incarnation: 20 });
    assert.deepEqual(readdirSync(dir), [IDENTITY_FILE]);
    if (process.platform !== 'win32') {
      assert.equal(statSync(dir).mode & 0o777, 0o700 & ~process.umask());
      assert.equal(statSync(join(dir, IDENTITY_FILE)).mode & 0o077, 0);
    }
  });
});

test('extra fields in the file are dropped', () => {
  withTempDir((dir) => {
    writeFileSync(join(dir, IDENTITY_FILE), '{"name":"x","incarnation":3,"later":"field"}');
    assert.deepEqual(loadIdentity(dir), { name: 'x', incarnation: 3 });
  });
});

test('a corrupt identity file is a ConfigError naming the path', () => {
  const corrupt = [
    '',
    '{"name":"x","incarnation":3', // torn write
    'null',
    '[]',
    '{"incarnation":3}',
    '{"name":"","incarnation":3}',
    '{"name":"x"}',
    '{"name":"x","incarnation":-1}',
    '{"name":"x","incarnation":1.5}',
    '{"name":"x","incarnation":4294967296}',
    '{"name":"x","incarnation":"3"}',
  ];
  withTempDir((dir) => {
    const path = join(dir, IDENTITY_FILE);
    for (const text of corrupt) {
      writeFileSync(path, text);
      assert.throws(
        () => loadIdentity(dir),
        (e: unknown) => e instanceof ConfigError && e.field === 'dataDir' && e.message.includes(path),
        text,
      );
    }
    // unreadable (a directory where the file should be) is also typed
    rmSync(path);
    mkdirSync(path);
    assert.throws(() => loadIdentity(dir), (e: unknown) => e instanceof ConfigError && e.message.includes(path));
  });
});

test('saveIdentity refuses an invalid identity without touching the file', () => {
  withTempDir((dir) => {
    saveIdentity(dir, { name: 'n', incarnation: 1 });
    assert.throws(() => saveIdentity(dir, { name: 'n', incarnation: -1 }), ConfigError);
    assert.throws(() => saveIdentity(dir, { name: '', incarnation: 1 }), ConfigError);
    assert.deepEqual(loadIdentity(dir), { name: 'n', incarnation: 1 });
  });
});
