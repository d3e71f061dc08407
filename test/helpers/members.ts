// A Member as the shell's pipelines see it, for tests that need one without a core.
import type { Member, MemberState } from '../../src/api.js';

export function testMember(name: string, state: MemberState = 'alive'): Member {
  return { name, address: '10.0.0.1', port: 7946, state, incarnation: 1, meta: new Uint8Array(0), vsn: [1, 5, 2, 2, 5, 4], stateChangedAt: 0 };
}
