// `rxswim agent` settings from three sources: command-line flags, RXSWIM_* environment
// variables and a config file (JSON or YAML), in that order of precedence, each
// setting taken whole from the highest source that sets it. One table below defines
// every setting once, so the flag, the variable, the file key, the help text and
// the docs cannot drift apart; every protocol knob of ProtocolConfig gets all three
// automatically. Errors name the setting as the operator wrote it
// (`--probe-interval`, `RXSWIM_PROBE_INTERVAL`, `rxswim.yaml: probeInterval`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { basename, extname } from 'node:path';
import * as z from 'zod/mini';
import { PRESETS, PROFILES, resolveConfig, type Profile, type ProtocolConfig, type ProtocolOverrides } from '../config.js';
import { ConfigError } from '../errors.js';
import { isWildcard, parseAddress, type AddressRules } from './address.js';
import { parseTagArg } from '../membership/tags.js';
import { Keyring } from '../security/keyring.js';
import { LABEL_ROLLOUTS, resolveLabels, type LabelRollout } from '../node-options.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { parseSeed } from './seeds.js';
import { EVENT_FILTER_SYNTAX, parseEventHandler, type EventHandlerSpec } from './event-handlers.js';

/** how a raw text value (flag, environment) becomes a typed one */
export type SettingKind = 'string' | 'int' | 'ms' | 'bool' | 'list' | 'tags' | 'enum' | 'inspect' | 'repeat';

