// IP addresses as memberlist puts them on the wire: 4 bytes for IPv4, 16 for IPv6
// (Go may also send IPv4 in 16-byte mapped form; we accept it and print it dotted).
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.js';

export function addrToString(addr: Uint8Array | null): string {
  if (!addr || addr.length === 0) return '';
  if (addr.length === 4) return addr.join('.');
  if (addr.length === 16) {
    const mapped = addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
    if (mapped) return addr.subarray(12).join('.');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((addr[i]! << 8) | addr[i + 1]!).toString(16));
    return compressIPv6(groups);
  }
  return `invalid(${Buffer.from(addr).toString('hex')})`;
}

function compressIPv6(groups: string[]): string {
  // Replace the longest run of zero groups with "::" (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function addrFromString(host: string): Uint8Array {
  if (isIPv4(host)) return Uint8Array.from(host.split('.').map(Number));
  if (isIPv6(host)) {
    const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
    const parse = (s: string | undefined) => (s ? s.split(':') : []);
    let hs = parse(head);
    let ts = parse(tail);
    // an embedded IPv4 tail (::ffff:1.2.3.4)
    const fix = (xs: string[]) => {
      const last = xs[xs.length - 1];
      if (last && isIPv4(last)) {
        const b = last.split('.').map(Number) as [number, number, number, number];
        xs.splice(xs.length - 1, 1, ((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16));
      }
      return xs;
    };
    hs = fix(hs);
    ts = fix(ts);
    const zeros = tail === undefined ? [] : new Array<string>(8 - hs.length - ts.length).fill('0');
    const groups = [...hs, ...zeros, ...ts];
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = parseInt(g, 16);
      out[i * 2] = v >> 8;
      out[i * 2 + 1] = v & 0xff;
    });
    return out;
  }
  throw new ConfigError('address', `must be an IPv4 or IPv6 address, got ${JSON.stringify(host)}`);
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, bracketing IPv6 hosts: the one formatter, the inverse of parseHostPort */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parse `host:port`, `[v6]:port`, or a bare host (default port). */
export function parseHostPort(s: string, field: string, defaultPort = 7946): HostPort {
  const bad = () =>
    new ConfigError(field, `must be HOST:PORT, [IPv6]:PORT or HOST with port 0-65535 (got ${JSON.stringify(s)})`);
  let host: string;
  let portStr: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portStr = v6[2];
  } else if (isIPv6(s)) {
    host = s;
  } else {
    const i = s.lastIndexOf(':');
    if (i >= 0) {
      host = s.slice(0, i);
      portStr = s.slice(i + 1);
    } else host = s;
  }
  // Brackets, spaces or a stray colon left in the host mean it was mistyped ("[::1", "a b").
  if (!host || /[\s[\]/]/.test(host) || (host.includes(':') && !isIPv6(host))) throw bad();
  const port = portStr === undefined ? defaultPort : Number(portStr);
  if (portStr !== undefined && !/^\d+$/.test(portStr)) throw bad();
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad();
  return { host, port };
}
