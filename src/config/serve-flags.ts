import type { FlagSpec } from './flag-spec.ts';
import { TF_SERVING_FLAGS } from './tf-serving-flags.ts';

const INT32_MAX = 2 ** 31 - 1;
const HOUR_MS = 3_600_000;

// On by default, unlike TF Serving: a CTR server's clients send many small requests (one page view, tens of
// candidates), and merging them gave 3–7× the throughput of running each alone and a lower p99 for 32
// connections of 1-row or 1 × 10 requests (bench/README.md, batching sweep); a request that fills a batch on
// its own runs at once, so large requests lose nothing. --enable_batching=false gives TF Serving's behaviour.
const ENABLE_BATCHING = true;

// Under a burst, admitted requests wait at most about this long before the model starts on them; the excess is
// refused once the queue has drained instead of waiting in the kernel's socket backlog. 100 ms is 5× the p99
// target (docs/architecture.md, admission): with 50 ms, `npm run bench` saw ~1% of requests shed at half the
// peak rate (bursts of 1 × 1000 requests on a loaded machine), which is not overload.
const MAX_QUEUE_DELAY_MS = 100;

// A log line per request cost ≈ 10% of a 1 × 1000 CTR request's time on one core (issue 13: 790 → 868 req/s
// at --log_level=warn); TF Serving logs none. 1% keeps a trace of the traffic; errors (error-reply.ts) and slow
// requests are logged whatever the rate.
const ACCESS_LOG_SAMPLE_RATE = 0.01;

