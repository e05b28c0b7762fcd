import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ERRORS, type ErrorCode } from '../../src/errors/registry.ts';
import { GRPC_STATUS, grpcStatusTable } from '../../src/grpc/grpc-status.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// TF Serving's ToHTTPStatusCode (tensorflow_serving/model_servers/http_server.cc): the HTTP status TF Serving's REST
// API answers for each gRPC/absl code. Copied here so the table is checked against TF Serving, not against itself.
const TF_SERVING_HTTP: Partial<Record<keyof typeof status, number>> = {
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

// Where ctr-serve's HTTP status differs from what TF Serving would answer for the gRPC code, and why.
const DOCUMENTED_DIFFERENCES: Partial<Record<ErrorCode, string>> = {
  // 413 over REST (the body limit); gRPC's code for an over-size message is RESOURCE_EXHAUSTED.
  CTR_ERR_PAYLOAD_TOO_LARGE: 'RESOURCE_EXHAUSTED',
  CTR_ERR_EXPLAIN_TOO_LARGE: 'RESOURCE_EXHAUSTED',
  // 404 for an unknown HTTP route; an unknown or unserved gRPC method is UNIMPLEMENTED.
  CTR_ERR_ROUTE_NOT_FOUND: 'UNIMPLEMENTED',
  // Answered on the socket before any request exists (src/http/client-error.ts), with HTTP's own statuses for
  // them (431 for oversized headers, 408 for a request not received in time, as Node's server answers).
  CTR_ERR_HEADERS_TOO_LARGE: 'RESOURCE_EXHAUSTED',
  CTR_ERR_CLIENT_TIMEOUT: 'DEADLINE_EXCEEDED',
};

test('every registry code has a gRPC status, and TF Serving would answer its HTTP status for it', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const grpc = GRPC_STATUS[code];
    assert.ok(grpc !== undefined && grpc !== status.OK, `${code} has no gRPC status`);
    const name = status[grpc] as keyof typeof status;
    if (DOCUMENTED_DIFFERENCES[code]) {
      assert.equal(name, DOCUMENTED_DIFFERENCES[code], code);
      continue;
    }
    assert.equal(
      TF_SERVING_HTTP[name],
      ERRORS[code].status,
      `${code}: HTTP ${ERRORS[code].status} but gRPC ${name}`,
    );
  }
  assert.deepEqual(Object.keys(GRPC_STATUS).sort(), Object.keys(ERRORS).sort());
});

test("TF Serving's own gRPC codes for the cases it answers: not found, unknown signature, full queue, deadline", () => {
  // core/basic_manager.cc (NotFound), servables/tensorflow/predict_util.cc (FailedPrecondition for a missing
  // signature key), TensorFlow's batch scheduler (Unavailable on a full queue).
  assert.equal(GRPC_STATUS.CTR_ERR_MODEL_NOT_FOUND, status.NOT_FOUND);
  assert.equal(GRPC_STATUS.CTR_ERR_VERSION_NOT_FOUND, status.NOT_FOUND);
  assert.equal(GRPC_STATUS.CTR_ERR_SIGNATURE_NOT_FOUND, status.FAILED_PRECONDITION);
  assert.equal(GRPC_STATUS.CTR_ERR_QUEUE_FULL, status.UNAVAILABLE);
  assert.equal(GRPC_STATUS.CTR_ERR_TIMEOUT, status.DEADLINE_EXCEEDED);
});

test('docs/errors.md lists the gRPC status of every code', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');
  for (const row of grpcStatusTable()) {
    assert.match(doc, new RegExp(`\\| \`${row.code}\` \\| ${row.http} \\| \`${row.grpc}\` \\|`), row.code);
  }
});
