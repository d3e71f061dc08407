// The flags every bench entry point takes: `--name value` and bare `--switch`. A
// missing or non-numeric value where a number is wanted is an error naming the flag,
// so a typo never turns into a silent default or NaN in the results.
export const argv = process.argv.slice(2);

/** the value after `flag`, or undefined when the flag is absent */
export function arg(flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
  return v;
}

/** whether a bare switch was given */
export function has(flag: string): boolean {
  return argv.includes(flag);
}

/** a non-negative number after `flag`, or `dflt` */
export function num(flag: string, dflt: number): number {
  const v = arg(flag);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number (got ${JSON.stringify(v)})`);
  return n;
}

/** a comma-separated list of non-negative numbers after `flag`, or `dflt`; `-` or empty: none */
export function nums(flag: string, dflt: number[]): number[] {
  const v = arg(flag);
  if (v === undefined) return dflt;
  if (v === '' || v === '-') return [];
  return v.split(',').map((x) => {
    const n = Number(x);
    if (x.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a comma-separated list of non-negative numbers (got ${JSON.stringify(v)})`);
    return n;
  });
}

/** how this run was started, for the results file: `node --import tsx bench/NAME.ts [flags]` */
export function commandLine(script: string): string {
  return `node --import tsx bench/${script}.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;
}
