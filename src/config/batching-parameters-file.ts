import { CtrError } from '../errors/registry.ts';
import { parseTextProto } from './text-proto.ts';

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

/**
 * TF Serving's `--batching_parameters_file`: a BatchingParameters text proto
 * (tensorflow_serving/servables/tensorflow/session_bundle_config.proto, parsed by text-proto.ts, so
 * `max_batch_size { value: 128 }` as TF Serving writes it), or JSON (`{"max_batch_size": 128}` or proto3 JSON's
 * `{"max_batch_size": {"value": 128}}`). Read: max_batch_size, batch_timeout_micros (converted to ms),
 * max_enqueued_batches, num_batch_threads. The other BatchingParameters fields are accepted and not used; unknown
 * fields and bad values fail with CTR_ERR_INVALID_CONFIG.
 */
const READ = ['max_batch_size', 'batch_timeout_micros', 'max_enqueued_batches', 'num_batch_threads'];
const IGNORED = [
  'allowed_batch_sizes',
  'pad_variable_length_inputs',
  'enable_large_batch_splitting',
  'max_execution_batch_size',
  'thread_pool_name',
];

export function parseBatchingParametersFile(
  text: string,
  path = 'batching parameters',
): Partial<Omit<BatchingConfig, 'enabled'>> {
  const bad = (msg: string): never => {
    throw new CtrError('CTR_ERR_INVALID_CONFIG', `${path}: ${msg}`);
  };
  const doc = text.trimStart().startsWith('{')
    ? fromJson(text, bad)
    : parseTextProto('tensorflow.serving.BatchingParameters', text, path);
  const out: { -readonly [K in keyof BatchingConfig]?: number } = {};
  for (const [key, raw] of Object.entries(doc)) {
    if (IGNORED.includes(key)) continue;
    if (!READ.includes(key)) bad(`unknown key "${key}"`);
    const value = typeof raw === 'object' && raw !== null && 'value' in raw ? raw.value : raw;
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    const min = key === 'batch_timeout_micros' ? 0 : 1;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
      bad(`"${key}" must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    }
    const v = n as number;
    if (key === 'max_batch_size') out.maxBatchSize = v;
    else if (key === 'batch_timeout_micros') out.batchTimeoutMs = v / 1000;
    else if (key === 'max_enqueued_batches') out.maxEnqueuedBatches = v;
    else out.numBatchThreads = v;
  }
  return out;
}

function fromJson(text: string, bad: (msg: string) => never): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad('not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('expected a JSON object');
  return doc as Record<string, unknown>;
}
