// `rxswim keys --cluster list|install|use|remove [KEY]`: Serf's `serf keys`, through
// the agent's POST /v1/keys/cluster. Prints what `serf keys` prints: for a list each
// key with how many members hold it, for a failure each failing member with its
// message; exit 1 when any member failed or did not answer. --json prints the counts.
import { ConfigError } from '../errors.js';
import type { ClusterKeyOutcome } from '../shell/cluster-keys.js';
import { Client, EXIT, runClient, type ClientOptions, type Io, type KeyAction } from './client.js';

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

const DOING: Record<KeyAction, [string, string, string]> = {
  list: ['Asking all members for installed keys...', 'Keys gathered, listing cluster keys...', 'Failed to gather member keys'],
  install: ['Installing key on all members...', 'Successfully installed key!', 'Error installing key'],
  use: ['Changing primary key on all members...', 'Successfully changed primary key!', 'Error changing primary key'],
  remove: ['Removing key on all members...', 'Successfully removed key!', 'Error removing key'],
};

export async function keysClusterCommand(action: KeyAction, key: string | undefined, opts: ClientOptions & { json?: boolean }, io: Io = stdio): Promise<number> {
  return runClient(
    'keys --cluster',
    async () => {
      if (action === 'list' && key !== undefined) throw new ConfigError('keys list', 'takes no KEY');
      if (action !== 'list' && key === undefined) throw new ConfigError(`keys ${action}`, 'needs a KEY (base64)');
      if (key !== undefined) {
        // A malformed key is a usage error here (exit 2), before any member is asked.
        const { Keyring } = await import('../security/keyring.js');
        Keyring.parseKey(key, 'KEY');
      }
      const [asking, done, failed] = DOING[action];
      if (!opts.json) io.err(`==> ${asking}\n`);
      // The agent waits for Serf's query timeout at most (seconds); leave it room.
      const r = await new Client(opts).call<ClusterKeyOutcome>('POST', '/v1/keys/cluster', { op: action, ...(key !== undefined ? { key } : {}) }, 120_000);
      if (opts.json) {
        io.out(`${JSON.stringify(r, null, 2)}\n`);
        return r.error ? EXIT.failure : EXIT.ok;
      }
      if (r.error) {
        const rows = Object.entries(r.messages).sort(([a], [b]) => a.localeCompare(b));
        const width = Math.max(0, ...rows.map(([n]) => n.length));
        for (const [node, message] of rows) io.err(`failed: ${node.padEnd(width)}  ${message}\n`);
        io.err(`\n${failed}: ${r.error}\n`);
        return EXIT.failure;
      }
      io.err(`==> ${done}\n`);
      if (action === 'list') {
        io.out('\n');
        for (const [k, n] of Object.entries(r.keys)) io.out(`${k}  [${n}/${r.numNodes}]${r.primaryKeys[k] ? `  (primary on ${r.primaryKeys[k]})` : ''}\n`);
        // A member whose list was cut says so; show it as Serf logs it.
        for (const [node, message] of Object.entries(r.messages)) io.err(`${node}: ${message}\n`);
      }
    },
    io,
  );
}