/** Flags of `ctr-serve serve`, TF Serving's names where it has one. `config` names the ServingConfig field. */
export const SERVE_FLAGS: readonly FlagSpec[] = [
  {
    name: 'rest_api_port',
    type: 'int',
    default: 8501,
    min: 0,
    max: 65535,
    arg: 'PORT',
    config: 'restApiPort',
    help: "REST port (TF Serving's default REST port); 0 picks a free one",
  },
  {
    name: 'rest_api_host',
    type: 'string',
    default: '0.0.0.0',
    arg: 'HOST',
    config: 'restApiHost',
    help: 'address to listen on',
  },
  {
    name: 'port',
    type: 'int',
    default: 8500,
    min: 0,
    max: 65535,
    arg: 'PORT',
    config: 'grpc.port',
    help:
      "gRPC port (TF Serving's default): tensorflow.serving PredictionService and ModelService, KServe V2 " +
      "inference.GRPCInferenceService, on --rest_api_host; 0 turns gRPC off (TF Serving's meaning)",
  },
  {
    name: 'grpc_channel_arguments',
    type: 'string',
    arg: 'K=V,...',
    config: 'grpc.channelArguments',
    defaultText: 'grpc.max_receive_message_length = --max_body_bytes',
    help:
      "TF Serving's gRPC server channel arguments, comma-separated key=value (integers stay integers); " +
      'grpc.max_receive_message_length and grpc.max_send_message_length bound message sizes (TF Serving has no ' +
      'other max message size flag)',
  },
  {
    name: 'enable_serialization_as_tensor_content',
    type: 'boolean',
    default: false,
    config: 'grpc.tensorContent',
    help: "gRPC Predict writes output tensors' numbers to tensor_content instead of the typed *_val fields (TF Serving's flag)",
  },
  {
    name: 'model_name',
    type: 'string',
    default: 'default',
    arg: 'NAME',
    config: 'models[0].name',
    help: 'name of the model given by --model_base_path',
  },
  {
    name: 'model_base_path',
    type: 'string',
    arg: 'DIR',
    config: 'models[0].basePath',
    defaultText: 'every subdirectory of models/ is a model',
    help: 'serve one model: DIR holds one subdirectory per version; the latest is served',
  },
  {
    name: 'model_config_file',
    type: 'string',
    arg: 'FILE',
    config: 'models',
    help: "TF Serving's ModelServerConfig as JSON or YAML (docs/api.md); excludes --model_base_path",
  },
  {
    name: 'default_model',
    type: 'string',
    arg: 'NAME',
    config: 'defaultModel',
    defaultText: 'ctr-student when served, else the first model',
    help: 'model answering /v1/ctr:predict',
  },
  {
    name: 'enable_batching',
    type: 'boolean',
    default: ENABLE_BATCHING,
    config: 'batching.enabled',
    help: 'merge concurrent requests to one model call (docs/architecture.md, batcher)',
  },
  {
    name: 'batching_parameters_file',
    type: 'string',
    arg: 'FILE',
    config: 'batching',
    help:
      "TF Serving's BatchingParameters (text proto or JSON): max_batch_size (default 1024), " +
      'batch_timeout_micros (0), max_enqueued_batches (64), num_batch_threads (1)',
  },
  {
    name: 'shadow_model',
    type: 'string',
    arg: 'NAME',
    config: 'shadowModel',
    defaultText: 'ctr-teacher when serving models/ with ctr-student as default',
    help: "teacher scored after the reply on a sample of the default model's CTR traffic (docs/shadow.md)",
  },
  {
    name: 'shadow_sample_rate',
    type: 'number',
    default: 0.05,
    min: 0,
    max: 1,
    arg: 'RATE',
    config: 'shadowSampleRate',
    help: 'fraction of CTR requests replayed on the shadow',
  },
  {
    name: 'shadow_queue_size',
    type: 'int',
    default: 64,
    min: 1,
    max: 1_000_000,
    arg: 'N',
    config: 'shadowQueueSize',
    help: 'sampled CTR batches waiting for the teacher; beyond it they are dropped',
  },
  {
    name: 'shadow_thread',
    type: 'boolean',
    default: true,
    config: 'shadowThread',
    help: "run the shadow teacher on its own worker thread (lowest CPU priority: SCHED_IDLE and nice 19 on Linux), off the student's event loop",
  },
  {
    name: 'shadow_window_size',
    type: 'int',
    default: 10_000,
    min: 1,
    max: 100_000_000,
    arg: 'N',
    config: 'shadowWindowSize',
    help: 'predictions in the sliding agreement window',
  },
  {
    name: 'file_system_poll_wait_seconds',
    type: 'number',
    default: 1,
    min: 0,
    max: 86400,
    arg: 'S',
    config: 'fileSystemPollWaitSeconds',
    help: 'seconds between scans of every base path; 0 scans once at start',
  },
  {
    name: 'predict_timeout_ms',
    type: 'int',
    default: 30_000,
    min: 1,
    max: HOUR_MS,
    arg: 'MS',
    config: 'predictTimeoutMs',
    help: 'longest wait for a batch thread before CTR_ERR_TIMEOUT',
  },
  {
    name: 'max_queue_delay_ms',
    type: 'number',
    default: MAX_QUEUE_DELAY_MS,
    min: 0,
    max: HOUR_MS,
    arg: 'MS',
    config: 'maxQueueDelayMs',
    help: 'refuse a request (503) when the queued rows would take longer than this at the measured speed; 0: no bound',
  },
  {
    name: 'model_thread',
    type: 'enum',
    default: 'auto',
    values: ['auto', 'true', 'false'],
    config: 'modelThread',
    help: 'run model calls on a worker thread of their own, off the event loop that reads, refuses and answers requests; auto: when each worker has two CPUs (--workers × 2 ≤ CPUs; bench/README.md, Overload)',
  },
  {
    name: 'share_history',
    type: 'boolean',
    default: true,
    config: 'shareHistory',
    help: "CTR requests feed each user's history once when the graph allows it",
  },
  {
    name: 'max_body_bytes',
    type: 'int',
    default: 8 * 1024 * 1024,
    min: 1,
    max: INT32_MAX,
    arg: 'BYTES',
    config: 'maxBodyBytes',
    help: 'largest request body',
  },
  {
    name: 'max_candidates_per_request',
    type: 'int',
    default: 100_000,
    min: 1,
    max: INT32_MAX,
    arg: 'N',
    config: 'maxCandidatesPerRequest',
    help: 'candidates summed over all users of one CTR request',
  },
  {
    name: 'max_users_per_request',
    type: 'int',
    default: 10_000,
    min: 1,
    max: INT32_MAX,
    arg: 'N',
    config: 'maxUsersPerRequest',
    help: 'users in one CTR request',
  },
  {
    name: 'connection_timeout_ms',
    type: 'int',
    default: 30_000,
    min: 1,
    max: HOUR_MS,
    arg: 'MS',
    config: 'connectionTimeoutMs',
    help: 'idle connections and slow clients are dropped after this',
  },
  {
    name: 'workers',
    type: 'int',
    min: 1,
    max: 1024,
    arg: 'N',
    config: 'workers',
    defaultText: 'the CPUs the container may use (cgroup cpu.max / cfs quota, CPU affinity)',
    help: 'HTTP server processes (node:cluster); 1 serves from this process',
  },
  {
    name: 'log_level',
    type: 'enum',
    default: 'info',
    config: 'logLevel',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    help: 'pino log level',
  },
  {
    name: 'access_log_sample_rate',
    type: 'number',
    default: ACCESS_LOG_SAMPLE_RATE,
    min: 0,
    max: 1,
    arg: 'RATE',
    config: 'accessLogSampleRate',
    help: 'fraction of answered requests logged at info (errors and slow requests are always logged)',
  },
  {
    name: 'slow_request_ms',
    type: 'number',
    default: 1000,
    min: 0,
    max: HOUR_MS,
    arg: 'MS',
    config: 'slowRequestMs',
    help: 'requests taking at least this long are logged at warn whatever the sample rate',
  },
  {
    name: 'backend',
    type: 'enum',
    default: 'wasm',
    config: 'backend',
    values: ['wasm', 'cpu', 'tensorflow', 'auto'],
    help: 'tfjs backend: wasm (tested), cpu, tensorflow (tfjs-node, checked against wasm at load), or auto',
  },
  ...TF_SERVING_FLAGS,
];
