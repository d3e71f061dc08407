// Addresses as operators type them (--bind, --advertise, --http, seeds), checked
// strictly before anything binds or dials. The library's parseHostPort splits
// `host:port`; here the host must also be an IP literal or a well-formed DNS name, so
// that `[::1` (an unclosed bracket, which would split into host `[:` and port 1) or
// a host with spaces is a usage error at once instead of a failed dial or a
// getaddrinfo error later.
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { parseHostPort, type HostPort } from '../membership/address.js';

/** RFC 1123 labels (underscores allowed, as in service names), at most 253 characters, optional final dot. */
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}\\.?$)${LABEL}(?:\\.${LABEL})*\\.?$`);

export function isDnsName(s: string): boolean {
  return DNS_NAME.test(s);
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

export interface AddressRules {
  /** port when none is written; undefined = a port must be written */
  defaultPort?: number;
  /** the host must be an IP address (peers are told it on the wire) */
  ipOnly?: boolean;
  /** what the value should look like, for the message */
  shape?: string;
}

/** `host:port`, `[v6]:port`, or (with a default port) a bare host; throws ConfigError(field). */
export function parseAddress(s: string, field: string, rules: AddressRules = {}): HostPort {
  const shape = rules.shape ?? (rules.defaultPort === undefined ? 'HOST:PORT or [IPv6]:PORT' : 'HOST:PORT, [IPv6]:PORT or HOST');
  const bad = (why = '') => new ConfigError(field, `must be ${shape} with port 0-65535${why} (got ${JSON.stringify(s)})`);
  if (typeof s !== 'string' || s.length === 0) throw bad();
  if (/\s/.test(s)) throw bad('; no spaces');
  let hp: HostPort;
  try {
    // a sentinel default tells a written port from none
    hp = parseHostPort(s, field, rules.defaultPort ?? 0);
  } catch {
    throw bad();
  }
  const written = hasPort(s);
  if (!written && rules.defaultPort === undefined) throw bad('; the port is missing');
  const ip = isIP(hp.host) !== 0;
  if (!ip && (rules.ipOnly || !isDnsName(hp.host))) throw bad(rules.ipOnly && isDnsName(hp.host) ? '; the host must be an IP address' : '');
  return hp;
}

/** whether `s` ends in `:PORT` (a bare IPv6 address has colons but no port) */
function hasPort(s: string): boolean {
  if (s.startsWith('[')) return /\]:\d+$/.test(s);
  return isIP(s) !== 6 && /:\d+$/.test(s);
}
