// AES-GCM payload encryption as memberlist does it (spec §6.1):
//   vsn(1) | nonce(12) | ciphertext | tag(16)
// Version 1 seals the plaintext as is; legacy version 0 (protocol version 1
// senders only) PKCS#7-pads it to a multiple of 16 first. The same format is
// used for UDP (no additional data) and TCP (the 5-byte 0x0a+length header as AAD).

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecodeError } from '../errors.js';

export type EncryptionVersion = 0 | 1;

const VERSION_SIZE = 1;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const BLOCK_SIZE = 16;

/** Bytes added by version 1: version byte + nonce + tag. */
export const ENCRYPTION_OVERHEAD_V1 = VERSION_SIZE + NONCE_SIZE + TAG_SIZE; // 29
/** Worst case for version 0, whose padding adds 1..16 bytes. */
export const ENCRYPTION_OVERHEAD_V0 = ENCRYPTION_OVERHEAD_V1 + BLOCK_SIZE; // 45

/** Exact size of an encrypted payload; the TCP header announces it before encrypting. */
export function encryptedLength(version: EncryptionVersion, plaintextLength: number): number {
  if (version === 1) return ENCRYPTION_OVERHEAD_V1 + plaintextLength;
  return ENCRYPTION_OVERHEAD_V1 + plaintextLength + (BLOCK_SIZE - (plaintextLength % BLOCK_SIZE));
}

function cipherName(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      throw new RangeError(`encryption key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
}

/** Throws RangeError unless every key is a valid AES key size. */
export function validateKeyring(keys: readonly Uint8Array[]): void {
  for (const k of keys) cipherName(k);
}

export function encryptPayload(
  key: Uint8Array,
  version: EncryptionVersion,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  const algo = cipherName(key);
  if (version !== 0 && version !== 1) throw new RangeError(`encryption version must be 0 or 1, got ${String(version)}`);
  let sealed = plaintext;
  if (version === 0) {
    const pad = BLOCK_SIZE - (plaintext.length % BLOCK_SIZE);
    sealed = new Uint8Array(plaintext.length + pad);
    sealed.set(plaintext);
    sealed.fill(pad, plaintext.length);
  }
  const nonce = randomBytes(NONCE_SIZE);
  const cipher = createCipheriv(algo, key, nonce);
  if (aad && aad.length > 0) cipher.setAAD(aad);
  const out = new Uint8Array(VERSION_SIZE + NONCE_SIZE + sealed.length + TAG_SIZE);
  out[0] = version;
  out.set(nonce, VERSION_SIZE);
  let at = VERSION_SIZE + NONCE_SIZE;
  const head = cipher.update(sealed);
  out.set(head, at);
  at += head.length;
  const tail = cipher.final();
  out.set(tail, at);
  at += tail.length;
  out.set(cipher.getAuthTag(), at);
  return out;
}

function open(key: Uint8Array, buf: Uint8Array, aad: Uint8Array | undefined): Uint8Array | undefined {
  const nonce = buf.subarray(VERSION_SIZE, VERSION_SIZE + NONCE_SIZE);
  const body = buf.subarray(VERSION_SIZE + NONCE_SIZE, buf.length - TAG_SIZE);
  const tag = buf.subarray(buf.length - TAG_SIZE);
  try {
    const decipher = createDecipheriv(cipherName(key), key, nonce);
    decipher.setAuthTag(tag);
    if (aad && aad.length > 0) decipher.setAAD(aad);
    const head = decipher.update(body);
    const tail = decipher.final(); // throws when the tag does not authenticate
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch (e) {
    if (e instanceof RangeError) throw e; // bad key size is a configuration error, not a bad packet
    return undefined;
  }
}

/**
 * Tries each key in order (primary first) and returns the first plaintext that
 * authenticates. Failure of any kind is DecodeError('decrypt_failed').
 */
export function decryptPayload(keys: readonly Uint8Array[], buf: Uint8Array, aad?: Uint8Array): Uint8Array {
  if (buf.length === 0) throw new DecodeError('decrypt_failed', 'cannot decrypt an empty payload');
  const version = buf[0] as number;
  if (version > 1) throw new DecodeError('decrypt_failed', `unsupported encryption version ${version}`);
  const min = version === 1 ? ENCRYPTION_OVERHEAD_V1 : ENCRYPTION_OVERHEAD_V0;
  if (buf.length < min) throw new DecodeError('decrypt_failed', `payload of ${buf.length} bytes is too small to decrypt`);
  if (keys.length === 0) throw new DecodeError('decrypt_failed', 'no keys installed');
  for (const key of keys) {
    const plain = open(key, buf, aad);
    if (plain === undefined) continue;
    if (version === 1) return plain;
    // Go strips `last byte` bytes without checking; we at least refuse impossible padding.
    const pad = plain.length > 0 ? (plain[plain.length - 1] as number) : 0;
    if (pad < 1 || pad > BLOCK_SIZE || pad > plain.length) {
      throw new DecodeError('decrypt_failed', `invalid PKCS#7 padding ${pad}`);
    }
    return plain.subarray(0, plain.length - pad);
  }
  throw new DecodeError('decrypt_failed', 'no installed key could decrypt the message');
}
