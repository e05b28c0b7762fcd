import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/**
 * The gRPC services ctr-serve serves, loaded at start from the .proto files vendored in protos/ (TF Serving's
 * tensorflow_serving/apis, TensorFlow's core protos, KServe's open_inference_grpc.proto; provenance and licences in
 * protos/README.md) by @grpc/proto-loader (protobufjs reflection: no generated or hand-written wire code).
 *
 * Messages are plain objects with the .proto's own field names (keepCase), enums as their names ("DT_FLOAT"),
 * int64 as decimal strings (exact; callers convert), bytes as Buffers (views of the received message: the
 * tensor_content fast path reads them without a copy), and unset fields absent (defaults: false).
 */
export const PROTO_DIR = fileURLToPath(new URL('../../protos', import.meta.url));

export const PROTO_FILES = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'kserve/open_inference_grpc.proto',
] as const;

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

type Services = {
  readonly predictionService: ServiceDefinition;
  readonly modelService: ServiceDefinition;
  readonly inferenceService: ServiceDefinition;
};

let loaded: Services | undefined;

/** The three service definitions (loaded once per process). */
export function grpcServices(): Services {
  if (loaded) return loaded;
  const root = loadPackageDefinition(loadSync([...PROTO_FILES], LOADER_OPTIONS));
  const service = (path: string): ServiceDefinition => {
    let node: unknown = root;
    for (const part of path.split('.')) node = (node as GrpcObject)[part];
    return (node as { service: ServiceDefinition }).service;
  };
  loaded = {
    predictionService: service('tensorflow.serving.PredictionService'),
    modelService: service('tensorflow.serving.ModelService'),
    inferenceService: service('inference.GRPCInferenceService'),
  };
  return loaded;
}
