// `rxswim agent`: one long-running node with an optional HTTP API. Every
// membership event becomes one log line; SIGINT/SIGTERM leave gracefully.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Member, MemberEvent } from '../api.js';
import type { Profile } from '../config.js';
import { parseHostPort } from '../membership/address.js';
import { createNode } from '../node.js';
import { startHttpApi, type HttpApi } from '../http/server.js';
import { createLogger, type LogLevel } from './logger.js';
import { createAgentInspector } from './inspect.js';

export interface AgentOptions {
  /** may be omitted when dataDir holds the name */
  node?: string;
  bind: string;
  advertise?: string;
  join: string[];
  profile: Profile;
  http?: string;
  logLevel: LogLevel;
  logJson?: boolean;
  /** base64 key, as `serf agent -encrypt` takes it */
  encrypt?: string;
  tags: Record<string, string>;
  dataDir?: string;
  /** WebSocket URL of a Stately inspector receiver */
  inspect?: string;
}

function memberFields(m: Member) {
  return { name: m.name, address: m.address, port: m.port, state: m.state, incarnation: m.incarnation };
}

export async function runAgent(opts: AgentOptions): Promise<void> {
  const log = createLogger(opts.logLevel, opts.logJson);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const inspector = opts.inspect ? createAgentInspector(opts.inspect) : undefined;
  const node = createNode({
    ...(inspector ? { inspect: inspector.inspect } : {}),
    ...(opts.node ? { name: opts.node } : {}),
    ...(opts.encrypt ? { keyring: [opts.encrypt] } : {}),
    ...(Object.keys(opts.tags).length > 0 ? { tags: opts.tags } : {}),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    bind: opts.bind,
    ...(opts.advertise ? { advertise: opts.advertise } : {}),
    profile: opts.profile,
    logger: log,
    registry,
  });
  node.events$.subscribe((e: MemberEvent) => log.info({ event: e.type, member: memberFields(e.member) }, `${e.member.name} ${e.type}`));
  await node.start();
  log.info(
    { event: 'started', member: memberFields(node.localMember), profile: opts.profile, encrypted: node.keyring.enabled },
    `agent ${node.name} started`,
  );

  let http: HttpApi | undefined;
  if (opts.http) {
    const { host, port } = parseHostPort(opts.http, '--http');
    http = await startHttpApi({ host, port, members: () => node.members(), registry });
    log.info({ event: 'http', address: `${http.address.address}:${http.address.port}` }, 'HTTP API listening');
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'leaving', signal }, 'leaving the cluster');
    await node.leave();
    await http?.close();
    inspector?.stop();
    log.info({ event: 'stopped' }, 'agent stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  if (opts.join.length > 0) {
    try {
      const n = await node.join(opts.join);
      log.info({ event: 'join', seeds: opts.join, contacted: n }, `joined via ${n} of ${opts.join.length} seeds`);
    } catch (e) {
      log.error({ event: 'join_failed', err: (e as Error).message }, 'join failed');
      await node.stop();
      await http?.close();
      inspector?.stop();
      process.exit(2);
    }
  }
}
