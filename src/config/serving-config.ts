import { cpus } from 'node:os';
import { join } from 'node:path';
import { CtrError } from '../errors/registry.ts';
import { parseBatchingParametersFile } from './batching-parameters-file.ts';
import { parseModelConfigFile } from './model-config-file.ts';

export { parseBatchingParametersFile } from './batching-parameters-file.ts';
export { parseModelConfigFile } from './model-config-file.ts';

/**
 * The one schema of `ctr-serve serve`. `loadConfig` validates flags and file contents once and returns a deeply
 * frozen ServingConfig; everything else receives it as an argument and never reads flags, files or process.
 * Units are in the names. Invalid input fails with CTR_ERR_INVALID_CONFIG naming the flag or file key.
 */

/** Which versions under `<basePath>/<version>/` are served (TF Serving's model_version_policy). */
export type VersionPolicy =
  | { readonly kind: 'latest'; readonly numVersions: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'specific'; readonly versions: readonly number[] };

export type ModelConfig = {
  readonly name: string;
  /** Directory holding one subdirectory per version (positive integers, zero padding allowed). */
  readonly basePath: string;
  readonly versionPolicy: VersionPolicy;
  /** Teacher scored after the reply on a sample of this model's CTR traffic. */
  readonly shadowModel?: string;
  /** Fraction in [0, 1] of this model's CTR requests replayed on its shadow; default: the global rate. */
  readonly shadowSampleRate?: number;
};

export type BatchingConfig = {
  /** Off: each request runs alone, at once (still bounded by maxEnqueuedBatches in flight). */
  readonly enabled: boolean;
  /** Rows (dim 0) merged into one model call at most; a single larger request runs alone. */
  readonly maxBatchSize: number;
  /** How long an open batch waits for more rows once a batch thread is free. */
  readonly batchTimeoutMs: number;
  /** Batches waiting per model+version+signature queue; beyond it requests are shed (CTR_ERR_QUEUE_FULL). */
  readonly maxEnqueuedBatches: number;
  /** Batches run concurrently (one tfjs backend thread per process, so 1 is usually right). */
  readonly numBatchThreads: number;
};

