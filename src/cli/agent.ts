// `rxswim agent`: one long-running node with an optional HTTP API. Every
// membership event becomes one log line; SIGINT/SIGTERM (or POST /v1/leave) leave
// gracefully. Joining, with dns: seeds and retries, is done here on top of
// node.join(), so the library keeps one plain join primitive.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Member, MemberEvent } from '../api.js';
import { ConfigError, JoinError } from '../errors.js';
import { startHttpApi, type HttpApi } from '../http/server.js';
import { formatHostPort, parseHostPort } from '../membership/address.js';
import { createNode } from '../node.js';
import { relabel, type AgentConfig } from './agent-config.js';
import { createAgentInspector } from './inspect.js';
import { createLogger } from './logger.js';
import { joinOnce, joinWithRetry, parseSeed, type Resolver } from './seeds.js';

/** Exit codes of `rxswim agent` (docs/cli.md). */
export const AGENT_EXIT = { ok: 0, error: 1, configOrJoin: 2 } as const;

function memberFields(m: Member) {
  return { name: m.name, address: m.address, port: m.port, state: m.state, incarnation: m.incarnation };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export async function runAgent(cfg: AgentConfig, deps: { resolver?: Resolver } = {}): Promise<void> {
  try {
    await agent(cfg, deps);
  } catch (e) {
    throw e instanceof ConfigError ? relabel(cfg, e) : e;
  }
}

async function agent(cfg: AgentConfig, deps: { resolver?: Resolver }): Promise<void> {
  const log = createLogger(cfg.logLevel, cfg.logFormat === undefined ? undefined : cfg.logFormat === 'json');
  log.debug({ event: 'config', sources: cfg.sources, protocol: cfg.effective }, 'configuration');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const inspector = cfg.inspect ? createAgentInspector(cfg.inspect) : undefined;
  const node = createNode({
    ...(inspector ? { inspect: inspector.inspect } : {}),
    ...(cfg.node ? { name: cfg.node } : {}),
    ...(cfg.encrypt ? { keyring: [cfg.encrypt] } : {}),
    ...(Object.keys(cfg.tags).length > 0 ? { tags: cfg.tags } : {}),
    ...(cfg.dataDir ? { dataDir: cfg.dataDir } : {}),
    bind: cfg.bind,
    ...(cfg.advertise ? { advertise: cfg.advertise } : {}),
    profile: cfg.profile,
    config: cfg.protocol,
    logger: log,
    registry,
  });
  node.events$.subscribe((e: MemberEvent) => log.info({ event: e.type, member: memberFields(e.member) }, `${e.member.name} ${e.type}`));
  await node.start();
  log.info(
    { event: 'started', member: memberFields(node.localMember), profile: cfg.profile, encrypted: node.keyring.enabled },
    `agent ${node.name} started`,
  );

  // Ready (GET /v1/health) once started and, when seeds were given, joined.
  const wantsJoin = cfg.join.length > 0 || cfg.retryJoin.length > 0;
  let joined = !wantsJoin;
  let stopping = false;
  const retryAbort = new AbortController();
  const markJoined = () => {
    joined = true;
    retryAbort.abort(new Error('joined'));
  };

  let http: HttpApi | undefined;
  const shutdown = async (reason: string, code: number = AGENT_EXIT.ok) => {
    if (stopping) return;
    stopping = true;
    retryAbort.abort(new Error('stopping'));
    log.info({ event: 'leaving', reason }, 'leaving the cluster');
    await node.leave();
    await http?.close();
    inspector?.stop();
    log.info({ event: 'stopped' }, 'agent stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  if (cfg.http) {
    const { host, port } = parseHostPort(cfg.http, 'http');
    if (!cfg.httpToken && !isLoopback(host)) {
      log.warn({ event: 'http_open', address: cfg.http }, 'HTTP API on a non-loopback address without --http-token: anyone who reaches it can make the agent join, leave or change keys');
    }
    http = await startHttpApi({
      host,
      port,
      registry,
      members: () => node.members(),
      self: () => node.localMember,
      info: () => ({ profile: cfg.profile, healthScore: node.healthScore, encrypted: node.keyring.enabled, pid: process.pid, protocol: cfg.effective }),
      events$: node.events$,
      health: () =>
        stopping ? { ok: false, reason: 'leaving' } : joined ? { ok: true } : { ok: false, reason: 'not joined yet' },
      join: async (seeds) => {
        const n = await joinOnce(node, seeds.map((s) => parseSeed(s, 'seeds')), deps.resolver);
        log.info({ event: 'join', seeds, contacted: n, via: 'http' }, `joined via ${n} seeds`);
        markJoined();
        return n;
      },
      leave: () => void shutdown('POST /v1/leave'),
      keyring: node.keyring,
      ...(cfg.httpToken ? { token: cfg.httpToken } : {}),
    });
    log.info({ event: 'http', address: formatHostPort(http.address.address, http.address.port), auth: cfg.httpToken !== undefined }, 'HTTP API listening');
  }

  if (cfg.join.length > 0) {
    try {
      const n = await joinOnce(node, cfg.join.map((s) => parseSeed(s)), deps.resolver);
      log.info({ event: 'join', seeds: cfg.join, contacted: n }, `joined via ${n} of ${cfg.join.length} seeds`);
      if (cfg.retryJoin.length === 0) markJoined();
    } catch (e) {
      log.error({ event: 'join_failed', err: (e as Error).message }, 'join failed');
      stopping = true;
      await node.stop();
      await http?.close();
      inspector?.stop();
      process.exit(AGENT_EXIT.configOrJoin);
    }
  }

  if (cfg.retryJoin.length > 0) {
    const seeds = cfg.retryJoin.map((s) => parseSeed(s));
    joinWithRetry(node, seeds, {
      max: cfg.retryMax,
      interval: cfg.retryInterval,
      signal: retryAbort.signal,
      onRetry: (attempt, err, delayMs) =>
        log.warn({ event: 'retry_join', attempt, err: err.message, retryInMs: delayMs }, `retry-join attempt ${attempt} failed; next in ${delayMs} ms`),
    }).then(
      ({ contacted, attempts }) => {
        log.info({ event: 'join', seeds: cfg.retryJoin, contacted, attempts }, `joined via ${contacted} seeds after ${attempts} attempt(s)`);
        markJoined();
      },
      (e: unknown) => {
        if (retryAbort.signal.aborted) return; // joined another way, or shutting down
        log.error({ event: 'join_failed', err: (e as Error).message, attempts: cfg.retryMax }, 'retry-join gave up');
        void shutdown(e instanceof JoinError ? 'retry-join exhausted' : 'retry-join error', AGENT_EXIT.configOrJoin);
      },
    );
  }
}
