// Persistent node identity for `--data-dir`.
//
// A restarted node must come back under the same name with an incarnation
// above anything it announced before; otherwise its fresh alive (incarnation
// 0 or 1) is ignored by peers that still hold a higher one, and it would have
// to be refuted back to life. So the incarnation is written down every time it
// rises, before the alive carrying it is sent.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

export interface Identity {
  name: string;
  incarnation: number;
}

export const IDENTITY_FILE = 'identity.json';

/** memberlist's incarnation is a uint32. */
const MAX_INCARNATION = 0xffffffff;

function problem(id: unknown): string | undefined {
  if (typeof id !== 'object' || id === null) return 'expected a JSON object';
  const { name, incarnation } = id as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0) return '"name" must be a non-empty string';
  if (typeof incarnation !== 'number' || !Number.isInteger(incarnation) || incarnation < 0 || incarnation > MAX_INCARNATION) {
    return `"incarnation" must be an integer from 0 to ${MAX_INCARNATION}`;
  }
  return undefined;
}

/**
 * Reads `<dir>/identity.json`. Undefined if there is none yet (first start).
 * Anything else that goes wrong (unreadable, not JSON, wrong shape) is a
 * ConfigError('dataDir') naming the file: starting with a made-up identity
 * could reuse an old incarnation, so the operator has to look.
 */
export function loadIdentity(dir: string): Identity | undefined {
  const path = join(dir, IDENTITY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('dataDir', `cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('dataDir', `${path} is corrupt: ${(e as Error).message}`);
  }
  const why = problem(parsed);
  if (why !== undefined) throw new ConfigError('dataDir', `${path} is corrupt: ${why}`);
  const { name, incarnation } = parsed as Identity;
  return { name, incarnation };
}

/**
 * Writes `<dir>/identity.json` durably and atomically. Synchronous on purpose:
 * it runs when the node refutes a suspicion, and the new incarnation must be
 * on disk before the alive goes out, with no await in between where it could
 * be lost. A temp file is written, fsynced and renamed over the old one, so a
 * crash leaves either the old or the new file, never a torn one.
 */
export function saveIdentity(dir: string, id: Identity): void {
  const why = problem(id);
  if (why !== undefined) throw new ConfigError('identity', why);
  // 0700 only applies to directories created here; an existing one keeps the operator's mode.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, IDENTITY_FILE);
  const tmp = join(dir, `.${IDENTITY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const data = Buffer.from(`${JSON.stringify({ name: id.name, incarnation: id.incarnation })}\n`, 'utf8');
  let fd: number | undefined = openSync(tmp, 'wx', 0o600);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone; the original error is the one worth reporting
    }
    throw e;
  }
  syncDir(dir);
}

/** fsync the directory so the rename itself survives a power loss (POSIX). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) can't open or fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
