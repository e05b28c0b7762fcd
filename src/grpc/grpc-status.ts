import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ERRORS, type CtrError, type ErrorCode } from '../errors/registry.ts';

/**
 * The gRPC status of every registry code: TF Serving's own code where TF Serving answers that case over gRPC
 * (a tensorflow::Status passed through ToGRPCStatus, tensorflow_serving/model_servers/grpc_status_util.cc), else
 * the code whose HTTP mapping in TF Serving's ToHTTPStatusCode (model_servers/http_server.cc) is the registry's
 * HTTP status: 400 → INVALID_ARGUMENT, 404 → NOT_FOUND, 413 → RESOURCE_EXHAUSTED (gRPC's own code for an
 * over-size message), 500 → INTERNAL, 503 → UNAVAILABLE, 504 → DEADLINE_EXCEEDED. docs/errors.md repeats the
 * table; test/grpc/grpc-status.test.ts checks that every code has one consistent with its HTTP status.
 */
export const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  CTR_ERR_NOT_A_MODEL: status.INVALID_ARGUMENT,
  CTR_ERR_TEXT_PROTO_UNSUPPORTED: status.INVALID_ARGUMENT,
  CTR_ERR_LEGACY_SESSION_BUNDLE: status.INVALID_ARGUMENT,
  CTR_ERR_PROTO_DECODE: status.INVALID_ARGUMENT,
  CTR_ERR_CHECKSUM: status.INVALID_ARGUMENT,
  CTR_ERR_BUNDLE_CORRUPT: status.INVALID_ARGUMENT,
  CTR_ERR_MISSING_VARIABLE: status.INVALID_ARGUMENT,
  CTR_ERR_UNSUPPORTED_OP: status.INVALID_ARGUMENT,
  CTR_ERR_NOT_FROZEN: status.INVALID_ARGUMENT,
  CTR_ERR_INVALID_GRAPH: status.INVALID_ARGUMENT,
  CTR_ERR_TENSOR_TOO_LARGE: status.INVALID_ARGUMENT,
  CTR_ERR_UNSUPPORTED_DTYPE: status.INVALID_ARGUMENT,
  CTR_ERR_INT64_RANGE: status.INVALID_ARGUMENT,
  CTR_ERR_TAG_SET_NOT_FOUND: status.NOT_FOUND,
  // predict_util.cc: `Serving signature key "..." not found.` is FailedPrecondition over gRPC.
  CTR_ERR_SIGNATURE_NOT_FOUND: status.FAILED_PRECONDITION,
  CTR_ERR_OUTPUT_NOT_FOUND: status.INVALID_ARGUMENT,
  CTR_ERR_INPUT_MISMATCH: status.INVALID_ARGUMENT,
  CTR_ERR_INDEX_OUT_OF_RANGE: status.INVALID_ARGUMENT,
  CTR_ERR_INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  CTR_ERR_TABLE_INIT: status.INVALID_ARGUMENT,
  CTR_ERR_SIGNATURE_METHOD: status.INVALID_ARGUMENT,
  CTR_ERR_INVALID_EXAMPLE: status.INVALID_ARGUMENT,
  // model_servers/server_core.cc: "Unrecognized servable version label" is InvalidArgument.
  CTR_ERR_UNKNOWN_VERSION_LABEL: status.INVALID_ARGUMENT,
  CTR_ERR_EXECUTION: status.INTERNAL,
  CTR_ERR_BACKEND_MISMATCH: status.INTERNAL,
  CTR_ERR_BACKEND_UNAVAILABLE: status.INVALID_ARGUMENT,
  // core/basic_manager.cc: `Servable not found for request: ...` is NotFound.
  CTR_ERR_MODEL_NOT_FOUND: status.NOT_FOUND,
  CTR_ERR_VERSION_NOT_FOUND: status.NOT_FOUND,
  CTR_ERR_MODEL_UNAVAILABLE: status.UNAVAILABLE,
  // TensorFlow's batch schedulers refuse a task on a full queue with Unavailable.
  CTR_ERR_QUEUE_FULL: status.UNAVAILABLE,
  CTR_ERR_TIMEOUT: status.DEADLINE_EXCEEDED,
  CTR_ERR_BAD_REQUEST: status.INVALID_ARGUMENT,
  // REST-only (answered before a request exists); gRPC's own transport refuses these before a handler runs.
  CTR_ERR_MALFORMED_HTTP: status.INVALID_ARGUMENT,
  CTR_ERR_HEADERS_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  CTR_ERR_CLIENT_TIMEOUT: status.DEADLINE_EXCEEDED,
  CTR_ERR_DTYPE_RANGE: status.INVALID_ARGUMENT,
  CTR_ERR_JSON_TOO_DEEP: status.INVALID_ARGUMENT,
  CTR_ERR_INVALID_ID: status.INVALID_ARGUMENT,
  CTR_ERR_EMPTY_REQUEST: status.INVALID_ARGUMENT,
  CTR_ERR_PAYLOAD_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  CTR_ERR_NOT_CTR_MODEL: status.INVALID_ARGUMENT,
  CTR_ERR_SHUTTING_DOWN: status.UNAVAILABLE,
  CTR_ERR_WARMUP_FAILED: status.INTERNAL,
  CTR_ERR_INVALID_CONFIG: status.INVALID_ARGUMENT,
  // model_servers/server_core.cc WaitUntilConfiguredModelsAvailable: "Some models did not become available" is Unknown.
  CTR_ERR_MODELS_NOT_AVAILABLE: status.UNKNOWN,
  CTR_ERR_ROUTE_NOT_FOUND: status.UNIMPLEMENTED,
  CTR_ERR_INTERNAL: status.INTERNAL,
  CTR_ERR_EXPLAIN_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  CTR_ERR_USAGE: status.INVALID_ARGUMENT,
  CTR_ERR_TRAINING_CONFIG: status.INVALID_ARGUMENT,
  CTR_ERR_DATA_FORMAT: status.INVALID_ARGUMENT,
  CTR_ERR_EXPORT_MISMATCH: status.INTERNAL,
  CTR_ERR_BENCH_CHECK_FAILED: status.INTERNAL,
};

/** TF Serving truncates a status message at 1024 characters (grpc_status_util.cc, kErrorMessageLimit). */
const MESSAGE_LIMIT = 1024;

/**
 * The ServiceError a handler answers with: the code from GRPC_STATUS, the message as TF Serving truncates it,
 * and the registry code in the `ctr-error-code` trailer (the REST header's twin).
 */
export function grpcErrorOf(err: CtrError): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('ctr-error-code', err.code);
  const message =
    err.message.length > MESSAGE_LIMIT ? `${err.message.slice(0, MESSAGE_LIMIT)}...TRUNCATED` : err.message;
  return { code: GRPC_STATUS[err.code], details: message, message, metadata };
}

/** Every registry code, for docs and tests. */
export function grpcStatusTable(): { code: ErrorCode; http: number; grpc: string }[] {
  return (Object.keys(ERRORS) as ErrorCode[]).map((code) => ({
    code,
    http: ERRORS[code].status,
    grpc: status[GRPC_STATUS[code]],
  }));
}
