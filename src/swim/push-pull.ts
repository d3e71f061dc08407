// Push-pull anti-entropy (wire spec §8.1): both sides send their whole table over
// one TCP connection and merge the other's. Used for join and periodically.

import type { PushNodeState } from '../wire/types.js';
import { WireState } from '../wire/types.js';

/**
 * memberlist's verifyProtocol (§10.2): every node, local or remote, must speak a
 * protocol and delegate version that every alive node understands. Returns a reason
 * when the merge must be refused, null when it is fine.
 */
export function protocolIncompatibility(remote: readonly PushNodeState[], local: readonly PushNodeState[]): string | null {
  let maxPMin = 0;
  let minPMax = 255;
  let maxDMin = 0;
  let minDMax = 255;
  const consider = (v: Uint8Array) => {
    maxPMin = Math.max(maxPMin, v[0]!);
    minPMax = Math.min(minPMax, v[1]!);
    maxDMin = Math.max(maxDMin, v[3]!);
    minDMax = Math.min(minDMax, v[4]!);
  };
  for (const r of remote) if (r.vsn && r.vsn.length >= 6 && r.state === WireState.alive) consider(r.vsn);
  for (const l of local) if (l.vsn && l.vsn.length >= 6 && l.state === WireState.alive) consider(l.vsn);
  const check = (who: string, v: Uint8Array | null): string | null => {
    const pcur = v && v.length >= 6 ? v[2]! : 0;
    const dcur = v && v.length >= 6 ? v[5]! : 0;
    if (pcur < maxPMin || pcur > minPMax) {
      return `node ${who} speaks protocol version ${pcur}, outside what every alive node understands [${maxPMin}, ${minPMax}]`;
    }
    if (dcur < maxDMin || dcur > minDMax) {
      return `node ${who} speaks delegate protocol version ${dcur}, outside what every alive node understands [${maxDMin}, ${minDMax}]`;
    }
    return null;
  };
  for (const r of remote) {
    const why = check(r.name, r.vsn);
    if (why) return why;
  }
  for (const l of local) {
    if (l.state !== WireState.alive) continue;
    const why = check(l.name, l.vsn);
    if (why) return why;
  }
  return null;
}
