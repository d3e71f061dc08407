// A recording event handler for the tests: a script that appends, per run, its SERF_*
// environment and its stdin to a file, and the reader of that file.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HandlerRun {
  env: Record<string, string>;
  stdin: string;
}

/** A handler script that appends one record per run to `out`: its SERF_* variables, then its stdin. */
export function recordingScript(dir: string, out: string): string {
  const path = join(dir, 'record.sh');
  writeFileSync(path, `#!/bin/sh\n{ echo "=== run"; env | grep '^SERF_' | sort; echo "--- stdin"; cat; echo "=== end"; } >> '${out}'\n`);
  chmodSync(path, 0o755);
  return path;
}

export function readRuns(out: string): HandlerRun[] {
  if (!existsSync(out)) return [];
  const text = readFileSync(out, 'utf8');
  const runs: HandlerRun[] = [];
  for (const block of text.split('=== run\n').slice(1)) {
    if (!block.endsWith('=== end\n')) continue; // still being written
    const [envPart, stdin] = block.slice(0, -'=== end\n'.length).split('--- stdin\n') as [string, string];
    const env: Record<string, string> = {};
    for (const line of envPart.split('\n').filter((l) => l.length > 0)) {
      const i = line.indexOf('=');
      env[line.slice(0, i)] = line.slice(i + 1);
    }
    runs.push({ env, stdin });
  }
  return runs;
}
