#!/usr/bin/env node
// rxswim command line: the agent, the operator commands that talk to its HTTP API,
// and the local demo cluster. This file is the only one that ends the process: every
// command's result or error becomes an exit code through the one table in exit.ts
// (docs/cli.md: 0 ok, 1 a failure at run time, 2 usage, configuration or the
// agent's seeds), and signal handlers are installed here and by the long-running
// commands' runners, never by the Agent class.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PROFILES } from '../config.js';
import { CONFIG_FLAG, loadAgentConfig, SETTINGS, type Setting } from './agent-config.js';
import {
  CLIENT_ENV,
  DEFAULT_HTTP,
  eventCommand,
  forceLeaveCommand,
  infoCommand,
  joinCommand,
  KEY_ACTIONS,
  keysCommand,
  leaveCommand,
  membersCommand,
  monitorCommand,
  rttCommand,
  tagsCommand,
  type KeyAction,
} from './client.js';
import { errorLine, EXIT, exitCodeOf, exitCodeOfOutcome, type ExitCode } from './exit.js';
import { queryCommand, type QueryCommandOptions } from './query-command.js';
import { keysClusterCommand } from './keys-cluster-command.js';

/** The version in rxswim's package.json: the nearest one up from this file (src/cli, dist/src/cli or the bundle in dist/cli). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rxswim' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function intArg(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

/** A commander option for one agent setting. No defaults here: an unset flag must stay unset, so that the environment and the file can supply it. */
function settingOption(s: Setting): Option {
  const dflt = s.defaultText ? ` (default: ${s.defaultText})` : '';
  const help = `${s.description}${dflt} [env ${s.env}]`;
  let o: Option;
  switch (s.kind) {
    case 'list':
      o = new Option(`${s.flag} <${s.arg}...>`, help);
      break;
    case 'repeat':
    case 'tags':
      o = new Option(`${s.flag} <${s.arg}>`, help).argParser((v: string, acc: string[] | undefined) => [...(acc ?? []), v]);
      break;
    case 'bool':
      o = new Option(`${s.flag} [${s.arg}]`, help);
      break;
    case 'inspect':
      o = new Option(`${s.flag} [${s.arg}]`, help);
      break;
    default:
      o = new Option(`${s.flag} <${s.arg}>`, help);
  }
  if (s.choices) o.choices(s.choices as string[]);
  return o.helpGroup(`${s.group} options:`);
}

const program = new Command()
  .name('rxswim')
  .description('SWIM cluster membership and failure detection, wire-compatible with HashiCorp memberlist and Serf')
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .showHelpAfterError()
  // Throw instead of exiting, so that usage errors exit 2 like configuration errors.
  .exitOverride();

const agent = program
  .command('agent')
  .description('run a cluster member (settings: flags > RXSWIM_* environment > --config file; see docs/configuration.md)')
  .addOption(new Option(`${CONFIG_FLAG.flag} <file>`, `read settings from a JSON or YAML file [env ${CONFIG_FLAG.env}]`).helpGroup('Agent options:'));
const options = SETTINGS.map((s) => {
  const o = settingOption(s);
  agent.addOption(o);
  return [s, o] as const;
});
agent.action(async (o: Record<string, unknown>) => {
  const flags: Record<string, unknown> = { config: o.config };
  for (const [s, opt] of options) flags[s.key] = o[opt.attributeName()];
  const cfg = loadAgentConfig({ flags, env: process.env });
  // Loaded on demand: the node, metrics and state machines are not needed by the
  // client commands, which then start in a fraction of the time.
  const { Agent } = await import('./agent.js');
  const a = new Agent(cfg, { processMetrics: true });
  // SIGINT/SIGTERM: leave gracefully; a second one: stop at once.
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signals++ === 0) void a.leave(sig);
    else void a.stop(`${sig} again`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await a.start(); // a rejection is reported and mapped below, like any command's error
  process.exitCode = exitCodeOfOutcome(await a.done);
});

