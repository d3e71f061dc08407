// Addresses as text, with no dependency on Node's net module, so that the sans-IO
// core can name addresses in its logs. Parsing (which needs node:net) is in address.ts.

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
  return `invalid(${[...addr].map((b) => b.toString(16).padStart(2, '0')).join('')})`;
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

/** `host:port`, bracketing IPv6 hosts: the one formatter, the inverse of parseHostPort */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

