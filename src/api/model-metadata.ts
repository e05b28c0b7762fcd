import type { ModelInfo, SignatureSpec, TensorSpec } from '../graph/model.ts';

/**
 * TF Serving's model metadata (tensorflow_serving/servables/tensorflow/get_model_metadata_impl.cc), shared by
 * REST's `GET /v1/models/{m}/metadata` (src/http/routes/tf-serving.ts) and gRPC's GetModelMetadata
 * (src/grpc/tf-serving-grpc.ts): the `signature_def` entry of the metadata map,
 * a SignatureDefMap as TF Serving prints it (proto3 JSON with default fields, int64 sizes as strings).
 */
export function signatureDefMap(info: ModelInfo) {
  const signatureDef: Record<string, unknown> = {};
  for (const [name, sig] of Object.entries(info.signatures)) signatureDef[name] = signatureJson(sig);
  return {
    signature_def: signatureDef,
    '@type': 'type.googleapis.com/tensorflow.serving.SignatureDefMap',
  };
}

function signatureJson(sig: SignatureSpec) {
  const tensors = (specs: Readonly<Record<string, TensorSpec>>) =>
    Object.fromEntries(Object.entries(specs).map(([alias, spec]) => [alias, tensorInfoJson(spec)]));
  return { inputs: tensors(sig.inputs), outputs: tensors(sig.outputs), method_name: sig.methodName };
}

function tensorInfoJson(spec: TensorSpec) {
  return {
    dtype: spec.dtype,
    tensor_shape:
      spec.shape === null
        ? { dim: [], unknown_rank: true }
        : { dim: spec.shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
    name: spec.tensorName,
  };
}
