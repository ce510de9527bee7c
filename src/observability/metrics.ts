/**
 * @module observability/metrics
 * The Prometheus metrics of one registry instance. Each instance owns its
 * own prom-client registry, so two instances in one process (tests, an
 * embedding application) never share or collide on series; the process-wide
 * default metrics (CPU, memory, event loop, GC) live in one shared registry
 * created on first scrape and are appended to every exposition.
 *
 * Series (all names unprefixed, as in the issue):
 * - `http_requests_total{route,method,status}`: requests answered. `route`
 *   is a route template (`/v2/:name/blobs/:digest`, `/packages/:id`,
 *   `unmatched`), never a raw path; `status` is `499` when the client went
 *   away before any response header was sent.
 * - `http_request_duration_seconds{route,method}`: histogram, from the
 *   parsed request head to the end of the response (or the disconnect).
 * - `http_request_bytes_total{route,method}` / `http_response_bytes_total{route,method}`:
 *   body bytes received / sent (headers excluded; HEAD sends none).
 * - `uploads_in_flight{api}`: request bodies currently being written into
 *   uploads by this process (`api` = `oci` | `native`): OCI POST/PATCH/PUT
 *   on `/v2/:name/blobs/uploads/…`, native PATCH `/uploads/:uid` and POST
 *   `/packages/:id/files`, counted while such a request with a body is open.
 *   It is a per-process gauge: sum it over replicas. Sessions merely open in
 *   the database (idle between chunks) are not counted.
 * - `event_log_head_sequence`: the last committed event sequence, read
 *   from the log on every scrape (NaN when the read fails).
 * - `event_readers_waiting`: long polls (`GET /events?wait=`) and event
 *   streams of this process waiting on the shared event feed for the next
 *   commit (read on scrape; per process).
 * - `db_query_duration_seconds{operation,outcome}`: histogram over knex
 *   queries; `operation` = select | insert | update | delete | other,
 *   `outcome` = ok | error.
 * - `storage_operation_duration_seconds{operation,backend,outcome}`:
 *   histogram over storage backend SPI calls; `outcome` = ok | refused
 *   (the backend answered with a contract error such as not found) |
 *   aborted (the client went away mid-stream) | error.
 * - `gc_objects_reclaimed_total` / `gc_bytes_reclaimed_total`: objects and
 *   bytes online GC removed (docs/adr/0020), and `gc_queue_size`: candidates
 *   queued after the last pass; registered once GC runs in this instance.
 * - `sink_events_delivered_total{sink}`, `sink_delivery_failures_total{sink}`:
 *   events accepted by / failed attempts of each outbound event sink (ADR 0019);
 *   `sink_lag_events{sink}`: head − cursor per sink, read on scrape.
 * - prom-client's default process metrics (`process_*`, `nodejs_*`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome of one storage backend call, as the storage histogram labels it. */
export type StorageOutcome = 'ok' | 'refused' | 'aborted' | 'error';

/** Kind of one database query, as the query histogram labels it. */
export type QueryOperation = 'select' | 'insert' | 'update' | 'delete' | 'other';

/** Which API an upload body belongs to. */
export type UploadApi = 'oci' | 'native';

/** One finished HTTP request, as the HTTP layer reports it. */
export interface HttpRequestSample {
  /** A route template (never a raw path). */
  readonly route: string;
  readonly method: string;
  readonly status: number;
  readonly seconds: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORAGE_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

let processRegistry: Registry | undefined;

/** The shared registry of process-wide default metrics, created once. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Append the process-wide default metrics to the exposition (default true). */
  readonly processMetrics?: boolean;
}

/** The metrics of one registry instance. */
export class Metrics {
  /** This instance's own prom-client registry. */
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpRequestDuration: Histogram<'route' | 'method'>;
  readonly httpRequestBytes: Counter<'route' | 'method'>;
  readonly httpResponseBytes: Counter<'route' | 'method'>;
  readonly uploadsInFlight: Gauge<'api'>;
  readonly eventLogHead: Gauge;
  readonly eventReadersWaiting: Gauge;
  readonly dbQueryDuration: Histogram<'operation' | 'outcome'>;
  readonly storageOperationDuration: Histogram<'operation' | 'backend' | 'outcome'>;
  /** Events accepted by each outbound sink (filtered-out events not counted). */
  readonly sinkEventsDelivered: Counter<'sink'>;
  /** Failed delivery attempts per outbound sink. */
  readonly sinkDeliveryFailures: Counter<'sink'>;
  /** Events committed but not yet delivered (head − cursor) per sink, read on scrape. */
  readonly sinkLag: Gauge<'sink'>;

  private headSource: (() => Promise<number>) | undefined;
  private waitingSource: (() => number) | undefined;
  private sinkLagSource: (() => Promise<ReadonlyArray<{ readonly sink: string; readonly lag: number }>>) | undefined;

