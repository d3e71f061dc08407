// `rxswim query NAME [PAYLOAD]`: Serf's `serf query`, through the agent's
// POST /v1/query. Prints each ack and response as it arrives, then the totals, as
// `serf query` does; --json prints the agent's NDJSON lines as they are.
import { ConfigError } from '../errors.js';
import type { QueryLineJson } from '../http/query-route.js';
import { parseTagArg } from '../membership/tags.js';
import { DURATION_SYNTAX, parseDuration } from './agent-config.js';
import { AgentError, Client, runClient, type ClientOptions, type Io } from './client.js';

export interface QueryCommandOptions extends ClientOptions {
  timeout?: string;
  node?: string[];
  tag?: string[];
  ack?: boolean;
  relayFactor?: string;
  json?: boolean;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function queryCommand(name: string, payload: string | undefined, opts: QueryCommandOptions, io: Io = stdio): Promise<number> {
  return runClient(
    'query',
    async () => {
      const body: Record<string, unknown> = { name, payload: payload ?? '', ack: opts.ack ?? true };
      let waitMs = 30_000;
      if (opts.timeout !== undefined) {
        const ms = parseDuration(opts.timeout);
        if (typeof ms !== 'number' || !(ms > 0)) throw new ConfigError('--timeout', `${DURATION_SYNTAX} (got ${JSON.stringify(opts.timeout)})`);
        body.timeout = ms;
        waitMs = ms + 10_000;
      }
      if (opts.node?.length) body.nodes = opts.node;
      if (opts.tag?.length) body.tags = Object.fromEntries(opts.tag.map((t) => parseTagArg(t)));
      if (opts.relayFactor !== undefined) {
        const n = Number(opts.relayFactor);
        if (!Number.isInteger(n) || n < 0 || n > 255) throw new ConfigError('--relay-factor', `must be an integer 0-255 (got ${JSON.stringify(opts.relayFactor)})`);
        body.relayFactor = n;
      }
      const c = new Client(opts);
      let res: Response;
      try {
        res = await fetch(`${c.base}/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/x-ndjson', ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(waitMs),
        });
      } catch (e) {
        throw new AgentError(`cannot reach the agent at ${c.base}: ${(e as Error).message}`);
      }
      if (!res.ok || !res.body) {
        const text = await res.text();
        let msg = text;
        try {
          msg = (JSON.parse(text) as { error?: string }).error ?? text;
        } catch {}
        throw new AgentError(`POST /v1/query: ${res.status} ${msg}${res.status === 401 ? ' (pass --token or set RXSWIM_HTTP_TOKEN)' : ''}`);
      }
      if (!opts.json) io.out(`Query '${name}' dispatched\n`);
      let acks = 0;
      let responses = 0;
      let ended = false;
      let rest = '';
      const handle = (line: string) => {
        if (line.trim() === '') return;
        if (opts.json) io.out(`${line}\n`);
        const j = JSON.parse(line) as QueryLineJson;
        if (j.type === 'ack') {
          acks++;
          if (!opts.json) io.out(`Ack from '${j.from}'\n`);
        } else if (j.type === 'response') {
          responses++;
          if (!opts.json) io.out(`Response from '${j.from}': ${j.payload}\n`);
        } else if (j.type === 'summary') ended = true;
      };
      try {
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          rest += chunk;
          const lines = rest.split('\n');
          rest = lines.pop()!;
          lines.forEach(handle);
        }
        handle(rest);
      } catch (e) {
        throw new AgentError(`the query's reply stream broke: ${(e as Error).message}`);
      }
      if (!ended) throw new AgentError('the agent ended the query stream without its summary');
      if (!opts.json) {
        if (opts.ack !== false) io.out(`Total Acks: ${acks}\n`);
        io.out(`Total Responses: ${responses}\n`);
      }
    },
    io,
  );
}
