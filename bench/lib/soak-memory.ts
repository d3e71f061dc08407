// Memory over a long run: per process, RSS (/proc/PID/status) and, for rxswim agents,
// the V8 heap in use (prom-client's default metric nodejs_heap_size_used_bytes on the
// agent's /metrics), sampled every few seconds; the least-squares slope of each after a
// warm-up, in KB per minute, and whether it is an upward trend.

export interface MemorySample {
  /** ms since the start of the run */
  atMs: number;
  rssKB: number;
  heapKB: number | null;
}

export interface MemorySeries {
  member: string;
  impl: string;
  pid: number;
  startedMs: number;
  samples: MemorySample[];
}

export interface Slope {
  /** KB per minute */
  slope: number;
  /** standard error of the slope, KB per minute */
  stderr: number;
  r2: number;
  n: number;
}

/** least squares y = a + b·x over (minutes, KB); null with fewer than 3 points */
export function linearSlope(points: ReadonlyArray<readonly [number, number]>): Slope | null {
  const n = points.length;
  if (n < 3) return null;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  if (sxx === 0) return null;
  const b = sxy / sxx;
  const a = my - b * mx;
  let sse = 0;
  for (const [x, y] of points) sse += (y - (a + b * x)) ** 2;
  const stderr = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : 0;
  return { slope: b, stderr, r2: syy === 0 ? 1 : 1 - sse / syy, n };
}

export interface Trend {
  member: string;
  impl: string;
  pid: number;
  /** minutes of samples after the warm-up */
  minutes: number;
  rss: Slope | null;
  heap: Slope | null;
  /** RSS and heap at the first and last sample after the warm-up, KB */
  rssKB: [number, number] | null;
  heapKB: [number, number] | null;
  /** the slopes over the last third of those minutes: is it still rising at the end? */
  lastThird: { rss: Slope | null; heap: Slope | null };
  /** long enough to be judged (V8's heap in use rises between two major collections, minutes apart) */
  judged: boolean;
  /** an upward trend: judged, and a slope above the threshold and over 3 standard errors above 0, over the whole and over the last third */
  rssUp: boolean;
  heapUp: boolean;
}

const upward = (s: Slope | null, thresholdKBPerMin: number): boolean => s !== null && s.slope > thresholdKBPerMin && s.slope > 3 * s.stderr;

/**
 * The trend of one process's memory, from `warmupMs` after it started; null when less
 * than `minMinutes` of samples remain (a process restarted by the churn lives too short).
 */
export function trendOf(s: MemorySeries, warmupMs: number, minMinutes: number, thresholdKBPerMin: number, judgeMinutes = 15): Trend | null {
  const kept = s.samples.filter((x) => x.atMs >= s.startedMs + warmupMs);
  if (kept.length < 3) return null;
  const minutes = (kept[kept.length - 1]!.atMs - kept[0]!.atMs) / 60_000;
  if (minutes < minMinutes) return null;
  const rss = linearSlope(kept.map((x) => [x.atMs / 60_000, x.rssKB] as const));
  const heapPts = kept.filter((x) => x.heapKB !== null).map((x) => [x.atMs / 60_000, x.heapKB!] as const);
  const heap = linearSlope(heapPts);
  const withHeap = kept.filter((x) => x.heapKB !== null);
  const tail = kept.filter((x) => x.atMs >= kept[0]!.atMs + (2 / 3) * (kept[kept.length - 1]!.atMs - kept[0]!.atMs));
  const lastThird = {
    rss: linearSlope(tail.map((x) => [x.atMs / 60_000, x.rssKB] as const)),
    heap: linearSlope(tail.filter((x) => x.heapKB !== null).map((x) => [x.atMs / 60_000, x.heapKB!] as const)),
  };
  const judged = minutes >= judgeMinutes;
  return {
    member: s.member,
    impl: s.impl,
    pid: s.pid,
    minutes: Math.round(minutes * 10) / 10,
    rss,
    heap,
    rssKB: [kept[0]!.rssKB, kept[kept.length - 1]!.rssKB],
    heapKB: withHeap.length > 0 ? [withHeap[0]!.heapKB!, withHeap[withHeap.length - 1]!.heapKB!] : null,
    lastThird,
    judged,
    rssUp: judged && upward(rss, thresholdKBPerMin) && upward(lastThird.rss, thresholdKBPerMin),
    heapUp: judged && upward(heap, thresholdKBPerMin) && upward(lastThird.heap, thresholdKBPerMin),
  };
}

/** one value of a metric without labels from a Prometheus text exposition */
export function promValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1).split(' ')[0]);
  }
  return undefined;
}
