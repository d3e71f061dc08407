// Metrics of the agent's event handler scripts (cli/handler-runner.ts), registered on
// the agent's registry whether or not handlers are configured, so that dashboards and
// alerts see zeros rather than nothing.
import { Counter, Gauge, type Registry } from 'prom-client';

/** how one run of a script ended */
export const HANDLER_RUN_RESULTS = ['ok', 'failed', 'timeout'] as const;
export type HandlerRunResult = (typeof HANDLER_RUN_RESULTS)[number];
/** why an event was dropped before its scripts ran */
export const HANDLER_DROP_REASONS = ['overflow', 'stopped'] as const;
export type HandlerDropReason = (typeof HANDLER_DROP_REASONS)[number];
/** what became of a query handler's stdout */
export const HANDLER_RESPONSE_RESULTS = ['sent', 'too_large', 'failed'] as const;
export type HandlerResponseResult = (typeof HANDLER_RESPONSE_RESULTS)[number];

export class EventHandlerMetrics {
  readonly runs: Counter<'result'>;
  readonly dropped: Counter<'reason'>;
  readonly responses: Counter<'result'>;

  constructor(registry: Registry, queueDepth: () => number) {
    const registers = [registry];
    this.runs = new Counter({ name: 'rxswim_event_handler_runs_total', help: 'Event handler script runs, by result (ok: exit 0, failed: other exit or signal, or not started, timeout: killed)', labelNames: ['result'], registers });
    for (const result of HANDLER_RUN_RESULTS) this.runs.inc({ result }, 0);
    this.dropped = new Counter({ name: 'rxswim_event_handler_dropped_total', help: 'Events dropped before their handlers ran, by reason (overflow: the oldest of a full queue, stopped: queued when the agent stopped)', labelNames: ['reason'], registers });
    for (const reason of HANDLER_DROP_REASONS) this.dropped.inc({ reason }, 0);
    this.responses = new Counter({ name: 'rxswim_event_handler_query_responses_total', help: "Query handlers' stdout as a query response, by result (sent, too_large: over the response size limit, not sent, failed: the query layer refused it)", labelNames: ['result'], registers });
    for (const result of HANDLER_RESPONSE_RESULTS) this.responses.inc({ result }, 0);
    new Gauge({ name: 'rxswim_event_handler_queue_depth', help: 'Events waiting for their handler scripts (the one running not included)', registers, collect() { this.set(queueDepth()); } });
  }
}