/** `--backend` (src/graph/backend.ts): one tfjs backend, or `auto` (tfjs-node when it loads, else wasm). */
export const BACKEND_CHOICES = ['wasm', 'cpu', 'tensorflow', 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type ServingConfig = {
  /** REST port (TF Serving's default REST port). */
  readonly restApiPort: number;
  readonly restApiHost: string;
  readonly models: readonly ModelConfig[];
  /** Model used by `/v1/ctr:predict`; the first model unless set. */
  readonly defaultModel: string;
  /** Seconds between scans of every base path; 0 = scan once at start. */
  readonly fileSystemPollWaitSeconds: number;
  readonly batching: BatchingConfig;
  /** Longest time a request may wait for a batch thread before CTR_ERR_TIMEOUT. */
  readonly predictTimeoutMs: number;
  /**
   * Admission control: a request is refused at once (503 CTR_ERR_QUEUE_FULL) when the rows already admitted
   * would take longer than this to run at the model's measured rows per ms (EWMA); 0 = no such bound. A request
   * is always admitted when nothing is queued.
   */
  readonly maxQueueDelayMs: number;
  /** CTR requests feed each user's history once when the graph allows it (ModelInfo.sharedHistory). */
  readonly shareHistory: boolean;
  readonly maxBodyBytes: number;
  /** Candidates summed over all users of one CTR request. */
  readonly maxCandidatesPerRequest: number;
  readonly maxUsersPerRequest: number;
  /** Idle connection timeout: slow clients are dropped. */
  readonly connectionTimeoutMs: number;
  /** Processes started by the cluster module; default: number of CPUs. */
  readonly workers: number;
  /** Shadow (teacher) of the default model, when any. */
  readonly shadowModel?: string;
  readonly shadowSampleRate: number;
  /** Sampled CTR batches waiting for the teacher; beyond it they are dropped and counted. */
  readonly shadowQueueSize: number;
  /** Predictions in the sliding agreement window. */
  readonly shadowWindowSize: number;
  readonly logLevel: LogLevel;
  /** tfjs backend (src/graph/backend.ts): wasm by default; a version loaded on another is checked against wasm. */
  readonly backend: BackendChoice;
};

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

export type ConfigInput = {
  /** Flags parsed by node:util parseArgs, keyed by TF Serving's flag names (`rest_api_port`, ...). */
  readonly flags: Flags;
  /** Contents of `--model_config_file`, when given. */
  readonly modelConfigFile?: { readonly path: string; readonly text: string };
  /** Contents of `--batching_parameters_file`, when given. */
  readonly batchingParametersFile?: { readonly path: string; readonly text: string };
  /** Used when neither --model_base_path nor --model_config_file is given: each subdirectory is a model. */
  readonly defaultModelsDir?: { readonly path: string; readonly names: readonly string[] };
  readonly cpuCount?: number;
};

export const DEFAULT_STUDENT = 'ctr-student';
export const DEFAULT_TEACHER = 'ctr-teacher';

// On by default, unlike TF Serving: a CTR server's clients send many small requests (one page view, tens of
// candidates), and merging them gave 3–7× the throughput of running each alone and a lower p99 for 32
// connections of 1-row or 1 × 10 requests (bench/README.md, batching sweep); a request that fills a batch on
// its own runs at once, so large requests lose nothing. --enable_batching=false gives TF Serving's behaviour.
// 1024 rows take ≈ 3–4 ms of model time on the reference student (8192 would take ≈ 25 ms, over the p99 budget).
// Timeout 0: under load batches fill while the previous one runs, and 0 measured the same as 1 ms there; at low
// load a 1 ms timeout only adds latency (one client in sequence: TF Serving 1000 rows 8.2 → 11.7 ms, CTR 1 × 1000
// 3.2 → 4.8 ms, CTR 1 × 1 1.8 → 2.5 ms), while 0 matched batching off. Requests that arrive in the same
// event-loop turn still share a batch.
export const DEFAULT_BATCHING: BatchingConfig = Object.freeze({
  enabled: true,
  maxBatchSize: 1024,
  batchTimeoutMs: 0,
  maxEnqueuedBatches: 64,
  numBatchThreads: 1,
});

// Under a burst, admitted requests wait at most about this long before the model starts on them; the excess is
// refused once the queue has drained instead of waiting in the kernel's socket backlog. 100 ms is 5× the p99
// target of DESIGN §10: with 50 ms, `npm run bench` saw ~1% of requests shed at half the peak rate (bursts of
// 1 × 1000 requests on a loaded machine), which is not overload.
export const DEFAULT_MAX_QUEUE_DELAY_MS = 100;

export function loadConfig(input: ConfigInput): ServingConfig {
  const f = input.flags;
  const known = new Set<string>(FLAG_NAMES);
  for (const key of Object.keys(f)) {
    if (f[key] !== undefined && !known.has(key)) invalid(`unknown flag --${key}`);
  }
  let models: ModelConfig[];
  let defaultModel = str(f, 'default_model');
  if (input.modelConfigFile) {
    if (f.model_base_path !== undefined) invalid('give either --model_base_path or --model_config_file');
    const parsed = parseModelConfigFile(input.modelConfigFile.text, input.modelConfigFile.path);
    models = [...parsed.models];
    defaultModel ??= parsed.defaultModel;
  } else if (f.model_base_path !== undefined) {
    models = [
      {
        name: str(f, 'model_name') ?? 'default',
        basePath: str(f, 'model_base_path')!,
        versionPolicy: { kind: 'latest', numVersions: 1 },
      },
    ];
  } else {
    models = defaultModels(input.defaultModelsDir);
  }
  if (models.length === 0) invalid('no model to serve: give --model_base_path or --model_config_file');
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) invalid(`model "${m.name}" is configured twice`);
    names.add(m.name);
  }
  defaultModel ??= names.has(DEFAULT_STUDENT) ? DEFAULT_STUDENT : models[0]!.name;
  if (!names.has(defaultModel)) invalid(`default model "${defaultModel}" is not configured`);

  const shadowSampleRate = num(f, 'shadow_sample_rate', 0.05, 0, 1);
  let shadowModel = str(f, 'shadow_model');
  if (shadowModel === undefined && !input.modelConfigFile && f.model_base_path === undefined) {
    if (names.has(DEFAULT_TEACHER) && defaultModel === DEFAULT_STUDENT) shadowModel = DEFAULT_TEACHER;
  }
  if (shadowModel !== undefined) {
    if (!names.has(shadowModel)) invalid(`--shadow_model "${shadowModel}" is not a configured model`);
    models = models.map((m) =>
      m.name === defaultModel && m.shadowModel === undefined ? { ...m, shadowModel } : m,
    );
  }
  for (const m of models) {
    if (m.shadowModel !== undefined && !names.has(m.shadowModel)) {
      invalid(`shadow_model "${m.shadowModel}" of model "${m.name}" is not a configured model`);
    }
    if (m.shadowModel === m.name) invalid(`model "${m.name}" cannot shadow itself`);
  }

  const fileBatching = input.batchingParametersFile
    ? parseBatchingParametersFile(input.batchingParametersFile.text, input.batchingParametersFile.path)
    : {};
  const batching: BatchingConfig = {
    ...DEFAULT_BATCHING,
    ...fileBatching,
    enabled: bool(f, 'enable_batching', DEFAULT_BATCHING.enabled),
  };

  const config: ServingConfig = {
    restApiPort: int(f, 'rest_api_port', 8501, 0, 65535),
    restApiHost: str(f, 'rest_api_host') ?? '0.0.0.0',
    models,
    defaultModel,
    fileSystemPollWaitSeconds: num(f, 'file_system_poll_wait_seconds', 1, 0, 86400),
    batching,
    predictTimeoutMs: int(f, 'predict_timeout_ms', 30000, 1, 3600000),
    maxQueueDelayMs: num(f, 'max_queue_delay_ms', DEFAULT_MAX_QUEUE_DELAY_MS, 0, 3600000),
    shareHistory: bool(f, 'share_history', true),
    maxBodyBytes: int(f, 'max_body_bytes', 8 * 1024 * 1024, 1, 2 ** 31 - 1),
    maxCandidatesPerRequest: int(f, 'max_candidates_per_request', 100000, 1, 2 ** 31 - 1),
    maxUsersPerRequest: int(f, 'max_users_per_request', 10000, 1, 2 ** 31 - 1),
    connectionTimeoutMs: int(f, 'connection_timeout_ms', 30000, 1, 3600000),
    workers: int(f, 'workers', input.cpuCount ?? cpus().length, 1, 1024),
    shadowModel,
    shadowSampleRate,
    shadowQueueSize: int(f, 'shadow_queue_size', 64, 1, 1000000),
    shadowWindowSize: int(f, 'shadow_window_size', 10000, 1, 100000000),
    logLevel: logLevel(str(f, 'log_level') ?? 'info'),
    backend: backendChoice(str(f, 'backend') ?? 'wasm'),
  };
  return deepFreeze(config);
}

