import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import textformat from 'protobufjs/ext/textformat.js';
import { CtrError } from '../errors/registry.ts';

/**
 * TF Serving's ascii config files (`--model_config_file`, `--batching_parameters_file`,
 * `--monitoring_config_file`) read the way TF Serving reads them: protobuf text format parsed against its own
 * messages, from the .proto files vendored verbatim in protos/ (protos/README.md), with protobufjs's text-format
 * extension (protobufjs/ext/textformat). Unknown fields, wrong types and syntax errors fail with
 * CTR_ERR_INVALID_CONFIG naming the file and line.
 */
const PROTOS = fileURLToPath(new URL('../../protos/', import.meta.url));

const FILES = [
  'tensorflow_serving/config/model_server_config.proto',
  'tensorflow_serving/config/monitoring_config.proto',
  'tensorflow_serving/servables/tensorflow/session_bundle_config.proto',
];

// session_bundle_config.proto (BatchingParameters) imports TensorFlow's config.proto and named_tensor.proto for
// three SessionBundleConfig fields (ConfigProto, BatchingOptions, NamedTensorProto) no file read here has; they are
// declared as empty messages so the vendored file resolves without vendoring TensorFlow's whole config.proto tree.
const TENSORFLOW_STUBS: Record<string, string> = {
  'tensorflow/core/protobuf/config.proto':
    'syntax = "proto3"; package tensorflow; message ConfigProto {} message BatchingOptions {}',
  'tensorflow/core/protobuf/named_tensor.proto':
    'syntax = "proto3"; package tensorflow; message NamedTensorProto {}',
};

let root: protobuf.Root | undefined;

function configRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  for (const [file, source] of Object.entries(TENSORFLOW_STUBS)) {
    protobuf.parse(source, r, { keepCase: true });
    r.files.push(PROTOS + file);
  }
  r.resolvePath = (_origin, target) =>
    target.startsWith(PROTOS) || target.startsWith('google/protobuf/') ? target : PROTOS + target;
  r.loadSync(FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** The message types read from text files, by their full proto names. */
export type ConfigMessage =
  | 'tensorflow.serving.ModelServerConfig'
  | 'tensorflow.serving.BatchingParameters'
  | 'tensorflow.serving.MonitoringConfig';

/**
 * `text` parsed as a `type` text proto, as a plain object: proto field names, int64 as numbers (versions and
 * sizes far below 2^53), enums as names, unset fields absent (a oneof shows the member that is set).
 */
export function parseTextProto(type: ConfigMessage, text: string, path: string): Record<string, unknown> {
  const messageType = configRoot().lookupType(type);
  let message: protobuf.Message;
  try {
    message = textformat.fromText(messageType, text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: not a ${type} text proto: ${why}`, { cause });
  }
  return messageType.toObject(message, { longs: Number, enums: String });
}

/** TF Serving's default Prometheus path (PrometheusExporter::kPrometheusPath), which ctr-serve always serves. */
export const TF_SERVING_PROMETHEUS_PATH = '/monitoring/prometheus/metrics';

/**
 * `--monitoring_config_file`: TF Serving's MonitoringConfig (monitoring_config.proto) as text proto or JSON,
 * e.g. `prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }`. Returns the path at which
 * Prometheus text is served besides /metrics and TF Serving's default path (an empty path means that default),
 * or undefined when prometheus_config is absent or not enabled.
 */
export function parseMonitoringConfigFile(text: string, path: string): string | undefined {
  let doc: Record<string, unknown>;
  if (text.trimStart().startsWith('{')) {
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: not valid JSON`, { cause });
    }
    const type = configRoot().lookupType('tensorflow.serving.MonitoringConfig');
    const why = type.verify(doc);
    if (why) throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: ${why}`);
  } else {
    doc = parseTextProto('tensorflow.serving.MonitoringConfig', text, path);
  }
  const prometheus = doc.prometheus_config as { enable?: boolean; path?: string } | undefined;
  if (!prometheus?.enable) return undefined;
  const served = prometheus.path || TF_SERVING_PROMETHEUS_PATH;
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(served)) {
    throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: prometheus_config.path must be a URL path`);
  }
  return served;
}
