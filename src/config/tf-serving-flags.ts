import type { FlagSpec } from './flag-spec.ts';

/**
 * TF Serving's other model-server flags (tensorflow_serving/model_servers/main.cc), so that a TF Serving command
 * line starts ctr-serve unchanged. The first ones act here; the rest are accepted with their TF Serving type and
 * warned about once at start (`ignored` says why they have no meaning here), never refused.
 */
export const TF_SERVING_FLAGS: readonly FlagSpec[] = [
  {
    name: 'rest_api_timeout_in_ms',
    type: 'int',
    min: 1,
    max: 3_600_000,
    arg: 'MS',
    config: 'predictTimeoutMs',
    defaultText: '--predict_timeout_ms',
    help: "TF Serving's name for --predict_timeout_ms (the deadline of a REST call's prediction)",
  },
  {
    name: 'model_config_file_poll_wait_seconds',
    type: 'int',
    default: 0,
    min: 0,
    max: 86400,
    arg: 'S',
    config: 'modelConfigFilePollWaitSeconds',
    help: 'seconds between re-reads of --model_config_file (models added, removed, re-policied, relabelled); 0 reads it once',
  },
  {
    name: 'allow_version_labels_for_unavailable_models',
    type: 'boolean',
    default: false,
    config: 'allowVersionLabelsForUnavailableModels',
    help: 'a new version label may name a version that is not AVAILABLE yet (TF Serving: only labels not in use)',
  },
  {
    name: 'monitoring_config_file',
    type: 'string',
    arg: 'FILE',
    config: 'prometheusPath',
    help: "TF Serving's MonitoringConfig (text proto or JSON): prometheus_config.path also serves /metrics",
  },
  ...ignored('string', 'grpc_socket_path', 'gRPC over a UNIX socket is not offered'),
  ...ignored('int', 'rest_api_num_threads', 'Node serves REST on one event loop per worker (see --workers)'),
  ...ignored('boolean', 'rest_api_enable_cors_support', 'no CORS headers are sent'),
  ...ignored(
    'boolean',
    'enable_per_model_batching_parameters',
    'batching_params.pbtxt in a SavedModel is not read',
  ),
  ...ignored('int', 'num_load_threads', 'versions of a model load one at a time'),
  ...ignored('int', 'num_unload_threads', 'versions unload once their last request is done'),
  ...ignored('int', 'max_num_load_retries', 'a failed version is retried when its files change'),
  ...ignored('int', 'load_retry_interval_micros', 'a failed version is retried when its files change'),
  ...ignored('boolean', 'flush_filesystem_caches', 'there are no TensorFlow file system caches'),
  ...ignored('int', 'tensorflow_session_parallelism', 'there is no TensorFlow session (tfjs runs the graph)'),
  ...ignored('string', 'tensorflow_session_config_file', 'there is no TensorFlow session'),
  ...ignored(
    'int',
    'tensorflow_intra_op_parallelism',
    'tfjs-wasm runs each op on one thread; scale with --workers',
  ),
  ...ignored('int', 'tensorflow_inter_op_parallelism', 'tfjs runs one op at a time; scale with --workers'),
  ...ignored('boolean', 'use_alts_credentials', 'ALTS is not offered'),
  ...ignored('string', 'ssl_config_file', 'TLS is left to the ingress or service mesh'),
  ...ignored('string', 'platform_config_file', 'the platform is always TensorFlow graphs on tfjs'),
  ...ignored('number', 'per_process_gpu_memory_fraction', 'there is no GPU'),
  ...ignored('string', 'saved_model_tags', 'SavedModels load the "serve" tag set'),
  ...ignored('int', 'grpc_max_threads', 'gRPC runs on the event loop'),
  ...ignored('boolean', 'enable_model_warmup', 'every version is always warmed up before it serves'),
  ...ignored('int', 'num_request_iterations_for_warmup', 'assets.extra warm-up requests are not replayed'),
  ...ignored('boolean', 'remove_unused_fields_from_bundle_metagraph', 'only what serving needs is kept'),
  ...ignored('boolean', 'prefer_tflite_model', 'TensorFlow Lite models are not served'),
  ...ignored('int', 'num_tflite_pools', 'TensorFlow Lite models are not served'),
  ...ignored('int', 'num_tflite_interpreters_per_pool', 'TensorFlow Lite models are not served'),
  ...ignored(
    'boolean',
    'enable_signature_method_name_check',
    "method names are not checked (TF Serving's default)",
  ),
  ...ignored('boolean', 'xla_cpu_compilation_enabled', 'there is no XLA'),
  ...ignored('boolean', 'xla_gpu_compilation_enabled', 'there is no XLA'),
  ...ignored('boolean', 'enable_profiler', 'there is no TensorFlow profiler service'),
  ...ignored('string', 'thread_pool_factory_config_file', 'there are no TensorFlow thread pools'),
  ...ignored('string', 'mixed_precision', 'graphs run at the precision they were saved in'),
  ...ignored('boolean', 'skip_initialize_tpu', 'there is no TPU'),
  ...ignored('boolean', 'enable_grpc_healthcheck_service', 'use GET /healthz and /readyz'),
];

function ignored(type: FlagSpec['type'], name: string, why: string): FlagSpec[] {
  const arg = type === 'boolean' ? undefined : type === 'string' ? 'VALUE' : 'N';
  return [
    { name, type, ...(arg ? { arg } : {}), ignored: why, help: `TF Serving's; no effect here: ${why}` },
  ];
}
