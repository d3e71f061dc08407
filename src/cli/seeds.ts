// Seed addresses as operators write them, and joining with retries. Lives in the CLI
// rather than in node.ts: name resolution and retry policy are deployment concerns
// (Kubernetes headless services, seeds that boot later), while node.join() stays a
// single push-pull round over literal addresses.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError, JoinError } from '../errors.js';
import { formatHostPort } from '../membership/address.js';
import { parseAddress } from './address.js';

export const DEFAULT_PORT = 7946;

/** what a seed must be, for messages about a value of the wrong type */
export const SEED_EXPECTED = 'must be a string: a seed address such as 10.0.0.2:7946, 10.0.0.2, [fd00::2]:7946 or dns:NAME[:PORT]';

export type Seed =
  | { kind: 'addr'; host: string; port: number; text: string }
  | { kind: 'dns'; name: string; port: number; text: string };

/** Resolves a name to every address the system resolver knows for it (A and AAAA). */
export type Resolver = (name: string) => Promise<string[]>;

/**
 * The system resolver (getaddrinfo through dns.lookup), not a DNS query of our own:
 * it honours /etc/hosts and nsswitch as every other program on the host does, and
 * for a Kubernetes headless service it returns one A/AAAA record per ready pod.
 */
export const systemResolver: Resolver = async (name) => {
  const all = await lookup(name, { all: true, verbatim: true });
  return [...new Set(all.map((a) => a.address))];
};

/**
 * Parses one seed: `host:port`, a bare host (port 7946), `[v6]:port`, a bare IPv6
 * address, or `dns:NAME[:PORT]` (every address NAME resolves to, at join time).
 * The host must be an IP address or a well-formed DNS name. Throws
 * ConfigError(field) for anything else: a usage error, never a failed join.
 */
export function parseSeed(s: string, field = 'join'): Seed {
  if (typeof s !== 'string') throw new ConfigError(field, `${SEED_EXPECTED} (got ${JSON.stringify(s)})`);
  const text = s.trim();
  if (text.startsWith('dns:')) {
    const rest = text.slice(4);
    const m = /^([A-Za-z0-9_.-]+)(?::(\d+))?$/.exec(rest);
    const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2]);
    if (!m || port < 1 || port > 65535 || isIP(m[1]!) !== 0) {
      throw new ConfigError(field, `must be dns:NAME or dns:NAME:PORT with a DNS name (got ${JSON.stringify(s)})`);
    }
    return { kind: 'dns', name: m[1]!, port, text };
  }
  if (text.length === 0) throw new ConfigError(field, 'must not be empty');
  const { host, port } = parseAddress(text, field, { defaultPort: DEFAULT_PORT, shape: 'HOST:PORT, [IPv6]:PORT, HOST or dns:NAME[:PORT]' });
  if (port === 0) throw new ConfigError(field, `port must be 1-65535 (got ${JSON.stringify(s)})`);
  return { kind: 'addr', host, port, text };
}


/**
 * Turns seeds into the literal addresses node.join() dials. A dns: seed that does
 * not resolve contributes nothing (it is reported in `failures`): while a headless
 * service has no endpoints yet, that is the normal state of affairs, not an error
 * in the configuration.
 */
export async function resolveSeeds(
  seeds: readonly Seed[],
  resolver: Resolver = systemResolver,
): Promise<{ addresses: string[]; failures: Array<{ seed: string; reason: string }> }> {
  const addresses: string[] = [];
  const failures: Array<{ seed: string; reason: string }> = [];
  for (const s of seeds) {
    if (s.kind === 'addr') {
      addresses.push(formatHostPort(s.host, s.port));
      continue;
    }
    try {
      const ips = await resolver(s.name);
      if (ips.length === 0) failures.push({ seed: s.text, reason: 'no addresses' });
      for (const ip of ips) addresses.push(formatHostPort(ip, s.port));
    } catch (e) {
      failures.push({ seed: s.text, reason: `cannot resolve ${s.name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    }
  }
  return { addresses: [...new Set(addresses)], failures };
}

/** The part of a node that joining needs (RxSwimNode fits). */
export interface Joinable {
  join(seeds: readonly string[]): Promise<number>;
}

/** One join round: resolve, then push-pull with every address. Rejects with JoinError. */
export async function joinOnce(node: Joinable, seeds: readonly Seed[], resolver?: Resolver): Promise<number> {
  const { addresses, failures } = await resolveSeeds(seeds, resolver);
  if (addresses.length === 0) throw new JoinError(failures);
  try {
    return await node.join(addresses);
  } catch (e) {
    if (e instanceof JoinError) throw new JoinError([...failures, ...e.failures]);
    throw e;
  }
}

export interface RetryOptions {
  /** attempts before giving up; 0 = keep trying forever (Serf's retry_max 0) */
  max: number;
  /** the longest wait between attempts, ms */
  interval: number;
  /** the first wait, ms; doubled after every failure up to `interval` */
  initialDelay?: number;
  resolver?: Resolver;
  /** called after each failed attempt with the attempt number and the wait before the next */
  onRetry?: (attempt: number, error: Error, delayMs: number) => void;
  signal?: AbortSignal;
  random?: () => number;
}

/**
 * Serf/Consul's retry_join: keep joining until one attempt reaches a seed. Waits grow
 * from `initialDelay` (1 s) by doubling to at most `interval`, with ±10 % jitter so
 * that a fleet restarted together does not hit its seeds in lockstep. Rejects with
 * the last JoinError after `max` failed attempts, or with the abort reason.
 */
export async function joinWithRetry(node: Joinable, seeds: readonly Seed[], opts: RetryOptions): Promise<{ contacted: number; attempts: number }> {
  const random = opts.random ?? Math.random;
  let delay = Math.min(opts.initialDelay ?? 1000, opts.interval);
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return { contacted: await joinOnce(node, seeds, opts.resolver), attempts: attempt };
    } catch (e) {
      if (!(e instanceof JoinError)) throw e;
      if (opts.max > 0 && attempt >= opts.max) throw e;
      const wait = Math.round(delay * (0.9 + 0.2 * random()));
      opts.onRetry?.(attempt, e, wait);
      await sleep(wait, opts.signal);
      delay = Math.min(delay * 2, opts.interval);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // An abort that came before the wait began fires no event: check it first.
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
