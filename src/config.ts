// Protocol configuration: memberlist's three presets and validation that names the
// offending field and the allowed values. Durations are milliseconds throughout.
// zod/mini: the same validator as tree-shakeable functions (~30 kB bundled against ~750 kB
// for zod's chained API, whose parse time every agent paid at start-up).
import * as z from 'zod/mini';
import { ConfigError } from './errors.js';

export type Profile = 'lan' | 'wan' | 'local' | 'adaptive';
export const PROFILES: readonly Profile[] = ['lan', 'wan', 'local', 'adaptive'];

export interface ProtocolConfig {
  /** memberlist ProtocolVersion we speak (PCur); we understand 1..5 */
  protocolVersion: number;
  tcpTimeout: number;
  indirectChecks: number;
  retransmitMult: number;
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  pushPullInterval: number;
  probeInterval: number;
  probeTimeout: number;
  disableTcpPings: boolean;
  awarenessMaxMultiplier: number;
  gossipInterval: number;
  gossipNodes: number;
  gossipToTheDeadTime: number;
  enableCompression: boolean;
  udpBufferSize: number;
  /** 0 = a dead node's name is never reclaimed by a new address (memberlist default) */
  deadNodeReclaimTime: number;
  /** how long leave() waits for its dead-about-self broadcast to spread */
  leaveTimeout: number;
  /** with a keyring: drop packets that do not decrypt (false allows a rolling upgrade to encryption) */
  gossipVerifyIncoming: boolean;
  /** with a keyring: encrypt what we send (false sends plaintext during a rolling upgrade) */
  gossipVerifyOutgoing: boolean;
  /** Serf's reconnect: how often to try re-joining one failed member (0 disables) */
  reconnectInterval: number;
  /** how long a failed member is kept (listed, and retried) before it is forgotten */
  reconnectTimeout: number;
  /** how long a member that left is kept listed */
  tombstoneTimeout: number;
  /** most user broadcasts waiting to be gossiped; more are dropped and counted */
  userQueueDepth: number;
  /**
   * Probe and suspicion timeouts follow measured round trips and refutations, within
   * bounds (src/swim/adaptive.ts); probeTimeout and the suspicion settings are then
   * their caps. Off in memberlist's presets, on in `adaptive`.
   */
  adaptiveTimeouts: boolean;
}

// memberlist DefaultLANConfig / DefaultWANConfig / DefaultLocalConfig (wire spec §13).
const LAN: ProtocolConfig = {
  protocolVersion: 2,
  tcpTimeout: 10_000,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  pushPullInterval: 30_000,
  probeInterval: 1_000,
  probeTimeout: 500,
  disableTcpPings: false,
  awarenessMaxMultiplier: 8,
  gossipInterval: 200,
  gossipNodes: 3,
  gossipToTheDeadTime: 30_000,
  enableCompression: true,
  udpBufferSize: 1400,
  deadNodeReclaimTime: 0,
  // Serf's BroadcastTimeout: the longest a leave waits for its message to go out.
  leaveTimeout: 5_000,
  gossipVerifyIncoming: true,
  gossipVerifyOutgoing: true,
  // Serf's defaults (serf.DefaultConfig): ReconnectInterval 30 s, ReconnectTimeout and
  // TombstoneTimeout 24 h, MaxQueueDepth 4096.
  reconnectInterval: 30_000,
  reconnectTimeout: 86_400_000,
  tombstoneTimeout: 86_400_000,
  userQueueDepth: 4096,
  adaptiveTimeouts: false,
};

export const PRESETS: Readonly<Record<Profile, ProtocolConfig>> = {
  lan: LAN,
  wan: {
    ...LAN,
    tcpTimeout: 30_000,
    suspicionMult: 6,
    pushPullInterval: 60_000,
    probeInterval: 5_000,
    probeTimeout: 3_000,
    gossipInterval: 500,
    gossipNodes: 4,
    gossipToTheDeadTime: 60_000,
  },
  local: {
    ...LAN,
    tcpTimeout: 1_000,
    indirectChecks: 1,
    retransmitMult: 2,
    suspicionMult: 3,
    pushPullInterval: 15_000,
    probeInterval: 1_000,
    probeTimeout: 200,
    gossipInterval: 100,
    gossipToTheDeadTime: 15_000,
  },
  // Not memberlist's: lan's timing with timeouts that follow this network (adaptive.ts),
  // capped by lan's probe timeout and by 3 s × log10 n; Lifeguard's stretch of a lone
  // suspicion is 2× instead of 6×, since the minimum it stretches is measured rather
  // than a blanket multiple of the probe interval.
  adaptive: {
    ...LAN,
    // k = suspicionMult − 2 = 1: one independent confirmation brings a suspicion to its
    // (measured) minimum; a lone accuser's still lasts the 2× maximum.
    suspicionMult: 3,
    suspicionMaxTimeoutMult: 2,
    adaptiveTimeouts: true,
  },
};

