// memberlist's keyring (spec §6.4): an ordered list of AES keys where index 0
// is the primary, the only key used to encrypt, while every key is tried to
// decrypt. Rotation (install everywhere, use, remove) is driven by the
// application, so the operations mirror memberlist's AddKey/UseKey/RemoveKey.

import { BehaviorSubject, type Observable } from 'rxjs';
import { ConfigError, KeyringError } from '../errors.js';

const KEY_SIZES = [16, 24, 32] as const;
/** Serf's words for a key operation on a node without encryption. */
export const NO_KEYRING = 'no keyring to modify (encryption not enabled)';
const STD_ALPHABET = /^[A-Za-z0-9+/]*$/;
const URL_ALPHABET = /^[A-Za-z0-9_-]*$/;

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toBase64(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');
}

export class Keyring {
  // Kept primary-first, in memberlist's order: using a key moves it to the
  // front and leaves the others in their relative order.
  private ring: Uint8Array[] = [];
  private readonly subject: BehaviorSubject<string[]>;
  /** The key list now and after every change (so a node can re-key its transport). */
  readonly changes$: Observable<string[]>;

  /** Every key is validated; the first becomes primary; duplicates are ignored. */
  constructor(keys?: Iterable<Uint8Array | string>) {
    for (const k of keys ?? []) this.add(Keyring.parseKey(k, 'keys'));
    this.subject = new BehaviorSubject(this.list());
    this.changes$ = this.subject.asObservable();
  }

  /**
   * A key as given on a command line or in config: a string is base64 (standard
   * or URL-safe alphabet, padding optional), bytes are taken as is. It must be
   * 16, 24 or 32 bytes (AES-128/192/256), else ConfigError(field). Messages never
   * echo the key: it is a secret and errors end up in logs.
   */
  static parseKey(k: string | Uint8Array, field = 'key'): Uint8Array {
    let bytes: Uint8Array;
    if (typeof k === 'string') {
      const s = k.trim();
      const body = s.replace(/=+$/, '');
      const padding = s.length - body.length;
      const alphabetOk = STD_ALPHABET.test(body) || URL_ALPHABET.test(body);
      // Buffer's decoder silently skips junk, so check the shape ourselves:
      // one alphabet, length mod 4 never 1, and padding (if any) completes a quantum.
      if (!alphabetOk || body.length % 4 === 1 || padding > 2 || (padding > 0 && s.length % 4 !== 0)) {
        throw new ConfigError(field, 'is not valid base64');
      }
      bytes = new Uint8Array(Buffer.from(body.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url'));
    } else if (k instanceof Uint8Array) {
      bytes = Uint8Array.from(k); // a copy, so the caller cannot change an installed key
    } else {
      throw new ConfigError(field, 'must be a base64 string or bytes');
    }
    if (!(KEY_SIZES as readonly number[]).includes(bytes.length)) {
      throw new ConfigError(field, `must be 16, 24 or 32 bytes (AES-128, AES-192 or AES-256), got ${bytes.length}`);
    }
    return bytes;
  }

  /** Copies of the keys, primary first: the order decryption tries them in. */
  get keys(): Uint8Array[] {
    return this.ring.map((k) => Uint8Array.from(k));
  }

  /** The key used to encrypt, or undefined when encryption is off. */
  get primary(): Uint8Array | undefined {
    const p = this.ring[0];
    return p === undefined ? undefined : Uint8Array.from(p);
  }

  /** Encryption is on exactly when at least one key is installed. */
  get enabled(): boolean {
    return this.ring.length > 0;
  }

  /**
   * Adds a key for decryption. Installing a present key is a no-op. An empty ring
   * refuses (KeyringError), as Serf does ("No keyring to modify (encryption not
   * enabled)"): its first key would turn encryption on at once, and every peer still
   * in plaintext would drop this node's packets. Encryption is chosen when the ring
   * is made (`createNode({ keyring })`, `rxswim agent --encrypt`).
   */
  install(key: string | Uint8Array): void {
    const k = Keyring.parseKey(key);
    this.refuseWhenEmpty();
    if (this.add(k)) this.emit();
  }

  /** Makes an installed key the primary (the one that encrypts). */
  use(key: string | Uint8Array): void {
    const k = Keyring.parseKey(key);
    this.refuseWhenEmpty();
    const i = this.indexOf(k);
    if (i < 0) throw new KeyringError('cannot use a key that is not installed');
    if (i === 0) return;
    const [chosen] = this.ring.splice(i, 1);
    this.ring.unshift(chosen as Uint8Array);
    this.emit();
  }

  /** Removes a secondary key. The primary can't be removed: nothing could be encrypted. */
  remove(key: string | Uint8Array): void {
    const k = Keyring.parseKey(key);
    this.refuseWhenEmpty();
    const i = this.indexOf(k);
    if (i < 0) throw new KeyringError('cannot remove a key that is not installed');
    if (i === 0) throw new KeyringError('cannot remove the primary key; use another key first');
    this.ring.splice(i, 1);
    this.emit();
  }

  /** Standard base64 of every key, primary first (the form Serf's `keys -list` prints). */
  list(): string[] {
    return this.ring.map(toBase64);
  }

  /** Completes changes$ (on shutdown). Later changes still apply but are not emitted. */
  complete(): void {
    this.subject.complete();
  }

  private refuseWhenEmpty(): void {
    if (this.ring.length === 0) throw new KeyringError(NO_KEYRING);
  }

  private indexOf(k: Uint8Array): number {
    return this.ring.findIndex((x) => sameKey(x, k));
  }

  /** Appends unless present; returns whether the ring changed. */
  private add(k: Uint8Array): boolean {
    if (this.indexOf(k) >= 0) return false;
    this.ring.push(k);
    return true;
  }

  private emit(): void {
    this.subject.next(this.list());
  }
}
