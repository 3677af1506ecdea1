/** Prometheus metrics of one gateway instance (its own registry: no process-wide globals). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  // prom-client's default names already start with process_ / nodejs_: gateway_process_cpu_user_seconds_total
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const m = {
    registry,
    messagesReceived: new Counter({ name: 'gateway_messages_received_total', help: 'MQTT messages received for ingest, by model', labelNames: ['model'], registers: [registry] }),
    messagesDecoded: new Counter({ name: 'gateway_messages_decoded_total', help: 'messages decoded into readings, by model', labelNames: ['model'], registers: [registry] }),
    deadLetters: new Counter({ name: 'gateway_messages_dead_lettered_total', help: 'messages stored as dead letters, by model', labelNames: ['model'], registers: [registry] }),
    readingsWritten: new Counter({ name: 'gateway_readings_written_total', help: 'readings committed to the store', registers: [registry] }),
    eventsWritten: new Counter({ name: 'gateway_events_written_total', help: 'events committed to the store', registers: [registry] }),
    batchLatency: new Histogram({ name: 'gateway_write_batch_seconds', help: 'time to commit one group-commit batch', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] }),
    batchSize: new Histogram({ name: 'gateway_write_batch_messages', help: 'messages per group-commit batch', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000], registers: [registry] }),
    writeFailures: new Counter({ name: 'gateway_write_failures_total', help: 'group commits that failed (their messages were not acknowledged)', registers: [registry] }),
    spoolDepth: new Gauge({ name: 'gateway_spool_depth', help: 'batches waiting in the on-disk spool for the store', registers: [registry] }),
    spoolPoints: new Gauge({ name: 'gateway_spool_points', help: 'readings waiting in the on-disk spool for the store', registers: [registry] }),
    spooledPoints: new Counter({ name: 'gateway_spooled_points_total', help: 'readings written to the on-disk spool because the store did not accept them', registers: [registry] }),
    drainedPoints: new Counter({ name: 'gateway_spool_drained_points_total', help: 'readings drained from the spool into the store', registers: [registry] }),
    storeRejected: new Counter({ name: 'gateway_store_rejected_points_total', help: 'readings the store refused as data (kept as dead letters)', registers: [registry] }),
    connectedClients: new Gauge({ name: 'gateway_connected_clients', help: 'MQTT clients connected to the embedded broker', registers: [registry] }),
    authRefusals: new Counter({ name: 'gateway_auth_refusals_total', help: 'refused MQTT connects, publishes and subscribes, by action and reason', labelNames: ['action', 'reason'], registers: [registry] }),
    httpRefusals: new Counter({ name: 'gateway_http_refusals_total', help: 'refused REST requests, by reason (unauthorized, forbidden, body_too_large, rate_limited)', labelNames: ['reason'], registers: [registry] }),
    deadLettersEvicted: new Counter({ name: 'gateway_dead_letters_evicted_total', help: 'dead letters deleted, oldest first, to keep all of them within ingest.deadLetters.maxTotalBytes', registers: [registry] }),
    deviceDeadLetters: new Counter({ name: 'gateway_device_dead_letters_total', help: 'dead letters by device (the first ingest.deadLetters.metricDevices devices; the rest as "other", unknown senders as "unknown")', labelNames: ['device'], registers: [registry] }),
    httpRequests: new Counter({ name: 'gateway_http_requests_total', help: 'REST and console requests answered, by route pattern (never the raw URL), method and status', labelNames: ['route', 'method', 'status'], registers: [registry] }),
    httpDuration: new Histogram({
      name: 'gateway_http_request_duration_seconds', help: 'time from request to response, by route pattern, method and status', labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
    }),
    notifications: new Counter({ name: 'gateway_notifications_total', help: 'notification delivery attempts, by channel type and result (delivered, failed: retried later)', labelNames: ['channel', 'result'], registers: [registry] }),
    notificationDuration: new Histogram({ name: 'gateway_notification_delivery_seconds', help: 'time of one delivery attempt, by channel type', labelNames: ['channel'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    notificationsPending: new Gauge({ name: 'gateway_notifications_pending', help: 'notifications waiting in the outbox (not delivered yet), by channel type', labelNames: ['channel'], registers: [registry] }),
    alertsOpen: new Gauge({ name: 'gateway_alerts_open', help: 'alerts not resolved, by rule', labelNames: ['rule'], registers: [registry] }),
    connectorPolls: new Counter({ name: 'gateway_connector_polls_total', help: 'device polls started by field connectors, by connector', labelNames: ['connector'], registers: [registry] }),
    connectorPollFailures: new Counter({ name: 'gateway_connector_poll_failures_total', help: 'failed device polls, by connector and reason (disconnected, timeout, exception, protocol, dead_letter, config, store)', labelNames: ['connector', 'reason'], registers: [registry] }),
    connectorPollSeconds: new Histogram({ name: 'gateway_connector_poll_seconds', help: 'successful device poll, first request to readings committed, by connector', labelNames: ['connector'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    connectorConnected: new Gauge({ name: 'gateway_connector_connected', help: '1 while the connector\'s TCP link is up', labelNames: ['connector'], registers: [registry] }),
    // response times of crews (CONTRACT v2 "Response times"), counted from the alert's openedAt
    alertAckSeconds: new Histogram({ name: 'gateway_alert_time_to_acknowledge_seconds', help: 'from an alert opening to its acknowledgement, by rule and severity', labelNames: ['rule', 'severity'], buckets: [30, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400], registers: [registry] }),
    alertResolveSeconds: new Histogram({ name: 'gateway_alert_time_to_resolve_seconds', help: 'from an alert opening to its resolution (auto or manual), by rule, severity and resolution', labelNames: ['rule', 'severity', 'resolution'], buckets: [30, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 259_200], registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
