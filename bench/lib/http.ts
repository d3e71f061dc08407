// A light HTTP/1.1 JSON client over kept-alive connections (node:http). The polling
// loops ask up to 64 agents 10 times a second; undici's fetch costs the bench process
// several times more CPU per request, which on 2 cores slows the agents being measured.
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function once(method: 'GET' | 'POST', hostport: string, path: string, body: string | undefined, timeoutMs: number, raw = false): Promise<unknown> {
  const [host, port] = hostport.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: Number(port), path, method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          if (raw) {
            if ((res.statusCode ?? 0) >= 400) reject(new Error(`${method} ${hostport}${path}: HTTP ${res.statusCode}`));
            else resolve(text);
            return;
          }
          try {
            const json: unknown = JSON.parse(text);
            if ((res.statusCode ?? 0) >= 400) reject(new Error(`${method} ${hostport}${path}: HTTP ${res.statusCode} ${text}`));
            else resolve(json);
          } catch {
            reject(new Error(`${method} ${hostport}${path}: HTTP ${res.statusCode}, not JSON`));
          }
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${hostport}${path}: timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

/** one retry when a kept-alive connection was closed by the server meanwhile */
export async function httpJson(method: 'GET' | 'POST', hostport: string, path: string, body?: unknown, timeoutMs = 2000): Promise<unknown> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  try {
    return await once(method, hostport, path, text, timeoutMs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || (e instanceof Error && e.message === 'socket hang up')) return once(method, hostport, path, text, timeoutMs);
    throw e;
  }
}

/** the body as text (e.g. `GET /metrics`), on the same kept-alive connections */
export async function httpText(hostport: string, path: string, timeoutMs = 2000): Promise<string> {
  return (await once('GET', hostport, path, undefined, timeoutMs, true)) as string;
}

export function closeHttp(): void {
  agent.destroy();
}
