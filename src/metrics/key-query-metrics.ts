// Serf's key queries this node answered (`serf keys`, `rxswim keys --cluster`),
// registered on the node's registry beside NodeMetrics.
import { Counter, type Registry } from 'prom-client';
import { KEY_OPS, type KeyOp, type KeyQueryResult } from '../serf/key-queries.js';

const RESULTS: readonly KeyQueryResult[] = ['ok', 'error', 'malformed'];

export class KeyQueryMetrics {
  readonly answered: Counter<'op' | 'result'>;

  constructor(registry: Registry) {
    this.answered = new Counter({
      name: 'rxswim_serf_key_queries_total',
      help: "Serf key queries answered, by op (install, use, remove, list) and result (ok; error: refused with Serf's message, or no answer fits; malformed: the request did not decode)",
      labelNames: ['op', 'result'],
      registers: [registry],
    });
    for (const op of KEY_OPS) for (const result of RESULTS) this.answered.inc({ op, result }, 0);
  }

  count(op: KeyOp, result: KeyQueryResult): void {
    this.answered.inc({ op, result });
  }
}
