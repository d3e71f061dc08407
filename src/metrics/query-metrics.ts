// Metrics of Serf's queries (serf.queries, serf.query_acks, serf.query_responses and
// the duplicates in Serf), registered on the node's registry beside NodeMetrics.
import { Counter, type Registry } from 'prom-client';
import { QUERY_IGNORE_REASONS } from '../serf/queries.js';

export class QueryMetrics {
  readonly received: Counter;
  readonly sent: Counter;
  readonly repliesSent: Counter<'type'>;
  readonly repliesReceived: Counter<'type'>;
  readonly ignored: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.received = new Counter({ name: 'rxswim_serf_queries_received_total', help: "Serf queries heard for the first time (ours included), whether or not their filters let us answer", registers });
    this.sent = new Counter({ name: 'rxswim_serf_queries_sent_total', help: 'Serf queries this node sent (serfQuery(), POST /v1/query)', registers });
    this.repliesSent = new Counter({
      name: 'rxswim_serf_query_replies_sent_total',
      help: 'Query answers this node sent: acks, responses, relayed copies of either (relay), and relays forwarded for other members (forward)',
      labelNames: ['type'],
      registers,
    });
    this.repliesReceived = new Counter({ name: 'rxswim_serf_query_replies_received_total', help: 'Acks and responses to our queries, each member once', labelNames: ['type'], registers });
    this.ignored = new Counter({
      name: 'rxswim_serf_queries_ignored_total',
      help: 'Queries and replies that decoded but were not acted on, by reason (duplicate, too_old, filtered, bad_filter, unknown_internal; no_query, id_mismatch, finished, duplicate_reply, ack_unrequested)',
      labelNames: ['reason'],
      registers,
    });
    for (const c of [this.received, this.sent]) c.inc(0);
    for (const type of ['ack', 'response', 'relay', 'forward']) this.repliesSent.inc({ type }, 0);
    for (const type of ['ack', 'response']) this.repliesReceived.inc({ type }, 0);
    for (const reason of QUERY_IGNORE_REASONS) this.ignored.inc({ reason }, 0);
  }
}
