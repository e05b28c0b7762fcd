/**
 * The one error registry. Every failure a user can see has a stable `code` (users match on it, never on the
 * message), an HTTP status that lives here and never at the throw site, and a one-line description that
 * `docs/errors.md` repeats (a test checks both directions).
 *
 * Add a code by adding one entry to ERRORS; throw it with `new CtrError('CTR_ERR_X', 'message naming the
 * file/node/op at fault', { cause })`.
 */
export const ERRORS = {
  // Model formats (graph/)
  CTR_ERR_NOT_A_MODEL: {
    status: 400,
    description: 'The path is not a frozen GraphDef file or a SavedModel directory.',
  },
  CTR_ERR_TEXT_PROTO_UNSUPPORTED: {
    status: 400,
    description: 'A text-format protobuf (.pbtxt) was given; only binary .pb is supported.',
  },
  CTR_ERR_LEGACY_SESSION_BUNDLE: {
    status: 400,
    description: 'A legacy SessionBundle export (export.meta) was given; re-export it as a SavedModel.',
  },
  CTR_ERR_PROTO_DECODE: { status: 400, description: 'A protobuf file is truncated or corrupt.' },
  CTR_ERR_CHECKSUM: {
    status: 400,
    description: 'A checkpoint block or tensor failed its masked crc32c check.',
  },
  CTR_ERR_BUNDLE_CORRUPT: {
    status: 400,
    description: 'The variables/ tensor bundle is malformed (bad table, footer, block or shard).',
  },
  CTR_ERR_MISSING_VARIABLE: {
    status: 400,
    description: 'A variable the graph reads is not in the checkpoint.',
  },
  CTR_ERR_UNSUPPORTED_OP: {
    status: 400,
    description: 'The graph uses ops that cannot run here; all of them are listed.',
  },
  CTR_ERR_NOT_FROZEN: {
    status: 400,
    description: 'The GraphDef is a training graph with variables and no checkpoint; freeze it first.',
  },
  CTR_ERR_INVALID_GRAPH: {
    status: 400,
    description:
      'The graph is malformed: a missing input node, a cycle, a bad attr, a constant without a value.',
  },
  CTR_ERR_TENSOR_TOO_LARGE: {
    status: 400,
    description: 'A declared tensor shape is negative or larger than the allowed number of elements.',
  },
  CTR_ERR_UNSUPPORTED_DTYPE: {
    status: 400,
    description: 'A tensor has a dtype ctr-serve cannot hold (complex, resource, variant, ...).',
  },
  CTR_ERR_INT64_RANGE: {
    status: 400,
    description: 'An int64 value does not fit the int32 that tfjs computes with.',
  },
  CTR_ERR_TAG_SET_NOT_FOUND: {
    status: 404,
    description: 'No MetaGraphDef in the SavedModel has the requested tag set.',
  },
  CTR_ERR_SIGNATURE_NOT_FOUND: {
    status: 400,
    description: 'The requested signature does not exist in the model.',
  },
  CTR_ERR_SIGNATURE_METHOD: {
    status: 400,
    description:
      'The signature cannot serve the method asked for: :classify needs one string input "inputs" and outputs "classes" (string) and/or "scores" (float) of shape [batch, classes]; :regress one input "inputs" and one float output "outputs" of shape [batch] or [batch, 1] (TF Serving: INVALID_ARGUMENT).',
  },
  CTR_ERR_OUTPUT_NOT_FOUND: {
    status: 400,
    description: 'A requested output node or tensor does not exist in the graph.',
  },
  CTR_ERR_INPUT_MISMATCH: {
    status: 400,
    description: 'An input is missing, unknown, or has the wrong shape or dtype.',
  },
  CTR_ERR_INVALID_EXAMPLE: {
    status: 400,
    description:
      "A serialized tf.Example does not parse or is over its limits, or a feature the model's ParseExample needs is missing, of the wrong type or of the wrong size (TensorFlow: INVALID_ARGUMENT).",
  },
  CTR_ERR_INDEX_OUT_OF_RANGE: {
    status: 400,
    description:
      'An input value indexes a table (Gather, SparseSegment*, ...) outside its rows, [0, rows); refused before the model runs (TensorFlow: INVALID_ARGUMENT).',
  },
  CTR_ERR_INVALID_ARGUMENT: {
    status: 400,
    description:
      "An op refused its input values as TensorFlow's kernel does (INVALID_ARGUMENT: a sparse index outside its dense shape, a negative bucket count, ...).",
  },
  CTR_ERR_TABLE_INIT: {
    status: 400,
    description:
      "A lookup table's initializer could not run at load: a missing or malformed asset file, a duplicate key, or an initializer whose inputs are not constants or assets.",
  },
  CTR_ERR_EXECUTION: { status: 500, description: 'The model failed while running.' },
  CTR_ERR_BACKEND_MISMATCH: {
    status: 500,
    description:
      'A model version gave different warm-up outputs on the chosen tfjs backend and on wasm; it is not served.',
  },
  CTR_ERR_BACKEND_UNAVAILABLE: {
    status: 400,
    description: 'The tfjs backend asked for with --backend is not installed or failed to initialise.',
  },
  // Serving (serving/, features/, config/)
  CTR_ERR_MODEL_NOT_FOUND: { status: 404, description: 'No model with that name is configured.' },
  CTR_ERR_VERSION_NOT_FOUND: {
    status: 404,
    description: 'The model has no version with that number available (unknown, failed, or unloaded).',
  },
  CTR_ERR_UNKNOWN_VERSION_LABEL: {
    status: 400,
    description:
      'The model has no version label of that name (TF Serving\'s "Unrecognized servable version label").',
  },
  CTR_ERR_MODEL_UNAVAILABLE: {
    status: 503,
    description: 'The model has no AVAILABLE version yet (still loading, or every version failed to load).',
  },
  CTR_ERR_QUEUE_FULL: {
    status: 503,
    description:
      'The batch queue is full, or the work already queued would take over max_queue_delay_ms; the request was ' +
      'shed at once instead of waiting (retry later).',
  },
  CTR_ERR_TIMEOUT: {
    status: 504,
    description: 'The request waited longer than the prediction deadline and was dropped.',
  },
  CTR_ERR_BAD_REQUEST: {
    status: 400,
    description:
      'The body is not valid JSON or not a valid TF Serving / CTR request body, or the URL does not percent-decode.',
  },
  CTR_ERR_MALFORMED_HTTP: {
    status: 400,
    description:
      "The request is not valid HTTP/1.1 (Node's parser refused it: a bad header, Content-Length or chunk).",
  },
  CTR_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    description:
      "The request's header section is larger than the limit (Node's max header size, 16 KiB by default).",
  },
  CTR_ERR_CLIENT_TIMEOUT: {
    status: 408,
    description: 'The client did not finish sending its request within connection_timeout_ms.',
  },
  CTR_ERR_DTYPE_RANGE: {
    status: 400,
    description:
      "A JSON value for an integer input (int8/16/32/64, uint8) is an integer outside its dtype's range (TF Serving's json_tensor.cc refuses it too).",
  },
  CTR_ERR_JSON_TOO_DEEP: {
    status: 400,
    description: 'The JSON body nests arrays/objects deeper than the limit (64 levels).',
  },
  CTR_ERR_INVALID_ID: {
    status: 400,
    description:
      "An item id is not a JSON integer >= 0 (string, boolean, null, float, negative), is beyond the input dtype's range, or is >= vocab_size without oov_id.",
  },
  CTR_ERR_EMPTY_REQUEST: { status: 400, description: 'The requests list or a candidates list is empty.' },
  CTR_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    description: 'The body, the number of users or the number of candidates is over its limit.',
  },
  CTR_ERR_NOT_CTR_MODEL: {
    status: 400,
    description:
      'The model lacks the CTR signature (inputs history int32 [batch, L] and candidate int32 [batch], output ctr).',
  },
  CTR_ERR_SHUTTING_DOWN: {
    status: 503,
    description: 'The server is shutting down and takes no new requests.',
  },
  CTR_ERR_WARMUP_FAILED: {
    status: 500,
    description:
      'A model version failed its warm-up prediction (error, non-finite or mis-shaped outputs); it is not served.',
  },
  CTR_ERR_INVALID_CONFIG: {
    status: 400,
    description: 'The serving configuration (flags, model config file, batching parameters) is invalid.',
  },
  CTR_ERR_MODELS_NOT_AVAILABLE: {
    status: 500,
    description:
      'A config reload (ModelService/HandleReloadConfigRequest) was applied, but some of its models have no AVAILABLE version.',
  },
  // HTTP (http/)
  CTR_ERR_ROUTE_NOT_FOUND: { status: 404, description: 'No route matches the request method and path.' },
  CTR_ERR_INTERNAL: {
    status: 500,
    description: 'An unexpected server error; the details are in the server log, never in the response.',
  },
  // Shadow scoring (shadow/)
  CTR_ERR_EXPLAIN_TOO_LARGE: {
    status: 413,
    description: 'An "explain" request has more candidates than the teacher scores synchronously (1000).',
  },
  // Command line
  CTR_ERR_USAGE: { status: 400, description: 'The command line is malformed.' },
  // Training pipeline (ctr-serve data / distill)
  CTR_ERR_TRAINING_CONFIG: {
    status: 400,
    description: 'A distill config (--config file or flags) has a missing, mistyped or out-of-range setting.',
  },
  CTR_ERR_DATA_FORMAT: {
    status: 400,
    description:
      'A click log (CSV) or click-sequence file is malformed or unreadable: wrong header or column count, a bad id or timestamp.',
  },
  CTR_ERR_EXPORT_MISMATCH: {
    status: 500,
    description: 'An exported model, loaded back, does not predict what the trained model predicts.',
  },
  CTR_ERR_BENCH_CHECK_FAILED: {
    status: 500,
    description:
      'A benchmark found wrong predictions (reference outputs, or the server under load) and reports no timings.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class CtrError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CtrError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
  }
}

/**
 * A refusal under overload or shutdown (CTR_ERR_QUEUE_FULL, CTR_ERR_SHUTTING_DOWN), built without a stack trace:
 * capturing one cost more than the rest of refusing a request (bench/README.md, "Overload with two workers"), and
 * a refusal is an answer, not a fault to debug.
 */
export function refusal(code: ErrorCode, message: string): CtrError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new CtrError(code, message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function isCtrError(err: unknown): err is CtrError {
  return err instanceof CtrError;
}

/** `err` itself when it is a CtrError, else CTR_ERR_INTERNAL with `err` as its cause (logged, never sent). */
export function asCtrError(err: unknown): CtrError {
  return isCtrError(err) ? err : new CtrError('CTR_ERR_INTERNAL', 'internal error', { cause: err });
}
