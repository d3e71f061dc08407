// `rxswim members`: the member table of a running agent, read over its HTTP API.
import type { MemberJson } from '../http/server.js';

export async function runMembers(opts: { http: string; json: boolean; status?: string }): Promise<number> {
  const url = `http://${opts.http}/v1/members`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    process.stderr.write(`rxswim members: cannot reach ${url}: ${(e as Error).cause ?? (e as Error).message}\n`);
    return 1;
  }
  if (!res.ok) {
    process.stderr.write(`rxswim members: ${url} answered ${res.status}\n`);
    return 1;
  }
  let members = (await res.json()) as MemberJson[];
  if (opts.status) members = members.filter((m) => m.state === opts.status);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(members, null, 2)}\n`);
    return 0;
  }
  const tags = (m: MemberJson) => Object.entries(m.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const rows = [
    ['NAME', 'ADDRESS', 'STATE', 'INCARNATION', 'TAGS'],
    ...members.map((m) => [m.name, `${m.address}:${m.port}`, m.state, String(m.incarnation), tags(m)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  return 0;
}