/** Flags `ctr-serve serve` accepts (TF Serving's names where it has one). */
export const FLAG_NAMES = [
  'rest_api_port',
  'rest_api_host',
  'model_name',
  'model_base_path',
  'model_config_file',
  'default_model',
  'enable_batching',
  'batching_parameters_file',
  'shadow_model',
  'shadow_sample_rate',
  'shadow_queue_size',
  'shadow_window_size',
  'file_system_poll_wait_seconds',
  'predict_timeout_ms',
  'max_queue_delay_ms',
  'share_history',
  'max_body_bytes',
  'max_candidates_per_request',
  'max_users_per_request',
  'connection_timeout_ms',
  'workers',
  'log_level',
  'backend',
] as const;

function defaultModels(dir: ConfigInput['defaultModelsDir']): ModelConfig[] {
  if (!dir) return [];
  return [...dir.names].sort().map((name) => ({
    name,
    basePath: join(dir.path, name),
    versionPolicy: { kind: 'latest', numVersions: 1 } as const,
  }));
}

function invalid(message: string): never {
  throw new CtrError('CTR_ERR_INVALID_CONFIG', message);
}

function str(f: Flags, key: string): string | undefined {
  const v = f[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') invalid(`--${key} needs a value`);
  return v;
}

function num(f: Flags, key: string, dflt: number, min: number, max: number): number {
  const s = str(f, key);
  if (s === undefined) return dflt;
  const v = Number(s);
  if (!Number.isFinite(v) || v < min || v > max) invalid(`--${key}=${s} is not a number in [${min}, ${max}]`);
  return v;
}

function int(f: Flags, key: string, dflt: number, min: number, max: number): number {
  const v = num(f, key, dflt, min, max);
  if (!Number.isInteger(v)) invalid(`--${key}=${String(f[key])} is not an integer`);
  return v;
}

function bool(f: Flags, key: string, dflt: boolean): boolean {
  const v = f[key];
  if (v === undefined) return dflt;
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  return invalid(`--${key}=${String(v)} is not true or false`);
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(s: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(s)) invalid(`--log_level=${s} is not one of ${LOG_LEVELS}`);
  return s as LogLevel;
}

function backendChoice(s: string): BackendChoice {
  if (!(BACKEND_CHOICES as readonly string[]).includes(s)) {
    invalid(`--backend=${s} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  return s as BackendChoice;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
