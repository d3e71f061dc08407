// The rxswim agent, in process: one long-running node with an optional HTTP API,
// joining (with dns: seeds and retries) on top of node.join(), and one log line per
// membership event. `rxswim agent` is this class plus signal handling and exit codes
// (main.ts); the class itself never exits the process and installs no signal
// handlers, so it can run inside a test or another program:
//
//   const agent = new Agent(loadAgentConfig({ flags, env: process.env }));
//   await agent.start();                 // rejects with ConfigError, ListenError, JoinError
//   const outcome = await agent.done;    // { kind: 'left' | 'stopped' | 'retry-join-exhausted' | ... }
//
// start() checks every setting before it creates the node or binds anything, and on
// any failure releases whatever it had taken (sockets, HTTP server, inspector) before
// it rejects.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger as PinoLogger } from 'pino';
import type { Member, MemberEvent } from '../api.js';
import { ConfigError, JoinError, StateError } from '../errors.js';
import { startHttpApi, userEventToJson, type HttpApi } from '../http/server.js';
import { formatHostPort } from '../membership/address.js';
import { createNode, type RxSwimNode } from '../node.js';
import { clusterKeys } from '../shell/cluster-keys.js';
import { parseAddress } from './address.js';
import { checkAddresses, relabel, SETTINGS, type AgentConfig } from './agent-config.js';
import { errnoOf, ListenError } from './errors.js';
import { createLogger } from './logger.js';
import { attachEventHandlers, type AgentEventHandlers } from './agent-event-handlers.js';
import { joinOnce, joinWithRetry, parseSeed, type Resolver, type Seed } from './seeds.js';

/** How an agent's life ended; `done` resolves with it once everything is released. */
export type AgentOutcome =
  /** left the cluster gracefully when asked (leave(), POST /v1/leave) */
  | { kind: 'left'; reason: string }
  /** stopped without a leave when asked (stop()) */
  | { kind: 'stopped'; reason: string }
  /** --join: no seed answered; start() rejected with the same error */
  | { kind: 'join-failed'; error: JoinError }
  /** --retry-join gave up after --retry-max attempts; the agent left */
  | { kind: 'retry-join-exhausted'; error: JoinError; attempts: number }
  /** start() failed (a setting, a port in use) or something broke at run time */
  | { kind: 'failed'; error: Error };

export interface AgentOptions {
  /** name resolution for dns: seeds; default: the system resolver */
  resolver?: Resolver;
  /** where log lines go; default: stdout, JSON or pretty per cfg.logFormat */
  logger?: PinoLogger;
  /** registry for the node's metrics and GET /metrics; default: a new one */
  registry?: Registry;
  /**
   * Also export the Node.js process metrics (CPU, memory, event-loop lag, GC). They
   * are process-wide and prom-client cannot unregister their observers, so this is
   * for the one agent of a process (`rxswim agent`); off by default.
   */
  processMetrics?: boolean;
}

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

