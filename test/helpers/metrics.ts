// Reading a node's prom-client counters in-process (the HTTP tests read /metrics instead).
import type { RxSwimNode } from '../../src/node.js';

/** the value of the series with exactly these labels; 0 while it does not exist yet */
export async function counterValue(node: RxSwimNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = node.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const hit = values.find((v) => {
    const have = v.labels as Record<string, unknown>;
    return Object.keys(have).length === Object.keys(labels).length && Object.entries(labels).every(([k, x]) => have[k] === x);
  });
  return hit?.value ?? 0;
}

/** the sum over every series carrying these labels (others may differ); 0 when the metric does not exist */
export async function counterSum(node: RxSwimNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = node.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((s, v) => s + v.value, 0);
}