export interface Setting {
  /** config-file key, camelCase */
  key: string;
  /** `--kebab-case` */
  flag: string;
  /** `RXSWIM_SNAKE_CASE` */
  env: string;
  kind: SettingKind;
  /** placeholder in help */
  arg: string;
  description: string;
  choices?: readonly string[];
  /** what applies when no source sets it (text, for help and docs) */
  defaultText?: string;
  /** a ProtocolConfig field, validated by resolveConfig */
  protocol?: boolean;
  /** help group */
  group: 'Agent' | 'Join' | 'HTTP API' | 'Event handlers' | 'Logging' | 'Protocol';
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

function setting(key: string, kind: SettingKind, group: Setting['group'], description: string, extra: Partial<Setting> = {}): Setting {
  return { key, flag: `--${kebab(key)}`, env: `RXSWIM_${snake(key)}`, kind, arg: extra.arg ?? 'value', group, description, ...extra };
}

const PROTOCOL_HELP: Record<keyof ProtocolConfig, string> = {
  protocolVersion: 'memberlist protocol version spoken (1-5)',
  tcpTimeout: 'timeout of a TCP dial, push-pull or TCP ping',
  indirectChecks: 'members asked to probe a target that missed its ack',
  retransmitMult: 'each gossip message is sent retransmitMult × ceil(log10(n+1)) times',
  suspicionMult: 'minimum suspicion timeout = suspicionMult × max(1, log10(n)) × probeInterval',
  suspicionMaxTimeoutMult: 'a suspicion starts at this multiple of its minimum timeout (Lifeguard)',
  pushPullInterval: 'period of full-state anti-entropy with one random member (0 disables)',
  probeInterval: 'period of the failure detector: one probe per interval',
  probeTimeout: 'how long to wait for a direct ack before indirect probes',
  disableTcpPings: 'do not fall back to a TCP ping when UDP probes fail',
  awarenessMaxMultiplier: 'Lifeguard local health: the most the probe interval stretches (1 disables)',
  gossipInterval: 'period of gossip rounds (0 disables gossip)',
  gossipNodes: 'members gossiped to per round',
  gossipToTheDeadTime: 'dead members still gossiped to for this long',
  enableCompression: 'LZW-compress messages as memberlist does',
  udpBufferSize: 'largest UDP packet we send, bytes',
  deadNodeReclaimTime: 'after this long a dead name may rejoin from a new address (0 = never)',
  leaveTimeout: 'how long a graceful leave waits for its message to spread',
  gossipVerifyIncoming: 'with a key: drop packets that do not decrypt',
  gossipVerifyOutgoing: 'with a key: encrypt what we send',
  reconnectInterval: 'how often to try one failed member again (0 disables)',
  reconnectTimeout: 'how long a failed member is kept and retried',
  tombstoneTimeout: 'how long a member that left stays listed',
  userQueueDepth: 'most user broadcasts queued for gossip',
  adaptiveTimeouts: 'probe and suspicion timeouts follow measured round trips and refutations, capped by the settings above (on in the adaptive profile)',
};

/** ms settings are the ones memberlist calls *Interval, *Timeout or *Time. */
function protocolKind(key: keyof ProtocolConfig): SettingKind {
  if (typeof PRESETS.lan[key] === 'boolean') return 'bool';
  return /(Interval|Timeout|Time)$/.test(key) ? 'ms' : 'int';
}

function presetText(key: keyof ProtocolConfig): string {
  const unit = protocolKind(key) === 'ms' ? ' ms' : '';
  const vals = PROFILES.map((p) => `${PRESETS[p][key]}${unit}`);
  return vals.every((v) => v === vals[0]) ? String(vals[0]) : PROFILES.map((p, i) => `${p} ${vals[i]}`).join(', ');
}

export const SETTINGS: readonly Setting[] = [
  setting('node', 'string', 'Agent', 'unique node name (may be left out when --data-dir remembers it)', { arg: 'name' }),
  setting('bind', 'string', 'Agent', 'address to bind UDP and TCP on', { arg: 'host:port', defaultText: '0.0.0.0:7946' }),
  setting('advertise', 'string', 'Agent', 'address other members use to reach this one (required with a wildcard bind)', { arg: 'host:port' }),
  setting('profile', 'enum', 'Agent', 'memberlist timing preset', { arg: 'profile', choices: PROFILES, defaultText: 'lan' }),
  setting('tags', 'tags', 'Agent', 'a Serf-style tag (repeatable); env: k=v,k2=v2; file: a mapping', { flag: '--tag', arg: 'key=value' }),
  setting('encrypt', 'string', 'Agent', 'AES key, base64 of 16, 24 or 32 bytes (as serf agent -encrypt)', { arg: 'base64key' }),
  setting('label', 'string', 'Agent', 'cluster label (memberlist ≥ 0.3): traffic with another label, or none, is dropped; at most 255 bytes', { arg: 'name' }),
  setting('labelRollout', 'enum', 'Agent', 'labelling a running cluster: accept = take the label but send none yet, send = send it but still take unlabelled traffic', {
    arg: 'step',
    choices: LABEL_ROLLOUTS,
    defaultText: 'off: send the label and require it',
  }),
  setting('coordinates', 'bool', 'Agent', "Serf's network coordinates: acks carry our Vivaldi coordinate (false: 18-byte acks, no `rtt` estimates)", { arg: 'bool', defaultText: 'true' }),
  setting('dataDir', 'string', 'Agent', 'keep the node name and incarnation here across restarts', { arg: 'dir' }),
  setting('inspect', 'inspect', 'Agent', 'send XState inspection events to a Stately inspector over WebSocket', { arg: 'url', defaultText: 'off; without a URL ws://localhost:8080' }),
  setting('join', 'list', 'Join', 'seeds to join at start; the agent exits 2 if none answers (repeatable)', { arg: 'seed' }),
  setting('retryJoin', 'list', 'Join', 'seeds to join in the background, retrying until one answers (repeatable)', { arg: 'seed' }),
  setting('retryMax', 'int', 'Join', 'give up (exit 2) after this many failed retry-join attempts; 0 = never', { arg: 'n', defaultText: '0' }),
  setting('retryInterval', 'ms', 'Join', 'longest wait between retry-join attempts (waits start at 1 s and double)', { arg: 'duration', defaultText: '30s' }),
  setting('http', 'string', 'HTTP API', 'serve the HTTP API on this address', { arg: 'host:port' }),
  setting('httpToken', 'string', 'HTTP API', 'bearer token required by mutating routes and /v1/keys', { arg: 'token' }),
  setting('eventHandlers', 'repeat', 'Event handlers', `run a script per event as serf agent does (repeatable); filter: ${EVENT_FILTER_SYNTAX}; env: one per line`, {
    flag: '--event-handler',
    env: 'RXSWIM_EVENT_HANDLERS',
    arg: '[filter=]script',
  }),
  setting('eventHandlerTimeout', 'ms', 'Event handlers', 'a handler script still running after this long is killed, with its process group', { arg: 'duration', defaultText: '30s' }),
  setting('logLevel', 'enum', 'Logging', 'log level', { arg: 'level', choices: LOG_LEVELS, defaultText: 'info' }),
  setting('logFormat', 'enum', 'Logging', 'log format', { arg: 'format', choices: ['json', 'pretty'], defaultText: 'pretty on a terminal, else json' }),
  ...(Object.keys(PRESETS.lan) as Array<keyof ProtocolConfig>).map((key) => {
    const kind = protocolKind(key);
    return setting(key, kind, 'Protocol', PROTOCOL_HELP[key], {
      protocol: true,
      arg: kind === 'ms' ? 'duration' : kind === 'bool' ? 'bool' : 'n',
      defaultText: presetText(key),
    });
  }),
];

/** the config-file flag: not a setting itself (a file cannot name another file) */
export const CONFIG_FLAG = { flag: '--config', env: 'RXSWIM_CONFIG' } as const;

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

export interface AgentConfig {
  node?: string;
  bind: string;
  advertise?: string;
  profile: Profile;
  tags: Record<string, string>;
  encrypt?: string;
  label?: string;
  labelRollout?: LabelRollout;
  coordinates?: boolean;
  dataDir?: string;
  inspect?: string;
  join: string[];
  retryJoin: string[];
  retryMax: number;
  retryInterval: number;
  http?: string;
  httpToken?: string;
  logLevel: LogLevel;
  logFormat?: 'json' | 'pretty';
  /** --event-handler, parsed (in the order given) */
  eventHandlers: EventHandlerSpec[];
  eventHandlerTimeout: number;
  /** only the protocol settings some source set; the profile supplies the rest */
  protocol: ProtocolOverrides;
  /** the effective protocol configuration */
  effective: ProtocolConfig;
  /** where each set value came from: `--probe-interval`, `RXSWIM_BIND`, `file.yaml: join` */
  sources: Record<string, string>;
}

export interface ConfigSources {
  /** values from the command line, by setting key (commander's parsed options) */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** path of the config file; defaults to flags.config ?? env.RXSWIM_CONFIG */
  file?: string;
}

// ---- text to values ----

/** How a duration may be written; every duration error shows it. */
export const DURATION_SYNTAX = 'must be a duration like 500ms, 2s, 1h or 2d, or an integer number of milliseconds';

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Milliseconds from `1500`, `1500ms`, `1.5s`, `2m`, `1h`, `2d` or a sum such as
 * `1h30m` (Go-style durations, as Serf and Consul take them, plus days). Anything
 * else is returned unchanged for the caller to reject with the value shown.
 */
export function parseDuration(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  if (s.length === 0) return v;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < s.length) {
    const m = DURATION_PART.exec(s);
    if (!m) return v;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

function parseBool(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  return v;
}

function parseInt10(v: unknown): unknown {
  return typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
}

/** A text list: comma or whitespace separated (environment variables). */
function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter((x) => x.length > 0);
}

/** Tags from `k=v` items; a malformed item is reported under `label`. */
function tagsFrom(items: string[], label: string): Record<string, string> {
  try {
    return Object.fromEntries(items.map(parseTagArg));
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(label, e.message.replace(/^tag: /, ''));
    throw e;
  }
}

/** A value as typed by a flag or variable (text) or a file (YAML/JSON types), to the setting's type. */
function coerce(s: Setting, v: unknown, label: string, fromText: boolean): unknown {
  switch (s.kind) {
    case 'int':
      return parseInt10(v);
    case 'ms': {
      const ms = parseDuration(v);
      if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new ConfigError(label, `${DURATION_SYNTAX} (got ${JSON.stringify(v)})`);
      return ms;
    }
    case 'bool':
      return parseBool(v);
    case 'list':
      if (typeof v === 'string') return fromText ? splitList(v) : [v];
      return v;
    case 'tags':
      if (Array.isArray(v)) return tagsFrom(v.map(String), label);
      if (typeof v === 'string') return tagsFrom(splitList(v), label);
      return v;
    case 'repeat':
      // Scripts hold commas and spaces: a variable gives one per line, a file a string or a list.
      if (typeof v === 'string') return fromText ? v.split('\n').filter((x) => x.trim().length > 0) : [v];
      return v;
    case 'inspect':
      if (v === true || v === 'true') return 'ws://localhost:8080';
      if (v === false || v === 'false') return undefined;
      return v;
    default:
      return v;
  }
}

// ---- validation ----

function refined<T>(check: (v: T) => void) {
  return (v: T, ctx: z.core.$RefinementCtx<T>) => {
    try {
      check(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof ConfigError ? e.message.replace(/^[^:]*: /, '') : String(e) });
    }
  };
}

