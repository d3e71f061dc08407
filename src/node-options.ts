// Everything createNode() is given, checked before anything is created, bound or
// written; each error names the option. What comes out is what the node runs with.
import type { Registry } from 'prom-client';
import type { SchedulerLike } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import { resolveConfig, type Profile, type ProtocolConfig, type ProtocolOverrides } from './config.js';
import { ConfigError } from './errors.js';
import { loadIdentity, type Identity } from './membership/identity.js';
import { parseHostPort, type HostPort } from './membership/address.js';
import { encodeTags, META_MAX_SIZE } from './membership/tags.js';
import { Keyring } from './security/keyring.js';
import type { Address, Transport } from './transport/transport.js';
import type { Logger } from './api.js';
import type { Delegate } from './messaging/user-messages.js';
import type { Labels } from './shell/packet-builder.js';
import { LABEL_MAX_SIZE } from './wire/label.js';

export type { Logger };


export interface NodeOptions {
  /** unique node name in the cluster; may be omitted when `dataDir` remembers it */
  name?: string;
  /** `host:port` to bind UDP and TCP on; default 0.0.0.0:7946 */
  bind?: string;
  /** `host:port` others should use to reach us; default: the bound address */
  advertise?: string;
  /** memberlist preset: lan (default), wan, local */
  profile?: Profile;
  /** override any protocol setting of the preset */
  config?: ProtocolOverrides;
  /** opaque metadata, at most 512 bytes (Serf puts its tags here) */
  meta?: Uint8Array;
  /**
   * Delegate protocol versions we advertise [min, max, cur]. Serf refuses to merge
   * with nodes whose delegate version it does not understand, so the default matches
   * Serf 0.8's (2, 5, 5).
   */
  delegateVersion?: readonly [number, number, number];
  /** RxJS scheduler for every timer; a VirtualTimeScheduler in simulation */
  scheduler?: SchedulerLike;
  /** supply a transport (the in-memory network); default: real UDP/TCP on `bind` */
  transport?: (bind: Address) => Transport | Promise<Transport>;
  /** random source (seeded in simulation) */
  random?: () => number;
  logger?: Logger;
  /** prom-client registry to register into; default: a registry of this node's own */
  registry?: Registry;
  /** XState inspector for every member actor */
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
  /** Serf-style tags; stored in meta in Serf's encoding (exclusive with `meta`) */
  tags?: Record<string, string>;
  /**
   * Encryption keys (base64 or bytes; 16, 24 or 32 bytes), primary first. Packets
   * and streams are sealed with AES-GCM as memberlist does, so it interoperates with
   * `serf agent -encrypt`.
   */
  keyring?: ReadonlyArray<string | Uint8Array>;
  /**
   * Directory that keeps this node's name and last incarnation, so a restarted node
   * announces itself above its old death at once instead of waiting to be forgotten.
   */
  dataDir?: string;
  /** application state exchanged on join and anti-entropy (memberlist's LocalState/MergeRemoteState) */
  delegate?: Delegate;
  /**
   * Speak Serf's member intents (default true): send Serf's leave intent before
   * memberlist's leave, so Serf agents record this node as left rather than failed;
   * send Serf's join intent after a join; treat a member's failure after its Serf leave
   * intent as its leave; honour force-leave; pass new intents on. Set false in a cluster of plain memberlist applications that must not see
   * Serf's messages.
   */
  serfIntents?: boolean;
  /**
   * Cluster label (memberlist ≥ 0.3's `Label`), at most 255 bytes of UTF-8: put in
   * front of every packet and stream, and the AES-GCM additional data with a key.
   * Traffic with another label, or none, is dropped and counted. Empty: no label.
   */
  label?: string;
  /**
   * Labelling a running cluster without downtime (README, "Cluster labels"):
   * `accept` also takes our label but still sends none; `send` sends the label but
   * still takes unlabelled traffic. Unset: send the label and require it.
   */
  labelRollout?: LabelRollout;
  /**
   * Serf's network coordinates (default true): every ack we send carries our Vivaldi
   * coordinate, as Serf's ping delegate does, and each direct ack with one refines
   * ours from the measured RTT. False: 18-byte acks with no payload, as memberlist
   * without a ping delegate.
   */
  coordinates?: boolean;
}

export const LABEL_ROLLOUTS = ['accept', 'send'] as const;
export type LabelRollout = (typeof LABEL_ROLLOUTS)[number];

