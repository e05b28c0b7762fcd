/**
 * Request and response bodies of ctr-serve's HTTP API for the typed client (ctr-serve-client.ts). Each type names
 * the openapi.yaml schema it mirrors in its `@schema` tag (a JSON pointer); test/client/client-types.test.ts
 * checks that every property and whether it is required match that schema, so the two cannot drift apart.
 */

/** @schema #/components/schemas/CtrPredictRequest */
export type CtrPredictRequest = {
  requests: CtrUserRequest[];
  top_k?: number;
  version?: number;
  explain?: boolean;
};

/** @schema #/components/schemas/CtrPredictRequest/properties/requests/items */
export type CtrUserRequest = {
  id?: string;
  history?: number[];
  candidates: number[];
};

/** @schema #/components/schemas/CtrPredictResponse */
export type CtrPredictResponse = {
  model: ModelRef;
  results: CtrUserResult[];
  teacher?: ModelRef;
};

/** @schema #/components/schemas/CtrPredictResponse/properties/model */
export type ModelRef = { name: string; version: string };

/** @schema #/components/schemas/CtrPredictResponse/properties/results/items */
export type CtrUserResult = {
  id?: string;
  scores: number[];
  top?: number[];
  logits?: number[];
  teacher_scores?: number[];
};

/** A tensor as nested JSON arrays (TF Serving's REST form; bytes as `{"b64": "..."}`). */
export type TensorValue = unknown;

/** @schema #/components/schemas/PredictRequest */
export type PredictRequest = {
  signature_name?: string;
  instances?: (TensorValue | Record<string, TensorValue>)[];
  inputs?: TensorValue | Record<string, TensorValue>;
};

/** @schema #/components/schemas/PredictResponse */
export type PredictResponse = {
  predictions?: unknown[];
  outputs?: unknown;
};

/** @schema #/components/schemas/ModelStatusResponse */
export type ModelStatusResponse = { model_version_status: ModelVersionStatus[] };

/** @schema #/components/schemas/ModelStatusResponse/properties/model_version_status/items */
export type ModelVersionStatus = {
  version: string;
  state: 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';
  status: { error_code: string; error_message: string };
};

/** @schema #/components/schemas/ModelMetadataResponse */
export type ModelMetadataResponse = {
  model_spec: { name: string; signature_name: string; version: string };
  metadata: Record<string, unknown>;
};

/** @schema #/components/schemas/Health */
export type Health = { status: 'ok' | 'ready' };

/** @schema #/components/schemas/TfServingError */
export type TfServingErrorBody = { error: string };

/** @schema #/components/schemas/CtrError */
export type CtrErrorBody = { statusCode: number; code: string; error: string; message: string };
