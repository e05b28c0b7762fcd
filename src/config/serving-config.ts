import { join } from 'node:path';
import { CtrError } from '../errors/registry.ts';
import { containerCpuCount, modelThreadOn } from './container-cpus.ts';
import { flagValue, type FlagSpec, type FlagValue } from './flag-spec.ts';
import { SERVE_FLAGS } from './serve-flags.ts';
import { grpcChannelArguments, type GrpcConfig } from './grpc-channel-arguments.ts';
import { parseBatchingParametersFile, type BatchingConfig } from './batching-parameters-file.ts';
import { parseModelConfigFile, type ModelConfig } from './model-config-file.ts';
import { parseMonitoringConfigFile } from './text-proto.ts';

export type { BatchingConfig } from './batching-parameters-file.ts';
export type { ModelConfig, VersionPolicy } from './model-config-file.ts';

/**
 * The one schema of `ctr-serve serve`. `loadConfig` validates flags and file contents once and returns a deeply
 * frozen ServingConfig; everything else receives it as an argument and never reads flags, files or process.
 * Units are in the names. Invalid input fails with CTR_ERR_INVALID_CONFIG naming the flag or file key.
 */

/** `--backend` (src/graph/backend.ts): one tfjs backend, or `auto` (tfjs-node when it loads, else wasm). */
export const BACKEND_CHOICES = ['wasm', 'cpu', 'tensorflow', 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type ServingConfig = {
  /** REST port (TF Serving's default REST port). */
  readonly restApiPort: number;
  readonly restApiHost: string;
  /** gRPC server (src/grpc/grpc-server.ts); `port` 0 = off. */
  readonly grpc: GrpcConfig;
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
  /** Model calls run on a thread of their own (src/serving/model-thread.ts); `auto` resolved (modelThreadOn). */
  readonly modelThread: boolean;
  /** CTR requests feed each user's history once when the graph allows it (src/ctr/shared-history-variant.ts). */
  readonly shareHistory: boolean;
  readonly maxBodyBytes: number;
  /** Candidates summed over all users of one CTR request. */
  readonly maxCandidatesPerRequest: number;
  readonly maxUsersPerRequest: number;
  /** Idle connection timeout: slow clients are dropped. */
  readonly connectionTimeoutMs: number;
  /** Processes started by the cluster module; default: the CPUs the container may use (container-cpus.ts). */
  readonly workers: number;
  /** Shadow (teacher) of the default model, when any. */
  readonly shadowModel?: string;
  readonly shadowSampleRate: number;
  /** Sampled CTR batches waiting for the teacher; beyond it they are dropped and counted. */
  readonly shadowQueueSize: number;
  /** The shadow teacher runs on its own worker thread (src/shadow/teacher-thread.ts), else on the serving thread. */
  readonly shadowThread: boolean;
  /** Predictions in the sliding agreement window. */
  readonly shadowWindowSize: number;
  readonly logLevel: LogLevel;
  /** Fraction of answered requests logged at info (src/http/access-log.ts); errors are always logged. */
  readonly accessLogSampleRate: number;
  /** Requests taking at least this long are logged at warn whatever the sample rate. */
  readonly slowRequestMs: number;
  /** tfjs backend (src/graph/backend.ts): wasm by default; a version loaded on another is checked against wasm. */
  readonly backend: BackendChoice;
  /** `--model_config_file`'s path when the models came from it (re-read every modelConfigFilePollWaitSeconds). */
  readonly modelConfigFile?: string;
  /** Seconds between re-reads of modelConfigFile; 0 = read once. */
  readonly modelConfigFilePollWaitSeconds: number;
  /** TF Serving's rule relaxed: a new label may name a version that is not AVAILABLE yet. */
  readonly allowVersionLabelsForUnavailableModels: boolean;
  /** `--monitoring_config_file`'s prometheus_config.path, served like /metrics. */
  readonly prometheusPath?: string;
  /** TF Serving flags given that have no meaning here (src/config/tf-serving-flags.ts): warned about once. */
  readonly ignoredFlags: readonly string[];
};

export type Flags = Readonly<Record<string, string | boolean | undefined>>;

export type ConfigInput = {
  /** Flags parsed by node:util parseArgs, keyed by TF Serving's flag names (`rest_api_port`, ...). */
  readonly flags: Flags;
  /** Contents of `--model_config_file`, when given. */
  readonly modelConfigFile?: { readonly path: string; readonly text: string };
  /** Contents of `--batching_parameters_file`, when given. */
  readonly batchingParametersFile?: { readonly path: string; readonly text: string };
  /** Contents of `--monitoring_config_file`, when given. */
  readonly monitoringConfigFile?: { readonly path: string; readonly text: string };
  /** Used when neither --model_base_path nor --model_config_file is given: each subdirectory is a model. */
  readonly defaultModelsDir?: { readonly path: string; readonly names: readonly string[] };
  readonly cpuCount?: number;
};

export const DEFAULT_STUDENT = 'ctr-student';
export const DEFAULT_TEACHER = 'ctr-teacher';

// Batching is on by default (src/config/serve-flags.ts says why). 1024 rows take ≈ 3–4 ms of model time on the
// reference student (8192 would take ≈ 25 ms, over the p99 budget). Timeout 0: under load batches fill while the
// previous one runs, and 0 measured the same as 1 ms there; at low load a 1 ms timeout only adds latency (one
// client in sequence: TF Serving 1000 rows 8.2 → 11.7 ms, CTR 1 × 1000 3.2 → 4.8 ms, CTR 1 × 1 1.8 → 2.5 ms),
// while 0 matched batching off. Requests that arrive in the same event-loop turn still share a batch.
export const DEFAULT_BATCHING: BatchingConfig = Object.freeze({
  enabled: flagSpecOf('enable_batching').default as boolean,
  maxBatchSize: 1024,
  batchTimeoutMs: 0,
  maxEnqueuedBatches: 64,
  numBatchThreads: 1,
});

export function loadConfig(input: ConfigInput): ServingConfig {
  const f = input.flags;
  const known = new Set(SERVE_FLAGS.map((spec) => spec.name));
  for (const key of Object.keys(f)) {
    if (f[key] !== undefined && !known.has(key)) invalid(`unknown flag --${key}`);
  }
  const { models, defaultModel, shadowModel } = modelsOf(input);
  const shadowSampleRate = num(f, 'shadow_sample_rate');

  const fileBatching = input.batchingParametersFile
    ? parseBatchingParametersFile(input.batchingParametersFile.text, input.batchingParametersFile.path)
    : {};
  const batching: BatchingConfig = {
    ...DEFAULT_BATCHING,
    ...fileBatching,
    enabled: flag(f, 'enable_batching') as boolean,
  };

  const cpus = input.cpuCount ?? containerCpuCount();
  const workers = (flag(f, 'workers') as number | undefined) ?? cpus;
  const config: ServingConfig = {
    restApiPort: num(f, 'rest_api_port'),
    restApiHost: str(f, 'rest_api_host')!,
    grpc: {
      port: num(f, 'port'),
      channelArguments: grpcChannelArguments(str(f, 'grpc_channel_arguments'), num(f, 'max_body_bytes')),
      tensorContent: flag(f, 'enable_serialization_as_tensor_content') as boolean,
    },
    models,
    defaultModel,
    fileSystemPollWaitSeconds: num(f, 'file_system_poll_wait_seconds'),
    batching,
    predictTimeoutMs: predictTimeoutMs(f),
    maxQueueDelayMs: num(f, 'max_queue_delay_ms'),
    shareHistory: flag(f, 'share_history') as boolean,
    maxBodyBytes: num(f, 'max_body_bytes'),
    maxCandidatesPerRequest: num(f, 'max_candidates_per_request'),
    maxUsersPerRequest: num(f, 'max_users_per_request'),
    connectionTimeoutMs: num(f, 'connection_timeout_ms'),
    workers,
    modelThread: modelThreadOn(str(f, 'model_thread') as 'auto' | 'true' | 'false', workers, cpus),
    shadowModel,
    shadowSampleRate,
    shadowQueueSize: num(f, 'shadow_queue_size'),
    shadowWindowSize: num(f, 'shadow_window_size'),
    shadowThread: flag(f, 'shadow_thread') as boolean,
    logLevel: str(f, 'log_level') as LogLevel,
    accessLogSampleRate: num(f, 'access_log_sample_rate'),
    slowRequestMs: num(f, 'slow_request_ms'),
    backend: str(f, 'backend') as BackendChoice,
    modelConfigFile: input.modelConfigFile?.path,
    modelConfigFilePollWaitSeconds: num(f, 'model_config_file_poll_wait_seconds'),
    allowVersionLabelsForUnavailableModels: flag(f, 'allow_version_labels_for_unavailable_models') as boolean,
    prometheusPath: input.monitoringConfigFile
      ? parseMonitoringConfigFile(input.monitoringConfigFile.text, input.monitoringConfigFile.path)
      : undefined,
    ignoredFlags: SERVE_FLAGS.filter((spec) => spec.ignored && f[spec.name] !== undefined).map((s) => s.name),
  };
  for (const spec of SERVE_FLAGS) if (spec.ignored) flag(f, spec.name); // still type-checked
  return deepFreeze(config);
}

/**
 * The models of a config reload (a re-read `--model_config_file`, or ModelService/HandleReloadConfigRequest),
 * checked like the first: unique names, the default model still there, shadows configured. The default model
 * keeps the shadow it started with unless the new config names one.
 */
export function reloadedModels(config: ServingConfig, parsed: readonly ModelConfig[]): ModelConfig[] {
  const started = config.models.find((m) => m.name === config.defaultModel);
  const models = parsed.map((m) =>
    m.name === config.defaultModel && m.shadowModel === undefined && started?.shadowModel
      ? { ...m, shadowModel: started.shadowModel }
      : m,
  );
  checkModelList(models, config.defaultModel);
  return deepFreeze(models);
}

/** The models to serve (flags, model config file or the default models), the default one and its shadow. */
function modelsOf(input: ConfigInput): {
  models: ModelConfig[];
  defaultModel: string;
  shadowModel: string | undefined;
} {
  const f = input.flags;
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
        name: str(f, 'model_name')!,
        basePath: str(f, 'model_base_path')!,
        versionPolicy: { kind: 'latest', numVersions: 1 },
      },
    ];
  } else {
    models = defaultModels(input.defaultModelsDir);
  }
  if (models.length === 0) invalid('no model to serve: give --model_base_path or --model_config_file');
  const names = new Set(models.map((m) => m.name));
  defaultModel ??= names.has(DEFAULT_STUDENT) ? DEFAULT_STUDENT : models[0]!.name;

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
  checkModelList(models, defaultModel);
  return { models, defaultModel, shadowModel };
}