export interface ResolvedOptions {
  name: string;
  config: ProtocolConfig;
  bind: HostPort;
  advertise: HostPort | undefined;
  meta: Uint8Array;
  /** [PMin, PMax, PCur, DMin, DMax, DCur] */
  vsn: Uint8Array;
  keyring: Keyring;
  /** what the data dir remembered, if anything */
  stored: Identity | undefined;
  labels: Labels;
}

/** the label options as the wire sees them; throws ConfigError naming the option */
export function resolveLabels(label: unknown, rollout: unknown): Labels {
  if (label !== undefined && typeof label !== 'string') throw new ConfigError('label', `must be a string (got ${JSON.stringify(label)})`);
  const bytes = new TextEncoder().encode(label ?? '');
  if (bytes.length > LABEL_MAX_SIZE) {
    throw new ConfigError('label', `must be at most ${LABEL_MAX_SIZE} bytes of UTF-8 (got ${bytes.length} bytes)`);
  }
  if (rollout !== undefined && !LABEL_ROLLOUTS.includes(rollout as LabelRollout)) {
    throw new ConfigError('labelRollout', `must be one of ${LABEL_ROLLOUTS.join(', ')} (got ${JSON.stringify(rollout)})`);
  }
  if (rollout !== undefined && bytes.length === 0) throw new ConfigError('labelRollout', 'needs a label to roll out');
  return {
    send: rollout === 'accept' ? new Uint8Array(0) : bytes,
    accept: { label: bytes, acceptUnlabelled: rollout !== undefined },
  };
}

/** metadata must fit memberlist's MetaMaxSize */
export function checkMeta(meta: unknown): Uint8Array {
  if (!(meta instanceof Uint8Array) || meta.length > META_MAX_SIZE) {
    throw new ConfigError('meta', `must be a Uint8Array of at most ${META_MAX_SIZE} bytes`);
  }
  return meta;
}

export function resolveOptions(options: NodeOptions): ResolvedOptions {
  const stored = options?.dataDir !== undefined ? loadIdentity(options.dataDir) : undefined;
  const name = options?.name ?? stored?.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
    throw new ConfigError('name', 'must be a non-empty string of at most 255 characters');
  }
  if (stored && stored.name !== name) {
    throw new ConfigError('name', `data dir ${options.dataDir} belongs to node ${JSON.stringify(stored.name)}, not ${JSON.stringify(name)}`);
  }
  const config = resolveConfig(options.profile ?? 'lan', options.config ?? {});
  const bind = parseHostPort(options.bind ?? '0.0.0.0:7946', 'bind');
  const advertise = options.advertise !== undefined ? parseHostPort(options.advertise, 'advertise') : undefined;
  if (options.meta !== undefined && options.tags !== undefined) throw new ConfigError('tags', 'give either meta or tags, not both');
  // Untagged nodes still carry Serf's (empty) tag encoding, so Serf lists no bogus `role=` tag.
  const meta = checkMeta(options.tags !== undefined ? encodeTags(options.tags) : (options.meta ?? encodeTags({})));
  const keyring = new Keyring((options.keyring ?? []).map((k, i) => Keyring.parseKey(k, `keyring[${i}]`)));
  const dv = options.delegateVersion ?? [2, 5, 5];
  if (dv.length !== 3 || dv.some((v) => !Number.isInteger(v) || v < 0 || v > 255) || dv[0]! > dv[1]! || dv[2]! < dv[0]! || dv[2]! > dv[1]!) {
    throw new ConfigError('delegateVersion', 'must be [min, max, cur] integers 0-255 with min <= cur <= max');
  }
  // We understand memberlist protocols 1..5 and speak the configured one.
  const vsn = Uint8Array.of(1, 5, config.protocolVersion, dv[0]!, dv[1]!, dv[2]!);
  const labels = resolveLabels(options.label, options.labelRollout);
  return { name, config, bind, advertise, meta, vsn, keyring, stored, labels };
}

/**
 * A wildcard bind gives peers nothing to reach us on; memberlist picks a private
 * interface address, we ask for it to be explicit. start() checks this before it
 * binds, so a port that is taken does not hide this error.
 */
export function checkAdvertise(o: Pick<ResolvedOptions, 'bind' | 'advertise'>): void {
  const host = (o.advertise ?? o.bind).host;
  if (host === '0.0.0.0' || host === '::') {
    throw new ConfigError('advertise', `must be set to a reachable address when binding to ${o.bind.host}`);
  }
}