/** --http and --token, shared by every command that talks to an agent. */
function clientCommand(name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--http <host:port>', `the agent's HTTP API (default: ${DEFAULT_HTTP}) [env ${CLIENT_ENV.http}]`)
    .option('--token <token>', `bearer token, when the agent has --http-token [env ${CLIENT_ENV.token}]`);
}

clientCommand('members', "list a running agent's members")
  .option('--json', 'print JSON', false)
  .addOption(new Option('--status <state>', 'only members in this state').choices(['alive', 'suspect', 'dead', 'left']))
  .action(async (o: { http?: string; token?: string; json: boolean; status?: string }) => {
    process.exitCode = await membersCommand(o);
  });

clientCommand('info', "show the agent's own member, health, member counts and probe RTT")
  .option('--json', 'print JSON', false)
  .action(async (o: { http?: string; token?: string; json: boolean }) => {
    process.exitCode = await infoCommand(o);
  });

clientCommand('rtt', 'estimated round trip between two members from their network coordinates (as serf rtt; OTHER defaults to the agent)')
  .argument('<node>', 'a member')
  .argument('[other]', 'another member (default: the agent itself)')
  .option('--json', 'print JSON', false)
  .action(async (a: string, b: string | undefined, o: { http?: string; token?: string; json: boolean }) => {
    process.exitCode = await rttCommand(b === undefined ? [a] : [a, b], o);
  });

clientCommand('join', 'make the agent join more seeds (host:port, host, [v6]:port, dns:NAME[:PORT])')
  .argument('<addr...>', 'seed addresses')
  .action(async (addrs: string[], o: { http?: string; token?: string }) => {
    process.exitCode = await joinCommand(addrs, o);
  });

clientCommand('leave', 'make the agent leave the cluster gracefully and stop')
  .option('--no-wait', 'return once the agent has accepted, without waiting for it to stop')
  .action(async (o: { http?: string; token?: string; wait: boolean }) => {
    process.exitCode = await leaveCommand(o);
  });

clientCommand('event', "send a Serf user event through the agent (as `serf event`)")
  .argument('<name>', 'event name')
  .argument('[payload]', 'payload (text); name plus payload at most 512 bytes')
  .option('--no-coalesce', "don't let Serf's handlers coalesce this event with others of its name")
  .action(async (name: string, payload: string | undefined, o: { http?: string; token?: string; coalesce: boolean }) => {
    process.exitCode = await eventCommand(name, payload, o);
  });

clientCommand('force-leave', 'mark a failed member left across the cluster (as `serf force-leave`); --prune also removes it from the member lists')
  .argument('<node>', 'the member name')
  .option('--prune', 'remove the member from every member list, not just mark it left', false)
  .action(async (node: string, o: { http?: string; token?: string; prune: boolean }) => {
    process.exitCode = await forceLeaveCommand(node, o);
  });

const collect = (v: string, acc: string[] | undefined) => [...(acc ?? []), v];
clientCommand('tags', "change the agent's tags live (as `serf tags`); with no option, print them")
  .option('--set <key=value>', 'create or change a tag (repeatable)', collect)
  .option('--delete <key>', 'remove a tag, if present (repeatable)', collect)
  .option('--json', 'print the resulting tags as JSON', false)
  .action(async (o: { http?: string; token?: string; set?: string[]; delete?: string[]; json: boolean }) => {
    process.exitCode = await tagsCommand(o);
  });

clientCommand('query', "send a Serf query through the agent and print the acks and responses (as `serf query`)")
  .argument('<name>', 'query name')
  .argument('[payload]', 'payload (text)')
  .option('--timeout <duration>', "how long to collect replies (default: Serf's, gossip interval × 16 × ceil(log10(N+1)))")
  .option('--node <name>', 'only this member answers (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .option('--tag <key=regexp>', 'only members whose tag matches answer (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
  .option('--no-ack', 'do not ask for acks')
  .option('--relay-factor <n>', 'each answer also through n other members (0-255)')
  .option('--json', 'print the replies and the summary as JSON lines', false)
  .action(async (name: string, payload: string | undefined, o: QueryCommandOptions) => {
    process.exitCode = await queryCommand(name, payload, o);
  });

clientCommand('keys', 'list, install, use (make primary) or remove encryption keys')
  .addArgument(new Argument('<action>', 'what to do').choices(KEY_ACTIONS as unknown as string[]))
  .argument('[key]', 'base64 key (install, use, remove)')
  .option('--json', 'print JSON', false)
  .option('--cluster', "every member's keyring, through Serf's key queries (as `serf keys`), not only the agent's", false)
  .action(async (action: KeyAction, key: string | undefined, o: { http?: string; token?: string; json: boolean; cluster: boolean }) => {
    process.exitCode = o.cluster ? await keysClusterCommand(action, key, o) : await keysCommand(action, key, o);
  });

clientCommand('monitor', "print the agent's membership events as they happen (Ctrl-C to stop)")
  .option('--json', 'print each event as a JSON line', false)
  .action(async (o: { http?: string; token?: string; json: boolean }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort(new Error('interrupted')));
    process.once('SIGTERM', () => stop.abort(new Error('terminated')));
    process.exitCode = await monitorCommand(o, undefined, stop.signal);
  });

program
  .command('cluster')
  .description('run a local demo cluster on loopback: a live view on a terminal, event lines otherwise')
  .option('--size <n>', 'number of agents', intArg('--size', 1, 64), 4)
  .option('--host <ip>', 'loopback address to bind', '127.0.0.1')
  .option('--base-port <port>', 'first agent port (HTTP on port+1000)', intArg('--base-port', 1, 64000), 7946)
  .addOption(new Option('--profile <profile>', 'memberlist timing preset').choices(PROFILES as string[]).default('local'))
  .option('--plain', 'print event lines even on a terminal', false)
  .action(async (o: { size: number; host: string; basePort: number; profile: string; plain: boolean }) => {
    const { runCluster } = await import('./cluster.js');
    process.exitCode = await runCluster(o);
  });

function durationArg(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new InvalidArgumentError('--duration must look like 120s, 2m or 90000ms');
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

function probability(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('--loss must be a probability in [0, 1)');
  return n;
}

program
  .command('simulate')
  .description('simulate a cluster in virtual time with the real protocol code; report detection, dissemination and load')
  .option('--nodes <n>', 'cluster size', intArg('--nodes', 2, 5000), 100)
  .option('--loss <p>', 'probability that a datagram is lost', probability, 0)
  .addOption(new Option('--profile <profile>', 'memberlist timing preset').choices(PROFILES as string[]).default('lan'))
  .option('--crash <k>', 'nodes to crash 10 s into the run (at most --nodes minus 1: node-0 and the late joiner survive)', intArg('--crash', 0, 5000), 1)
  .option('--seed <s>', 'random seed (same seed, same run)', intArg('--seed', 0, 2 ** 31 - 1), 1)
  .addOption(new Option('--duration <d>', 'protocol time to run after convergence (e.g. 120s, 2m; at least 11s, 6s with --crash 0)').argParser(durationArg).default(120_000, '120s'))
  .option('--json', 'print the report as JSON', false)
  .option('--svg <file>', 'write a chart of members seen alive over time, the join, the crash and its detection (creates the folder)')
  .action(async (o: { nodes: number; loss: number; profile: 'lan' | 'wan' | 'local'; crash: number; seed: number; duration: number; json: boolean; svg?: string }) => {
    const { runSimulate } = await import('./simulate.js');
    process.exitCode = await runSimulate({ ...o, durationMs: o.duration });
  });

/** The one place the process ends: after stdout and stderr have been flushed. */
function exit(code: ExitCode): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

program.parseAsync().then(
  () => exit((process.exitCode as ExitCode | undefined) ?? EXIT.ok),
  (e: unknown) => {
    // commander has printed its own message (or the help, or the version) already
    if (!(e instanceof CommanderError)) process.stderr.write(errorLine(e));
    exit(exitCodeOf(e));
  },
);
