// Every metric the dashboards and rules may use, with who exports it. The dashboard tests check
// each PromQL expression against this list, so a typo in a metric name fails a test instead of
// drawing an empty panel; the exporter integration test checks the exporters' names are real.

/** Who exports a metric: the load generator, the reference app, the harness, or an exporter. */
export type MetricSource = 'k6' | 'app' | 'harness' | 'prometheus' | 'haproxy' | 'postgres-exporter' | 'redis-exporter' | 'rabbitmq' | 'kafka';

/** A metric the dashboards may query. */
export interface KnownMetric {
  source: MetricSource;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
}

const k6 = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'k6', type, help });
const app = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'app', type, help });
const harness = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'harness', type, help });
const haproxy = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'haproxy', type, help });
const pg = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'postgres-exporter', type, help });
const redis = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'redis-exporter', type, help });
const rabbit = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'rabbitmq', type, help });
const kafka = (type: KnownMetric['type'], help: string): KnownMetric => ({ source: 'kafka', type, help });

/**
 * Metric names (a histogram by its base name; its _bucket/_sum/_count series are implied).
 * Labels the dashboards rely on are named in `help`.
 */
export const KNOWN_METRICS: Record<string, KnownMetric> = {
  // The load generator (k6, or the embedded engine serving k6 names). Labels: name, method, status, scenario.
  k6_http_reqs_total: k6('counter', 'requests completed, by status'),
  k6_http_req_duration_seconds: k6('histogram', 'request latency from the intended send time (classic buckets, le)'),
  k6_http_req_failed_total: k6('counter', 'requests that failed (k6 http_req_failed)'),
  k6_dropped_iterations_total: k6('counter', 'iterations due but not started: the generator or the in-flight cap could not keep up'),
  k6_vus: k6('gauge', 'virtual users / requests in flight'),

  // The reference app (prom-client). Labels: route, method, status, server.
  http_requests_total: app('counter', 'requests the app answered, by route, method, status, server'),
  http_request_duration_seconds: app('histogram', 'app-side latency, by route, method, server'),
  db_queries_total: app('counter', 'queries the app sent, by role (primary|replica) and shard'),
  db_query_duration_seconds: app('histogram', 'query latency, by role and shard'),
  replica_lag_seconds: app('gauge', 'replication lag seen from the app or the harness, by replica (and shard)'),
  cache_requests_total: app('counter', 'cache-aside lookups, by result (hit|miss|error) and server'),
  nodejs_eventloop_lag_p99_seconds: app('gauge', 'prom-client default metric: event loop lag p99'),
  process_cpu_seconds_total: app('counter', 'prom-client default metric: CPU seconds of the process'),
  process_resident_memory_bytes: app('gauge', 'prom-client default metric: resident memory'),

  // Prometheus itself: 1 when the last scrape of a target succeeded.
  up: { source: 'prometheus', type: 'gauge', help: 'the last scrape of a target succeeded; labels job, instance' },

  // The harness.
  bench_fault_active: harness('gauge', '1 while a fault is injected; labels fault, target'),
  edge_cache_requests_total: harness('counter', 'CDN edge (nginx proxy_cache) lookups, by result = $upstream_cache_status (HIT, MISS, EXPIRED, STALE, ...)'),

  // HAProxy's built-in exporter. Labels: proxy, server, code (1xx..5xx, other), state.
  haproxy_backend_http_responses_total: haproxy('counter', 'responses per backend, by code class'),
  haproxy_backend_current_queue: haproxy('gauge', 'requests queued in the backend (no server free)'),
  haproxy_backend_active_servers: haproxy('gauge', 'servers UP in the backend'),
  haproxy_backend_retry_warnings_total: haproxy('counter', 'retried connections'),
  haproxy_backend_redispatch_warnings_total: haproxy('counter', 'requests redispatched to another server'),
  haproxy_backend_response_time_average_seconds: haproxy('gauge', 'average response time of the last 1024 requests'),
  haproxy_backend_connection_errors_total: haproxy('counter', 'failed connections to servers'),
  haproxy_server_status: haproxy('gauge', 'server state: 1 for the current state label (UP, DOWN, MAINT, DRAIN, NOLB)'),
  haproxy_server_http_responses_total: haproxy('counter', 'responses per server, by code class'),
  haproxy_server_current_sessions: haproxy('gauge', 'sessions open on a server'),
  haproxy_server_check_failures_total: haproxy('counter', 'failed health checks per server'),

  // postgres-exporter (0.11). Labels: datname, server.
  pg_up: pg('gauge', 'the exporter could reach PostgreSQL'),
  pg_stat_database_xact_commit: pg('counter', 'transactions committed'),
  pg_stat_database_xact_rollback: pg('counter', 'transactions rolled back'),
  pg_stat_database_blks_hit: pg('counter', 'blocks found in shared buffers'),
  pg_stat_database_blks_read: pg('counter', 'blocks read from disk'),
  pg_stat_database_tup_fetched: pg('counter', 'rows fetched'),
  pg_stat_database_tup_inserted: pg('counter', 'rows inserted'),
  pg_stat_database_tup_updated: pg('counter', 'rows updated'),
  pg_stat_database_numbackends: pg('gauge', 'connections'),
  pg_stat_database_deadlocks: pg('counter', 'deadlocks'),
  pg_stat_activity_count: pg('gauge', 'backends by state'),

  // redis-exporter. Labels: db, cmd.
  redis_up: redis('gauge', 'the exporter could reach Redis'),
  redis_commands_processed_total: redis('counter', 'commands processed'),
  redis_connected_clients: redis('gauge', 'client connections'),
  redis_memory_used_bytes: redis('gauge', 'memory used'),
  redis_keyspace_hits_total: redis('counter', 'key lookups that hit'),
  redis_keyspace_misses_total: redis('counter', 'key lookups that missed'),
  redis_evicted_keys_total: redis('counter', 'keys evicted for memory'),
  redis_expired_keys_total: redis('counter', 'keys expired (TTL)'),
  redis_db_keys: redis('gauge', 'keys per db'),

  // RabbitMQ's rabbitmq_prometheus plugin (phase 6). Per-queue series need per-object metrics.
  rabbitmq_queue_messages: rabbit('gauge', 'messages in a queue (ready + unacked)'),
  rabbitmq_queue_messages_ready: rabbit('gauge', 'messages ready for delivery'),
  rabbitmq_queue_messages_unacked: rabbit('gauge', 'messages delivered, not yet acknowledged'),
  rabbitmq_queue_consumers: rabbit('gauge', 'consumers of a queue'),
  rabbitmq_global_messages_received_total: rabbit('counter', 'messages published to the broker'),
  rabbitmq_global_messages_delivered_total: rabbit('counter', 'messages delivered to consumers'),
  rabbitmq_global_messages_acknowledged_total: rabbit('counter', 'messages acknowledged by consumers'),
  rabbitmq_global_messages_confirmed_total: rabbit('counter', 'publishes confirmed to publishers (publisher confirms)'),
  rabbitmq_global_messages_redelivered_total: rabbit('counter', 'deliveries of messages delivered before (a consumer died or nacked)'),
  rabbitmq_global_messages_dead_lettered_delivery_limit_total: rabbit('counter', 'messages dead-lettered by a quorum queue\'s x-delivery-limit'),
  // Kafka's broker through the JMX exporter agent (phase 6 --broker kafka): the names its rules give
  // (targets/services/kafka.ts renderJmxExporterConfig). No consumer lag: the broker has no bean for it.
  kafka_server_replicamanager_underreplicatedpartitions: kafka('gauge', 'partitions whose in-sync replicas are fewer than their replicas'),
  kafka_server_replicamanager_partitioncount: kafka('gauge', 'partitions on the broker'),
  kafka_controller_offlinepartitionscount: kafka('gauge', 'partitions without a leader'),
  kafka_server_brokertopicmetrics_messagesinpersec_total: kafka('counter', 'messages appended, by topic (and a topic-less broker total)'),
  kafka_server_brokertopicmetrics_bytesinpersec_total: kafka('counter', 'bytes produced, by topic (and a topic-less broker total)'),
  kafka_server_brokertopicmetrics_bytesoutpersec_total: kafka('counter', 'bytes fetched, by topic (and a topic-less broker total)'),
  kafka_network_requestmetrics_requests_total: kafka('counter', 'requests, by request (API: Produce, Fetch, OffsetCommit...) and version'),
  kafka_log_logendoffset: kafka('gauge', 'the next offset of a partition\'s log, by topic and partition'),
  // phase 6's own services (targets/microservices/http.ts), label service
  bench_ms_jobs_accepted_total: app('counter', 'uploads answered 202 (uploads API)'),
  bench_ms_outbox_published_total: app('counter', 'outbox rows published with a confirm (payment and uploads relays)'),
  bench_ms_worker_effects_total: app('counter', 'job side effects applied (workers)'),
  bench_ms_worker_skipped_total: app('counter', 'deliveries of a job already done (worker idempotence)'),
  bench_ms_worker_failed_total: app('counter', 'deliveries a worker failed and nacked'),
  bench_ms_jobs_dead_lettered_total: app('counter', 'jobs marked dead-lettered from the dead-letter queue (uploads API)'),
};

/** Metric names a recording rule in rules/bench.rules.yml defines (usable in expressions too). */
export const RECORDED_METRICS = [
  'bench:k6_http_reqs:rate1m',
  'bench:k6_http_errors:ratio_rate1m',
  'bench:k6_http_req_duration_seconds:p99_1m',
  'bench:http_requests:rate1m',
  'bench:http_request_duration_seconds:p99_1m',
  'bench:cache_hit:ratio_rate1m',
  'bench:edge_cache_hit:ratio_rate1m',
] as const;

/** Whether `name` (a series name as it appears in PromQL) is a known metric or one of its histogram series. */
export function isKnownMetric(name: string): boolean {
  if (name in KNOWN_METRICS || (RECORDED_METRICS as readonly string[]).includes(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && KNOWN_METRICS[base]?.type === 'histogram';
}
