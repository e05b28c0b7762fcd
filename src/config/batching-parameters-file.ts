import { CtrError } from '../errors/registry.ts';

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
 * TF Serving's `--batching_parameters_file` (BatchingParameters), in its text-proto form
 * (`max_batch_size { value: 128 }`, also `max_batch_size: 128`) or as JSON (`{"max_batch_size": 128}` or
 * `{"max_batch_size": {"value": 128}}`). Read keys: max_batch_size, batch_timeout_micros (converted to ms),
 * max_enqueued_batches, num_batch_threads. Other BatchingParameters fields are accepted and ignored;
 * unknown keys and bad values fail with CTR_ERR_INVALID_CONFIG.
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
  const values = text.trimStart().startsWith('{') ? fromJson(text, bad) : fromTextProto(text, bad);
  const out: { -readonly [K in keyof BatchingConfig]?: number } = {};
  for (const [key, value] of values) {
    if (IGNORED.includes(key)) continue;
    if (!READ.includes(key)) bad(`unknown key "${key}"`);
    const n = Number(value);
    const min = key === 'batch_timeout_micros' ? 0 : 1;
    if (!Number.isSafeInteger(n) || n < min) bad(`"${key}" must be an integer >= ${min}, got ${value}`);
    if (key === 'max_batch_size') out.maxBatchSize = n;
    else if (key === 'batch_timeout_micros') out.batchTimeoutMs = n / 1000;
    else if (key === 'max_enqueued_batches') out.maxEnqueuedBatches = n;
    else out.numBatchThreads = n;
  }
  return out;
}

function fromJson(text: string, bad: (msg: string) => never): [string, string][] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad('not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('expected a JSON object');
  return Object.entries(doc).map(([key, v]) => {
    const inner = typeof v === 'object' && v !== null && 'value' in v ? (v as { value: unknown }).value : v;
    return [key, typeof inner === 'number' || typeof inner === 'string' ? String(inner) : 'NaN'];
  });
}

// A text proto of scalar wrappers only, so a regular expression is enough (no nested messages besides
// `{ value: N }`, which is how TF Serving's own examples write them).
function fromTextProto(text: string, bad: (msg: string) => never): [string, string][] {
  const stripped = text.replace(/#[^\n]*/g, '');
  const entry = /([A-Za-z_]+)\s*(?::\s*("?[^\s{},;"]+"?)|\{\s*value\s*:\s*("?[^\s{},;"]+"?)\s*\})/gy;
  const out: [string, string][] = [];
  let pos = 0;
  for (;;) {
    while (pos < stripped.length && /[\s,;]/.test(stripped[pos]!)) pos++;
    if (pos >= stripped.length) break;
    entry.lastIndex = pos;
    const m = entry.exec(stripped);
    if (!m) return bad(`cannot read text proto near "${stripped.slice(pos, pos + 30)}"`);
    out.push([m[1]!, (m[2] ?? m[3]!).replace(/"/g, '')]);
    pos = entry.lastIndex;
  }
  return out;
}
