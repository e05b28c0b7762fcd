import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelInfo } from '../graph/model.ts';
import type { ServableId } from '../serving/servable.ts';
import type { LoadOutcome, ServingMetrics, ShedReason } from '../serving/serving-metrics.ts';

/**
 * The one prom-client registry of a ctr-serve process and the metrics of docs/metrics.md that HTTP and serving record
 * (shadow scoring registers its own `ctr_shadow_*` metrics on `registry`).
 *
 * Lifecycle: one Metrics per app (buildApp creates it unless given one); nothing global, so tests can build many
 * apps side by side. With `--workers` each worker has its own and the primary aggregates them
 * (src/metrics/cluster-metrics.ts). Recording never throws; labels never carry request or user ids.
 */
const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const LOAD_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60];

export class Metrics implements ServingMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route'>;
  readonly grpcRequests: Counter<'method' | 'code'>;
  readonly grpcDuration: Histogram<'method'>;
  readonly predictions: Counter<'model' | 'version'>;
  readonly inferenceDuration: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model'>;
  readonly queueWait: Histogram;
  readonly requestsShed: Counter<'reason'>;
  readonly modelInfo: Gauge<'model' | 'version' | 'format' | 'backend'>;
  readonly modelLoads: Counter<'model' | 'outcome'>;
  readonly modelLoadDuration: Histogram;
  readonly #infoLabels = new Map<string, Record<string, string>>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'ctr_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'ctr_http_request_duration_seconds',
      help: 'Time from request received to response sent, by route pattern.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    [this.grpcRequests, this.grpcDuration] = grpcMetrics(registers);
    this.predictions = new Counter({
      name: 'ctr_predictions_total',
      help: 'Rows scored by a model version (one row per instance or CTR candidate).',
      labelNames: ['model', 'version'],
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: 'ctr_inference_duration_seconds',
      help: 'Time one model call (one merged batch) took.',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ctr_batch_size',
      help: 'Rows per model call after dynamic batching.',
      labelNames: ['model'],
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.queueWait = new Histogram({
      name: 'ctr_batch_queue_wait_seconds',
      help: 'Time a request waited in the batching queue before its batch ran.',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.requestsShed = new Counter({
      name: 'ctr_requests_shed_total',
      help: 'Requests refused at once instead of queued (load shedding), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'ctr_model_info',
      help: '1 for each model version that is AVAILABLE, with its format and tfjs backend.',
      labelNames: ['model', 'version', 'format', 'backend'],
      aggregator: 'max',
      registers,
    });
    this.modelLoads = new Counter({
      name: 'ctr_model_load_total',
      help: 'Model version loads, by outcome (success or failure).',
      labelNames: ['model', 'outcome'],
      registers,
    });
    this.modelLoadDuration = new Histogram({
      name: 'ctr_model_load_duration_seconds',
      help: 'Time to load, warm up and verify one model version.',
      buckets: LOAD_BUCKETS_SECONDS,
      registers,
    });
  }

  observeHttp(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.inc({ route, method, status: String(status) });
    this.httpDuration.observe({ route }, seconds);
  }

  /** `method` is the full gRPC name (`/tensorflow.serving.PredictionService/Predict`), `code` the status name. */
  observeGrpc(method: string, code: string, seconds: number): void {
    this.grpcRequests.inc({ method, code });
    this.grpcDuration.observe({ method }, seconds);
  }

  observeInference(id: ServableId, seconds: number, batchRows: number): void {
    const labels = { model: id.name, version: String(id.version) };
    this.predictions.inc(labels, batchRows);
    this.inferenceDuration.observe(labels, seconds);
    this.batchSize.observe({ model: id.name }, batchRows);
  }

  observeQueueWait(seconds: number): void {
    this.queueWait.observe(seconds);
  }

  countShed(reason: ShedReason): void {
    this.requestsShed.inc({ reason });
  }

  countLoad(model: string, outcome: LoadOutcome, seconds: number): void {
    this.modelLoads.inc({ model, outcome });
    this.modelLoadDuration.observe(seconds);
  }

  setModelInfo(id: ServableId, info: Pick<ModelInfo, 'format' | 'backend'>): void {
    this.modelInfo.set(modelInfoLabels(id, info), 1);
    this.#infoLabels.set(`${id.name}:${id.version}`, modelInfoLabels(id, info));
  }

  removeModelInfo(id: ServableId): void {
    const key = `${id.name}:${id.version}`;
    const labels = this.#infoLabels.get(key);
    if (labels) this.modelInfo.remove(labels);
    this.#infoLabels.delete(key);
  }

  /** Prometheus text exposition of this process's registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function modelInfoLabels(
  id: ServableId,
  info: Pick<ModelInfo, 'format' | 'backend'>,
): Record<string, string> {
  return { model: id.name, version: String(id.version), format: info.format, backend: info.backend };
}

/** The gRPC server's metrics (src/grpc/unary.ts records them). */
function grpcMetrics(registers: Registry[]): [Counter<'method' | 'code'>, Histogram<'method'>] {
  return [
    new Counter({
      name: 'ctr_grpc_requests_total',
      help: 'gRPC calls answered, by full method name and gRPC status code name.',
      labelNames: ['method', 'code'],
      registers,
    }),
    new Histogram({
      name: 'ctr_grpc_request_duration_seconds',
      help: 'Time from a gRPC call received to its answer sent, by full method name.',
      labelNames: ['method'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }),
  ];
}
