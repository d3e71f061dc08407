// The agent's HTTP API. Plain node:http: two read-only routes do not justify a
// framework.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Member } from '../api.js';
import { decodeTags } from '../membership/tags.js';

export interface MemberJson {
  name: string;
  address: string;
  port: number;
  state: Member['state'];
  incarnation: number;
  /** metadata, base64 */
  meta: string;
  /** the metadata decoded, when it is in Serf's tag encoding */
  tags?: Record<string, string>;
}

export function memberToJson(m: Member): MemberJson {
  const tags = decodeTags(m.meta);
  return {
    name: m.name,
    address: m.address,
    port: m.port,
    state: m.state,
    incarnation: m.incarnation,
    meta: Buffer.from(m.meta).toString('base64'),
    ...(tags ? { tags } : {}),
  };
}

export interface HttpApi {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startHttpApi(opts: {
  host: string;
  port: number;
  members: () => Member[];
  registry: Registry;
}): Promise<HttpApi> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: `method ${req.method} not allowed` }));
    if (url.pathname === '/v1/members') {
      return send(200, JSON.stringify(opts.members().map(memberToJson)));
    }
    if (url.pathname === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, text, opts.registry.contentType),
        (e: unknown) => send(500, JSON.stringify({ error: String(e) })),
      );
      return;
    }
    send(404, JSON.stringify({ error: `no route ${url.pathname}`, routes: ['/v1/members', '/metrics'] }));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
