// What rxswim puts in push-pull's user-state slot: the application's own state (the
// delegate's) plus the broadcasts we sent or heard recently. Gossip alone delivers a
// broadcast with high probability, not certainty (each message is sent a bounded
// number of times to random members); carrying recent ones in anti-entropy closes
// the gap within a push-pull interval, as Serf does for its user events. The marker
// byte keeps it apart from Serf's state (which begins with 2); with Serf's layer on it
// follows Serf's state in the same slot (user-messages.ts localState).
import { DecodeError } from '../errors.js';
import { encodeMsgpack, MsgpackMap, MsgpackReader } from '../wire/msgpack.js';
import { ENVELOPE_MAGIC } from './user-envelope.js';

const STATE_VERSION = 2;

export interface PushPullState {
  app: Uint8Array;
  /** user-message envelopes of recent broadcasts */
  recent: Uint8Array[];
  /**
   * Serf's Lamport member clock as we know it (0: none), so that an rxswim node that
   * joined through another rxswim node knows Serf's time too: its leave intent must be
   * above Serf's last status time for it, or Serf ignores it and records a failure.
   */
  serfLTime: bigint;
}

export function encodePushPullState(s: PushPullState): Uint8Array {
  const body = encodeMsgpack({ App: s.app, Recent: s.recent, ...(s.serfLTime > 0n ? { SerfLTime: s.serfLTime } : {}) });
  const out = new Uint8Array(2 + body.length);
  out[0] = ENVELOPE_MAGIC;
  out[1] = STATE_VERSION;
  out.set(body, 2);
  return out;
}

/** undefined when the state is not ours (e.g. Serf's, or a plain delegate's bytes) */
export function decodePushPullState(buf: Uint8Array): PushPullState | undefined {
  if (buf.length < 2 || buf[0] !== ENVELOPE_MAGIC || buf[1] !== STATE_VERSION) return undefined;
  const v = new MsgpackReader(buf, 2, 4).readValue();
  if (!(v instanceof MsgpackMap)) throw new DecodeError('malformed', 'push-pull state is not a map');
  const app = v.get('App');
  const recent = v.get('Recent');
  if (!(app instanceof Uint8Array || app === null) || !(Array.isArray(recent) || recent === null)) {
    throw new DecodeError('malformed', 'push-pull state has missing or mistyped fields');
  }
  const list = (recent ?? []).filter((x): x is Uint8Array => x instanceof Uint8Array);
  const lt = v.get('SerfLTime');
  const serfLTime = typeof lt === 'bigint' && lt > 0n ? lt : typeof lt === 'number' && Number.isInteger(lt) && lt > 0 ? BigInt(lt) : 0n;
  return { app: app ?? new Uint8Array(0), recent: list, serfLTime };
}

/** Recent broadcasts, bounded by count, bytes and age. */
export class RecentBroadcasts {
  private entries: Array<{ env: Uint8Array; at: number }> = [];
  private bytes = 0;

  constructor(
    private readonly maxCount = 64,
    private readonly maxBytes = 32 * 1024,
    private readonly maxAgeMs = 5 * 60_000,
  ) {}

  add(env: Uint8Array, at: number): void {
    this.entries.push({ env, at });
    this.bytes += env.length;
    while (this.entries.length > this.maxCount || this.bytes > this.maxBytes) this.bytes -= this.entries.shift()!.env.length;
  }

  list(now: number): Uint8Array[] {
    while (this.entries.length > 0 && now - this.entries[0]!.at > this.maxAgeMs) this.bytes -= this.entries.shift()!.env.length;
    return this.entries.map((e) => e.env);
  }
}