  constructor(private readonly options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.httpRequestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration from arrival to the end of the response, by route template and method',
      labelNames: ['route', 'method'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.httpRequestBytes = new Counter({
      name: 'http_request_bytes_total',
      help: 'HTTP request body bytes received, by route template and method',
      labelNames: ['route', 'method'],
      registers,
    });
    this.httpResponseBytes = new Counter({
      name: 'http_response_bytes_total',
      help: 'HTTP response body bytes sent, by route template and method',
      labelNames: ['route', 'method'],
      registers,
    });
    this.uploadsInFlight = new Gauge({
      name: 'uploads_in_flight',
      help: 'Upload request bodies (OCI blob uploads, native uploads and file posts) this process is currently receiving',
      labelNames: ['api'],
      registers,
    });
    // Both label values exist from the start, so dashboards see 0, not "no data".
    this.uploadsInFlight.set({ api: 'oci' }, 0);
    this.uploadsInFlight.set({ api: 'native' }, 0);
    const headSource = (): (() => Promise<number>) | undefined => this.headSource;
    this.eventLogHead = new Gauge({
      name: 'event_log_head_sequence',
      help: 'Sequence number of the last committed event in the event log (read on scrape)',
      registers,
      async collect() {
        const source = headSource();
        if (!source) return;
        try {
          this.set(await source());
        } catch {
          this.set(Number.NaN);
        }
      },
    });
    const waitingSource = (): (() => number) | undefined => this.waitingSource;
    this.eventReadersWaiting = new Gauge({
      name: 'event_readers_waiting',
      help: 'Long polls and event streams of this process waiting for the next commit (read on scrape)',
      registers,
      collect() {
        const source = waitingSource();
        if (source) this.set(source());
      },
    });
    this.dbQueryDuration = new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Database query duration, by operation kind and outcome',
      labelNames: ['operation', 'outcome'],
      buckets: DB_BUCKETS,
      registers,
    });
    this.storageOperationDuration = new Histogram({
      name: 'storage_operation_duration_seconds',
      help: 'Storage backend call duration, by SPI operation, backend and outcome',
      labelNames: ['operation', 'backend', 'outcome'],
      buckets: STORAGE_BUCKETS,
      registers,
    });
    this.sinkEventsDelivered = new Counter({ name: 'sink_events_delivered_total', help: 'Events delivered to each outbound event sink', labelNames: ['sink'], registers });
    this.sinkDeliveryFailures = new Counter({ name: 'sink_delivery_failures_total', help: 'Failed delivery attempts per outbound event sink', labelNames: ['sink'], registers });
    const sinkLagSource = (): typeof this.sinkLagSource => this.sinkLagSource;
    this.sinkLag = new Gauge({
      name: 'sink_lag_events',
      help: 'Committed events not yet delivered to each outbound event sink (head - cursor), read on scrape',
      labelNames: ['sink'],
      registers,
      async collect() {
        const source = sinkLagSource();
        if (!source) return;
        try {
          for (const { sink, lag } of await source()) this.set({ sink }, lag);
        } catch {
          // A failed read leaves the last values: the scrape still answers.
        }
      },
    });
  }

  /** Records one finished HTTP request. */
  observeRequest(sample: HttpRequestSample): void {
    const labels = { route: sample.route, method: sample.method };
    this.httpRequests.inc({ ...labels, status: String(sample.status) });
    this.httpRequestDuration.observe(labels, sample.seconds);
    this.httpRequestBytes.inc(labels, sample.bytesIn);
    this.httpResponseBytes.inc(labels, sample.bytesOut);
  }

  /** Counts an upload body as started; call the returned function once when it ends. */
  uploadStarted(api: UploadApi): () => void {
    this.uploadsInFlight.inc({ api });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.uploadsInFlight.dec({ api });
    };
  }

  /** Records one database query (see `instrumentDatabase`). */
  observeQuery(operation: QueryOperation, seconds: number, ok: boolean): void {
    this.dbQueryDuration.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  /** An observer for the storage decorator (see `observeBackend`), labelled with `backend`. */
  storageObserver(backend: string): (operation: string, seconds: number, outcome: StorageOutcome) => void {
    return (operation, seconds, outcome) => this.storageOperationDuration.observe({ operation, backend, outcome }, seconds);
  }

  private gc: { objects: Counter; bytes: Counter; queue: Gauge } | undefined;

  /** The GC series, registered on first call (structurally a registry `GcObserver`). */
  gcObserver(): { reclaimed(objects: number, bytes: number): void; queueSize(size: number): void } {
    const registers = [this.registry];
    this.gc ??= {
      objects: new Counter({ name: 'gc_objects_reclaimed_total', help: 'Objects whose bytes online garbage collection removed', registers }),
      bytes: new Counter({ name: 'gc_bytes_reclaimed_total', help: 'Bytes online garbage collection removed', registers }),
      queue: new Gauge({ name: 'gc_queue_size', help: 'Unreferenced objects queued for garbage collection after the last pass', registers }),
    };
    const gc = this.gc;
    return {
      reclaimed: (objects, bytes) => {
        gc.objects.inc(objects);
        gc.bytes.inc(bytes);
      },
      queueSize: (size) => gc.queue.set(size),
    };
  }

  /** Where `event_log_head_sequence` is read from on each scrape. */
  trackEventLogHead(source: () => Promise<number>): void {
    this.headSource = source;
  }

  /** Where `sink_lag_events` is read from on each scrape (the configured sinks' cursors). */
  trackSinkLag(source: () => Promise<ReadonlyArray<{ readonly sink: string; readonly lag: number }>>): void {
    this.sinkLagSource = source;
  }

  /** Where `event_readers_waiting` is read from on each scrape. */
  trackEventReaders(source: () => number): void {
    this.waitingSource = source;
  }

  /** True once {@link trackEventLogHead} was called. */
  get tracksEventLogHead(): boolean {
    return this.headSource !== undefined;
  }

  /** The Prometheus text exposition of this instance (and the process metrics). */
  async exposition(): Promise<{ contentType: string; body: string }> {
    const registry = this.options.processMetrics === false ? this.registry : Registry.merge([this.registry, processMetrics()]);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}

/** A fresh metrics set for one registry instance. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  return new Metrics(options);
}