type Range = readonly [number, number, string];
// Allowed ranges, stated once so that the schema and the error text agree.
type BooleanSetting = 'disableTcpPings' | 'enableCompression' | 'gossipVerifyIncoming' | 'gossipVerifyOutgoing' | 'adaptiveTimeouts';
const BOOLEANS: readonly BooleanSetting[] = ['disableTcpPings', 'enableCompression', 'gossipVerifyIncoming', 'gossipVerifyOutgoing', 'adaptiveTimeouts'];
const RANGES: Record<Exclude<keyof ProtocolConfig, BooleanSetting>, Range> = {
  protocolVersion: [1, 5, ''],
  tcpTimeout: [10, 600_000, ' ms'],
  indirectChecks: [0, 64, ''],
  retransmitMult: [1, 100, ''],
  suspicionMult: [1, 100, ''],
  suspicionMaxTimeoutMult: [1, 100, ''],
  pushPullInterval: [0, 86_400_000, ' ms (0 disables periodic push-pull)'],
  probeInterval: [10, 3_600_000, ' ms'],
  probeTimeout: [1, 3_600_000, ' ms'],
  awarenessMaxMultiplier: [1, 64, ''],
  gossipInterval: [0, 3_600_000, ' ms (0 disables gossip)'],
  gossipNodes: [0, 64, ''],
  gossipToTheDeadTime: [0, 86_400_000, ' ms'],
  udpBufferSize: [512, 65_000, ' bytes'],
  deadNodeReclaimTime: [0, 86_400_000, ' ms (0 = never)'],
  leaveTimeout: [0, 600_000, ' ms'],
  reconnectInterval: [0, 86_400_000, ' ms (0 disables reconnect)'],
  reconnectTimeout: [0, 31_536_000_000, ' ms'],
  tombstoneTimeout: [0, 31_536_000_000, ' ms'],
  userQueueDepth: [1, 1_000_000, ' messages'],
};

function intIn([min, max, unit]: Range) {
  const msg = `must be an integer in [${min}, ${max}]${unit}`;
  return z.int({ error: msg }).check(z.gte(min, { error: msg }), z.lte(max, { error: msg }));
}

const protocolShape = Object.fromEntries(
  Object.entries(RANGES).map(([k, r]) => [k, z.optional(intIn(r))]),
) as Record<keyof typeof RANGES, z.ZodMiniOptional<ReturnType<typeof intIn>>>;

const booleanShape = Object.fromEntries(BOOLEANS.map((k) => [k, z.optional(z.boolean({ error: 'must be true or false' }))])) as Record<
  BooleanSetting,
  z.ZodMiniOptional<z.ZodMiniBoolean>
>;

const overridesSchema = z.strictObject({ ...protocolShape, ...booleanShape });

export type ProtocolOverrides = Partial<ProtocolConfig>;

/** Merge a preset with overrides and validate the result; throws ConfigError naming the field. */
export function resolveConfig(profile: unknown = 'lan', overrides: unknown = {}): ProtocolConfig {
  if (typeof profile !== 'string' || !PROFILES.includes(profile as Profile)) {
    throw new ConfigError('profile', `must be one of ${PROFILES.join(', ')} (got ${JSON.stringify(profile)})`);
  }
  const parsed = overridesSchema.safeParse(overrides ?? {});
  if (!parsed.success) throw toConfigError(parsed.error, overrides);
  const defined = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined));
  const cfg: ProtocolConfig = { ...PRESETS[profile as Profile], ...defined };
  if (cfg.probeTimeout > cfg.probeInterval) {
    throw new ConfigError(
      'probeTimeout',
      `must not exceed probeInterval (${cfg.probeInterval} ms); got ${cfg.probeTimeout} ms`,
    );
  }
  return cfg;
}

export function toConfigError(error: z.core.$ZodError, input: unknown, prefix = ''): ConfigError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?';
    return new ConfigError(prefix + key, 'is not a known option');
  }
  const field = prefix + issue.path.map(String).join('.');
  let got: unknown = input;
  for (const p of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
  return new ConfigError(field || 'options', `${issue.message} (got ${JSON.stringify(got)})`);
}