const str = (what = 'a string') => z.string({ error: `must be ${what}` });
const address = (rules: AddressRules) => str('HOST:PORT').check(z.superRefine(refined((v: string) => parseAddress(v, 'x', rules))));
/** --bind: a bare host means port 7946, as in memberlist */
const BIND_RULES: AddressRules = { defaultPort: 7946 };
/** --advertise: peers are told it on the wire, so an IP address */
const ADVERTISE_RULES: AddressRules = { defaultPort: 7946, ipOnly: true };
/** --http: the port must be written (a bare word is far more likely a typo than a host) */
const HTTP_RULES: AddressRules = {};
const seedList = z.array(str('a seed address').check(z.superRefine(refined((v: string) => parseSeed(v, 'x')))), { error: 'must be a list of seed addresses' });
const wholeMs = (min: number, minText: string, max: number, maxText: string) =>
  z.number({ error: DURATION_SYNTAX }).check(
    z.int({ error: 'must be a whole number of ms' }),
    z.gte(min, { error: minText }),
    z.lte(max, { error: maxText }),
  );

const agentSchema = z.strictObject({
  node: z.optional(str().check(z.minLength(1, { error: 'must not be empty' }), z.maxLength(255, { error: 'must be at most 255 characters' }))),
  bind: address(BIND_RULES),
  advertise: z.optional(address(ADVERTISE_RULES)),
  profile: z.enum(PROFILES as [Profile, ...Profile[]], { error: `must be one of ${PROFILES.join(', ')}` }),
  tags: z.record(z.string(), str('a string (quote numbers and booleans in YAML)'), { error: 'must be a mapping of tag names to strings' }),
  encrypt: z.optional(str('a base64 key').check(z.superRefine(refined((v: string) => Keyring.parseKey(v, 'x'))))),
  label: z.optional(str().check(z.superRefine(refined((v: string) => resolveLabels(v, undefined))))),
  labelRollout: z.optional(z.enum(LABEL_ROLLOUTS, { error: `must be one of ${LABEL_ROLLOUTS.join(', ')}` })),
  coordinates: z.optional(z.boolean({ error: 'must be true or false' })),
  dataDir: z.optional(str('a directory').check(z.minLength(1, { error: 'must not be empty' }))),
  inspect: z.optional(str('a ws:// URL or true').check(z.regex(/^wss?:\/\//, { error: 'must be a ws:// or wss:// URL' }))),
  join: seedList,
  retryJoin: seedList,
  retryMax: z.int({ error: 'must be an integer >= 0' }).check(z.gte(0, { error: 'must be an integer >= 0' })),
  retryInterval: wholeMs(10, 'must be at least 10 ms', 86_400_000, 'must be at most 24 h'),
  http: z.optional(address(HTTP_RULES)),
  httpToken: z.optional(str().check(z.minLength(1, { error: 'must not be empty' }))),
  eventHandlers: z.array(str('a [filter=]script string'), { error: 'must be a list of [filter=]script strings' }),
  eventHandlerTimeout: wholeMs(10, 'must be at least 10 ms', 86_400_000, 'must be at most 24 h'),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  logFormat: z.optional(z.enum(['json', 'pretty'], { error: 'must be json or pretty' })),
});

const DEFAULTS: Record<string, unknown> = {
  bind: '0.0.0.0:7946',
  profile: 'lan',
  tags: {},
  join: [],
  retryJoin: [],
  retryMax: 0,
  retryInterval: 30_000,
  eventHandlers: [],
  eventHandlerTimeout: 30_000,
  logLevel: 'info',
};

/** YAML is loaded only for a YAML config file: the parser costs ~50 ms of start-up CPU. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

/** Read a config file: JSON for `.json`, else YAML (which also reads JSON). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, `cannot read config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(path, `is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(path, 'must hold a mapping of settings (key: value)');
  return doc as Record<string, unknown>;
}

/**
 * Merge flags > environment > file > defaults, validate, and return the agent's
 * configuration. Throws ConfigError whose field is the setting as its source spells it.
 */
export function loadAgentConfig(src: ConfigSources): AgentConfig {
  const env = src.env ?? {};
  const flags = src.flags ?? {};
  const filePath = src.file ?? (flags.config as string | undefined) ?? (env[CONFIG_FLAG.env] || undefined);
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};

  // Lowest first, so that each higher source overwrites a setting whole.
  if (filePath) {
    const doc = readConfigFile(filePath);
    const name = basename(filePath);
    for (const [k, v] of Object.entries(doc)) {
      const s = BY_KEY.get(k);
      if (!s) throw new ConfigError(`${name}: ${k}`, 'is not a known setting (see docs/configuration.md)');
      const label = `${name}: ${k}`;
      const c = coerce(s, v, label, false);
      if (c === undefined) continue;
      values[k] = c;
      sources[k] = label;
    }
  }
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v === undefined || v === '') continue;
    const c = coerce(s, v, s.env, true);
    if (c === undefined) continue;
    values[s.key] = c;
    sources[s.key] = s.env;
  }
  for (const s of SETTINGS) {
    const v = flags[s.key];
    if (v === undefined) continue;
    const c = coerce(s, v, s.flag, true);
    if (c === undefined) continue;
    values[s.key] = c;
    sources[s.key] = s.flag;
  }

  const label = (key: string) => sources[key] ?? BY_KEY.get(key)?.flag ?? key;
  const agentPart: Record<string, unknown> = { ...DEFAULTS };
  const protocol: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) (BY_KEY.get(k)!.protocol ? protocol : agentPart)[k] = v;

  const parsed = agentSchema.safeParse(agentPart);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [key, ...rest] = issue.path.map(String);
    const got = rest.reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], agentPart[key!]);
    const where = rest.length > 0 ? `${label(key!)}[${rest.join('.')}]` : label(key!);
    // Secrets are never echoed: error messages end up in logs.
    const secret = key === 'encrypt' || key === 'httpToken';
    const shown = secret || issue.message.includes('(got ') ? '' : ` (got ${JSON.stringify(got)})`;
    throw new ConfigError(where, `${issue.message}${shown}`);
  }
  const a = parsed.data;
  if (a.labelRollout !== undefined && !a.label) {
    throw new ConfigError(label('labelRollout'), `needs a label to roll out (${sameSourceAs(sources.labelRollout, 'label')})`);
  }
  if (!a.node && !a.dataDir) throw new ConfigError('--node', `is required (or ${BY_KEY.get('node')!.env}, or node: in the config file) unless a data dir holds a node name`);

  let effective: ProtocolConfig;
  try {
    effective = resolveConfig(a.profile, protocol);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(label(e.field), e.message.slice(e.field.length + 2));
    throw e;
  }
  const eventHandlers = a.eventHandlers.map((h, i) => parseEventHandler(h, a.eventHandlers.length > 1 ? `${label('eventHandlers')}[${i}]` : label('eventHandlers')));
  return { ...a, eventHandlers, protocol: protocol as ProtocolOverrides, effective, sources };
}

