#!/usr/bin/env node
// rxswim command line: agent, members, cluster.
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROFILES, type Profile } from '../config.js';
import { ConfigError, JoinError } from '../errors.js';
import { runAgent } from './agent.js';
import { runCluster } from './cluster.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { runMembers } from './members.js';
import { parseTagArg } from '../membership/tags.js';

function intArg(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

const program = new Command()
  .name('rxswim')
  .description('SWIM cluster membership and failure detection, wire-compatible with HashiCorp memberlist and Serf')
  .showHelpAfterError();

program
  .command('agent')
  .description('run a cluster member')
  .option('--node <name>', 'unique node name (may be omitted when --data-dir remembers it)')
  .option('--bind <host:port>', 'address to bind UDP and TCP on', '0.0.0.0:7946')
  .option('--advertise <host:port>', 'address other members use to reach this one')
  .option('--join <host:port...>', 'seed members to join (repeatable)', [])
  .addOption(new Option('--profile <profile>', 'memberlist timing preset').choices(PROFILES as string[]).default('lan'))
  .option('--http <host:port>', 'serve the HTTP API (GET /v1/members, /metrics)')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as unknown as string[]).default('info'))
  .addOption(new Option('--log-format <format>', 'log format (default: json unless stdout is a terminal)').choices(['json', 'pretty']))
  .option('--encrypt <base64key>', 'encrypt all traffic with this AES key (16, 24 or 32 bytes, base64), as serf agent -encrypt')
  .option('--tag <key=value>', 'a Serf-style tag (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--data-dir <dir>', 'keep the node name and incarnation here across restarts')
  .option('--inspect [url]', 'send XState inspection events of every member actor to a Stately inspector over WebSocket', false)
  .action(async (o: { node?: string; bind: string; advertise?: string; join: string[]; profile: Profile; http?: string; logLevel: LogLevel; logFormat?: string; encrypt?: string; tag: string[]; dataDir?: string; inspect: string | boolean }) => {
    if (!o.node && !o.dataDir) throw new ConfigError('--node', 'is required unless --data-dir holds a node name');
    await runAgent({
      ...(o.node ? { node: o.node } : {}),
      ...(o.encrypt ? { encrypt: o.encrypt } : {}),
      ...(o.dataDir ? { dataDir: o.dataDir } : {}),
      ...(o.inspect ? { inspect: o.inspect === true ? 'ws://localhost:8080' : o.inspect } : {}),
      tags: Object.fromEntries(o.tag.map(parseTagArg)),
      bind: o.bind,
      ...(o.advertise ? { advertise: o.advertise } : {}),
      join: o.join,
      profile: o.profile,
      ...(o.http ? { http: o.http } : {}),
      logLevel: o.logLevel,
      ...(o.logFormat ? { logJson: o.logFormat === 'json' } : {}),
    });
  });

program
  .command('members')
  .description("list a running agent's members")
  .option('--http <host:port>', "the agent's HTTP address", '127.0.0.1:8946')
  .option('--json', 'print JSON', false)
  .addOption(new Option('--status <state>', 'only members in this state').choices(['alive', 'suspect', 'dead', 'left']))
  .action(async (o: { http: string; json: boolean; status?: string }) => {
    process.exitCode = await runMembers(o);
  });

program
  .command('cluster')
  .description('run a local demo cluster on loopback and print its events')
  .option('--size <n>', 'number of agents', intArg('--size', 1, 64), 4)
  .option('--host <ip>', 'loopback address to bind', '127.0.0.1')
  .option('--base-port <port>', 'first agent port (HTTP on port+1000)', intArg('--base-port', 1, 64000), 7946)
  .addOption(new Option('--profile <profile>', 'memberlist timing preset').choices(PROFILES as string[]).default('local'))
  .action(async (o: { size: number; host: string; basePort: number; profile: string }) => {
    process.exitCode = await runCluster(o);
  });

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof JoinError) {
    process.stderr.write(`rxswim: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`rxswim: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