function checkModelList(models: readonly ModelConfig[], defaultModel: string): void {
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) invalid(`model "${m.name}" is configured twice`);
    names.add(m.name);
  }
  if (!names.has(defaultModel)) invalid(`default model "${defaultModel}" is not configured`);
  for (const m of models) {
    if (m.shadowModel !== undefined && !names.has(m.shadowModel)) {
      invalid(`shadow_model "${m.shadowModel}" of model "${m.name}" is not a configured model`);
    }
    if (m.shadowModel === m.name) invalid(`model "${m.name}" cannot shadow itself`);
  }
}

/** `--rest_api_timeout_in_ms` is TF Serving's name for `--predict_timeout_ms`; giving both differently is refused. */
function predictTimeoutMs(f: Flags): number {
  const tf = flag(f, 'rest_api_timeout_in_ms') as number | undefined;
  const own = num(f, 'predict_timeout_ms');
  if (tf === undefined) return own;
  if (f.predict_timeout_ms !== undefined && own !== tf) {
    invalid('--rest_api_timeout_in_ms and --predict_timeout_ms differ; give one');
  }
  return tf;
}

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

function flagSpecOf(name: string): FlagSpec {
  return SERVE_FLAGS.find((spec) => spec.name === name)!;
}

function flag(f: Flags, name: string): FlagValue | undefined {
  return flagValue(flagSpecOf(name), f[name], 'CTR_ERR_INVALID_CONFIG');
}

function str(f: Flags, name: string): string | undefined {
  return flag(f, name) as string | undefined;
}

function num(f: Flags, name: string): number {
  return flag(f, name) as number;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
