// `rxswim cluster`: a local demo cluster of agents on 127.0.0.1, one child process
// each, with their event lines interleaved on our stdout. Ctrl-C makes every agent
// leave gracefully, then exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ClusterOptions {
  size: number;
  host: string;
  basePort: number;
  profile: string;
}

export async function runCluster(opts: ClusterOptions): Promise<number> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const children: ChildProcess[] = [];
  const seed = `${opts.host}:${opts.basePort}`;
  process.stdout.write(
    `rxswim demo: ${opts.size} agents on ${opts.host}:${opts.basePort}-${opts.basePort + opts.size - 1}; ` +
      `try: node ${main} members --http ${opts.host}:${opts.basePort + 1000}   (Ctrl-C to stop)\n`,
  );
  for (let i = 0; i < opts.size; i++) {
    const name = `node-${i + 1}`;
    const port = opts.basePort + i;
    const args = [main, 'agent', '--node', name, '--bind', `${opts.host}:${port}`, '--profile', opts.profile, '--http', `${opts.host}:${port + 1000}`, '--log-format', 'json'];
    if (i > 0) args.push('--join', seed);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { time: number; event?: string; msg?: string; member?: { name: string; state: string; incarnation: number } };
        if (!rec.event) return;
        const t = new Date(rec.time).toISOString().slice(11, 23);
        const who = rec.member ? ` ${rec.member.name} (${rec.member.state}, inc ${rec.member.incarnation})` : '';
        process.stdout.write(`${t} [${name}] ${rec.event}${who}\n`);
      } catch {
        process.stdout.write(`[${name}] ${line}\n`);
      }
    });
    // The seed must be listening before the others join it.
    if (i === 0) await new Promise((r) => setTimeout(r, 300));
  }
  const exited = children.map((c) => new Promise<number>((r) => c.once('exit', (code) => r(code ?? 1))));
  const stop = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const codes = await Promise.all(exited);
  return codes.every((c) => c === 0) ? 0 : 1;
}
