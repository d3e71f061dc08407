// IP addresses as memberlist puts them on the wire: 4 bytes for IPv4, 16 for IPv6
// (Go may also send IPv4 in 16-byte mapped form; we accept it and print it dotted).
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.js';

export { addrToString, formatHostPort } from './address-text.js';

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