function memberFields(m: Member) {
  return { name: m.name, address: m.address, port: m.port, state: m.state, incarnation: m.incarnation };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** how often the event-loop lag metrics sample the loop */
const EVENT_LOOP_SAMPLE_MS = 1000;

export class Agent {
  /** Resolves once the agent has ended and released everything, with how it ended. */
  readonly done: Promise<AgentOutcome>;
  readonly log: PinoLogger;
  readonly registry: Registry;
  private resolveDone!: (o: AgentOutcome) => void;
  private phase: Phase = 'new';
  private nodeRef: RxSwimNode | undefined;
  private httpRef: HttpApi | undefined;
  private handlersRef: AgentEventHandlers | undefined;
  private inspector: ReturnType<typeof import('./inspect.js').createAgentInspector> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<AgentOutcome> | undefined;
  private stopRequested = false;
  private joined = false;
  private readonly retryAbort = new AbortController();

  constructor(
    readonly config: AgentConfig,
    private readonly options: AgentOptions = {},
  ) {
    this.log = options.logger ?? createLogger(config.logLevel, config.logFormat === undefined ? undefined : config.logFormat === 'json');
    this.registry = options.registry ?? new Registry();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** The node, once start() has created it. */
  get node(): RxSwimNode | undefined {
    return this.nodeRef;
  }

  /** The --event-handler scripts' runner, once start() has created the node (undefined without handlers). */
  get eventHandlers(): AgentEventHandlers['runner'] {
    return this.handlersRef?.runner;
  }

  /** The HTTP API's bound address (with the real port when --http asked for port 0). */
  get httpAddress(): { host: string; port: number } | undefined {
    const a = this.httpRef?.address;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  /** Ready (GET /v1/health): started and, when seeds were given, joined. */
  get ready(): boolean {
    return this.phase === 'running' && this.joined;
  }

  /**
   * Check the settings, create the node, bind, serve HTTP, and join `--join` (once;
   * `--retry-join` goes on in the background). Rejects with ConfigError (a setting,
   * named as the operator gave it), ListenError (a port in use, an address not on
   * this host) or JoinError (no --join seed answered); everything is released first
   * and `done` resolves with the same failure. Can be called once.
   */
  start(): Promise<void> {
    if (this.phase !== 'new') return Promise.reject(new StateError(`start(): the agent is ${this.phase}; it can start only once`));
    this.phase = 'starting';
    this.starting = this.run().catch(async (e: unknown) => {
      const err = this.explain(e);
      if (this.stopRequested) return; // stopped while starting: shutdown() ends it
      // Not logged: the caller reports the rejection (rxswim agent prints one line).
      await this.release();
      this.finish(err instanceof JoinError ? { kind: 'join-failed', error: err } : { kind: 'failed', error: err });
      throw err;
    });
    return this.starting;
  }

  /** Leave the cluster gracefully (gossip the leave, wait at most leaveTimeout), then release everything. */
  leave(reason = 'leave()'): Promise<AgentOutcome> {
    return this.shutdown({ kind: 'left', reason }, true);
  }

  /**
   * Stop at once without a leave (peers will see a failure), then release everything.
   * During a leave, it cuts the leave short (the outcome stays the leave's).
   */
  stop(reason = 'stop()'): Promise<AgentOutcome> {
    return this.shutdown({ kind: 'stopped', reason }, false);
  }

  // ---- starting ----

  private async run(): Promise<void> {
    const cfg = this.config;
    const log = this.log;
    // Everything the operator typed, before anything is created, bound or written.
    checkAddresses(cfg);
    const label = (key: string) => cfg.sources[key] ?? SETTINGS.find((s) => s.key === key)!.flag;
    const seeds = (key: 'join' | 'retryJoin'): Seed[] => cfg[key].map((s, i) => parseSeed(s, `${label(key)}[${i}]`));
    const joinSeeds = seeds('join');
    const retrySeeds = seeds('retryJoin');
    const httpAt = cfg.http === undefined ? undefined : parseAddress(cfg.http, label('http'));

    log.debug({ event: 'config', sources: cfg.sources, protocol: cfg.effective }, 'configuration');
    // prom-client samples event-loop lag with a timer every 10 ms by default: 100 wakeups a
    // second on every host of a fleet, where the protocol needs about 6. Once a second
    // still shows a stalled loop in nodejs_eventloop_lag_* (issue 11).
    if (this.options.processMetrics) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Loaded only when asked for: the inspector client costs ~100 ms of start-up CPU.
    this.inspector = cfg.inspect ? (await import('./inspect.js')).createAgentInspector(cfg.inspect) : undefined;
    const node = createNode({
      ...(this.inspector ? { inspect: this.inspector.inspect } : {}),
      ...(cfg.node ? { name: cfg.node } : {}),
      ...(cfg.encrypt ? { keyring: [cfg.encrypt] } : {}),
      ...(cfg.label ? { label: cfg.label } : {}),
      ...(cfg.labelRollout ? { labelRollout: cfg.labelRollout } : {}),
      ...(Object.keys(cfg.tags).length > 0 ? { tags: cfg.tags } : {}),
      ...(cfg.dataDir ? { dataDir: cfg.dataDir } : {}),
      ...(cfg.coordinates === false ? { coordinates: false } : {}),
      bind: cfg.bind,
      ...(cfg.advertise ? { advertise: cfg.advertise } : {}),
      profile: cfg.profile,
      config: cfg.protocol,
      logger: log,
      registry: this.registry,
    });
    this.nodeRef = node;
    this.handlersRef = attachEventHandlers(node, { handlers: cfg.eventHandlers, timeoutMs: cfg.eventHandlerTimeout, log, registry: this.registry });
    node.events$.subscribe((e: MemberEvent) => log.info({ event: e.type, member: memberFields(e.member) }, `${e.member.name} ${e.type}`));
    node.serfEvents$.subscribe((e) => {
      const { type, time: _, ...fields } = userEventToJson(e);
      log.info({ event: type, ...fields }, `user event ${e.name}`);
    });
    // Acked already when asked; as Serf's agent, answered only by --event-handler query scripts (agent-event-handlers.ts).
    node.serfQueries$.subscribe((q) => log.info({ event: 'query', name: q.name, from: q.from, ltime: String(q.ltime), payload: Buffer.from(q.payload).toString('utf8') }, `query ${q.name} from ${q.from}`));
    try {
      await node.start();
    } catch (e) {
      if (e instanceof ConfigError || e instanceof StateError) throw e;
      throw new ListenError(label('bind'), cfg.bind, errnoOf(e), { cause: e });
    }
    if (this.stopRequested) return;
    this.handlersRef.started();
    log.info(
      { event: 'started', member: memberFields(node.localMember), profile: cfg.profile, encrypted: node.keyring.enabled, ...codeCacheField() },
      `agent ${node.name} started`,
    );

    const wantsJoin = joinSeeds.length > 0 || retrySeeds.length > 0;
    this.joined = !wantsJoin;
    if (httpAt) {
      if (!cfg.httpToken && !isLoopback(httpAt.host)) {
        log.warn({ event: 'http_open', address: cfg.http }, 'HTTP API on a non-loopback address without --http-token: anyone who reaches it can make the agent join, leave or change keys');
      }
      try {
        this.httpRef = await startHttpApi({
          host: httpAt.host,
          port: httpAt.port,
          registry: this.registry,
          members: () => node.members(),
          self: () => node.localMember,
          coordinates: () => node.coordinates(),
          info: () => ({ profile: cfg.profile, healthScore: node.healthScore, encrypted: node.keyring.enabled, pid: process.pid, protocol: cfg.effective }),
          events$: node.events$,
          serfEvents$: node.serfEvents$,
          serfQuery: (name, payload, opts) => {
            const replies$ = node.serfQuery(name, payload, opts);
            log.info({ event: 'query_sent', name, via: 'http' }, `sent query ${name}`);
            return replies$;
          },
          serfEvent: (name, payload, coalesce) => {
            const ltime = node.serfEvent(name, payload, { coalesce });
            log.info({ event: 'user_event_sent', name, ltime: String(ltime), coalesce, via: 'http' }, `sent user event ${name}`);
            return ltime;
          },
          forceLeave: (name, prune) => {
            const ltime = node.forceLeave(name, { prune });
            log.info({ event: 'force_leave', node: name, prune, ltime: String(ltime), via: 'http' }, `force-leave ${name}${prune ? ' (prune)' : ''}`);
            return ltime;
          },
          tags: {
            get: () => node.localMember.tags,
            set: (tags) => {
              node.setTags(tags);
              log.info({ event: 'tags', tags, via: 'http' }, 'tags updated');
            },
          },
          health: () =>
            this.phase === 'stopping' || this.stopRequested ? { ok: false, reason: 'leaving' } : this.joined ? { ok: true } : { ok: false, reason: 'not joined yet' },
          join: async (given) => {
            const n = await joinOnce(node, given.map((s, i) => parseSeed(s, `seeds[${i}]`)), this.options.resolver);
            log.info({ event: 'join', seeds: given, contacted: n, via: 'http' }, `joined via ${n} seeds`);
            this.markJoined();
            return n;
          },
          leave: () => void this.leave('POST /v1/leave'),
          keyring: node.keyring,
          clusterKeys: (op, key) => {
            log.info({ event: 'key_query_sent', op, via: 'http' }, `sent key query ${op}`);
            return clusterKeys(node, op, key);
          },
          ...(cfg.httpToken ? { token: cfg.httpToken } : {}),
        });
      } catch (e) {
        throw new ListenError(label('http'), cfg.http!, errnoOf(e), { cause: e });
      }
      const a = this.httpRef.address;
      log.info({ event: 'http', address: formatHostPort(a.address, a.port), auth: cfg.httpToken !== undefined }, 'HTTP API listening');
    }
    if (this.stopRequested) return;

    if (joinSeeds.length > 0) {
      try {
        const n = await joinOnce(node, joinSeeds, this.options.resolver);
        log.info({ event: 'join', seeds: cfg.join, contacted: n }, `joined via ${n} of ${cfg.join.length} seeds`);
        if (retrySeeds.length === 0) this.markJoined();
      } catch (e) {
        if (e instanceof JoinError) log.error({ event: 'join_failed', err: e.message }, 'join failed');
        throw e;
      }
    }
    if (this.stopRequested) return;
    this.phase = 'running';
    if (retrySeeds.length > 0) this.retryJoin(node, retrySeeds);
  }

  private retryJoin(node: RxSwimNode, seeds: Seed[]): void {
    const cfg = this.config;
    const log = this.log;
    joinWithRetry(node, seeds, {
      max: cfg.retryMax,
      interval: cfg.retryInterval,
      signal: this.retryAbort.signal,
      ...(this.options.resolver ? { resolver: this.options.resolver } : {}),
      onRetry: (attempt, err, delayMs) =>
        log.warn({ event: 'retry_join', attempt, err: err.message, retryInMs: delayMs }, `retry-join attempt ${attempt} failed; next in ${delayMs} ms`),
    }).then(
      ({ contacted, attempts }) => {
        log.info({ event: 'join', seeds: cfg.retryJoin, contacted, attempts }, `joined via ${contacted} seeds after ${attempts} attempt(s)`);
        this.markJoined();
      },
      (e: unknown) => {
        if (this.retryAbort.signal.aborted) return; // joined another way, or shutting down
        if (e instanceof JoinError) {
          log.error({ event: 'join_failed', err: e.message, attempts: cfg.retryMax }, 'retry-join gave up');
          void this.shutdown({ kind: 'retry-join-exhausted', error: e, attempts: cfg.retryMax }, true);
        } else {
          const err = e instanceof Error ? e : new Error(String(e));
          log.error({ event: 'join_failed', err: err.message }, 'retry-join failed');
          void this.shutdown({ kind: 'failed', error: err }, true);
        }
      },
    );
  }

  private markJoined(): void {
    this.joined = true;
    this.retryAbort.abort(new Error('joined'));
  }

  /** A failure of start(), as the operator should read it. */
  private explain(e: unknown): Error {
    if (e instanceof ConfigError) return relabel(this.config, e);
    return e instanceof Error ? e : new Error(String(e));
  }

  // ---- ending ----

  private shutdown(outcome: AgentOutcome, graceful: boolean): Promise<AgentOutcome> {
    if (this.stopping) {
      // stop() during a leave (a second Ctrl-C): cut the leave's wait short.
      if (!graceful) void this.nodeRef?.stop().catch(() => undefined);
      return this.stopping;
    }
    this.stopRequested = true;
    this.retryAbort.abort(new Error('stopping'));
    this.stopping = (async () => {
      // Let a start() under way get to a point where what it took can be released.
      await this.starting?.catch(() => undefined);
      if (this.phase === 'stopped') return this.done; // start() failed and released everything
      this.phase = 'stopping';
      const reason = 'reason' in outcome ? outcome.reason : outcome.kind;
      this.log.info({ event: 'leaving', reason, graceful }, graceful ? 'leaving the cluster' : 'stopping without a leave');
      try {
        if (graceful) await this.nodeRef?.leave();
      } catch (e) {
        this.log.warn({ event: 'leave_failed', err: (e as Error).message }, 'graceful leave failed; stopping');
      }
      await this.release();
      this.log.info({ event: 'stopped' }, 'agent stopped');
      this.finish(outcome);
      return this.done;
    })();
    return this.stopping;
  }

  /** Release everything start() took; safe to call with any of it missing. */
  private async release(): Promise<void> {
    this.retryAbort.abort(new Error('stopping'));
    const errors: unknown[] = [];
    // First: a script must not outlive the agent, nor start for the node's last events.
    await this.handlersRef?.stop().catch((e: unknown) => errors.push(e));
    await this.nodeRef?.stop().catch((e: unknown) => errors.push(e));
    await this.httpRef?.close().catch((e: unknown) => errors.push(e));
    try {
      this.inspector?.stop();
    } catch (e) {
      errors.push(e);
    }
    for (const e of errors) this.log.warn({ event: 'release_failed', err: (e as Error).message }, 'error while releasing the agent');
  }

  private finish(o: AgentOutcome): void {
    this.phase = 'stopped';
    this.resolveDone(o);
  }
}

/**
 * What became of the CLI bundle's V8 code cache (scripts/cli-loader.mjs): accepted,
 * rejected (another Node or other V8 flags: the agent compiled its code instead), or
 * absent. Nothing when the agent runs without the loader (from dist/src or the sources).
 */
function codeCacheField(): { codeCache?: string } {
  const v = (globalThis as Record<symbol, unknown>)[Symbol.for('rxswim.codeCache')];
  return typeof v === 'string' ? { codeCache: v } : {};
}
