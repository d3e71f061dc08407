// Waiting in tests and benchmarks, in real (wall-clock) time: the one `sleep` and the
// one `waitFor` that every test and bench/lib uses. (Simulations wait in virtual time
// with the cluster's own `until`, not with these.)

/** resolves after `ms` milliseconds (a negative `ms` counts as 0) */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/**
 * Polls `probe` (sync or async) every `everyMs` until `pred` holds for its value and
 * returns the milliseconds that took. After `timeoutMs` without success it throws an
 * Error that names `what` and shows the last value the probe returned. An exception
 * from `probe` or `pred` propagates at once (wrap the probe with `.catch(() => …)`
 * when failures are expected while something starts).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  pred: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<number> {
  const start = Date.now();
  let last: T | undefined;
  let probed = false;
  while (Date.now() - start < timeoutMs) {
    last = await probe();
    probed = true;
    if (pred(last)) return Date.now() - start;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last saw ${probed ? show(last) : 'nothing (never probed)'}`);
}

const SHOW_MAX = 4000;

/** JSON, with Maps, Sets, bigints and undefined shown rather than lost; cut at SHOW_MAX characters */
function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v, (_k, x: unknown) => {
      if (x instanceof Map) return Object.fromEntries(x);
      if (x instanceof Set) return [...x];
      if (typeof x === 'bigint') return `${x}n`;
      if (x instanceof Error) return `${x.name}: ${x.message}`;
      return x;
    });
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > SHOW_MAX ? `${s.slice(0, SHOW_MAX)}… (${s.length} characters)` : s;
}