/** `key`'s name in the form `source` (how another setting was given) uses. */
function sameSourceAs(source: string | undefined, key: string): string {
  const s = BY_KEY.get(key)!;
  if (source === undefined || source.startsWith('--')) return s.flag;
  if (source.startsWith('RXSWIM_')) return s.env;
  const i = source.lastIndexOf(': ');
  return i < 0 ? s.flag : `${source.slice(0, i)}: ${key}`;
}

/**
 * The address checks, including those that involve two settings and that the node
 * would otherwise make only once it has bound its port: so that a wildcard bind
 * without an advertise address is the same usage error whether or not the port is
 * free. Each setting's own syntax was checked by loadAgentConfig already; the Agent
 * runs this first thing in start(), before it creates the node or binds anything
 * (a config file may leave `advertise` to the environment, so loading alone does not).
 */
export function checkAddresses(cfg: Pick<AgentConfig, 'bind' | 'advertise' | 'http' | 'sources'>): void {
  const label = (key: string) => cfg.sources[key] ?? BY_KEY.get(key)!.flag;
  const bind = parseAddress(cfg.bind, label('bind'), BIND_RULES);
  if (cfg.advertise !== undefined) {
    const adv = parseAddress(cfg.advertise, label('advertise'), ADVERTISE_RULES);
    if (isWildcard(adv.host)) throw new ConfigError(label('advertise'), `must be a reachable address, not the wildcard ${adv.host}`);
  } else {
    const advLabel = sameSourceAs(cfg.sources.bind, 'advertise');
    const given = cfg.sources.bind === undefined ? `${BY_KEY.get('bind')!.flag} defaults to ${cfg.bind}` : `${label('bind')} is ${cfg.bind}`;
    if (isWildcard(bind.host)) throw new ConfigError(advLabel, `must be set to a reachable address when binding to ${bind.host} (${given})`);
    if (isIP(bind.host) === 0) throw new ConfigError(advLabel, `must be set to an IP address when binding to a host name (${given})`);
  }
  if (cfg.http !== undefined) parseAddress(cfg.http, label('http'), HTTP_RULES);
}

/** createNode()'s names for the settings it validates again, by our key. */
const NODE_FIELDS: Record<string, string> = {
  name: 'node',
  bind: 'bind',
  advertise: 'advertise',
  tags: 'tags',
  'keyring[0]': 'encrypt',
  dataDir: 'dataDir',
  label: 'label',
  labelRollout: 'labelRollout',
};

/**
 * A ConfigError raised later by the node (createNode, start) names the library's
 * option; say it as the operator set it instead.
 */
export function relabel(cfg: AgentConfig, e: ConfigError): ConfigError {
  const key = NODE_FIELDS[e.field];
  if (key === undefined) return e;
  const s = BY_KEY.get(key)!;
  return new ConfigError(cfg.sources[key] ?? s.flag, e.message.slice(e.field.length + 2));
}
