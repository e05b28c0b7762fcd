import {
  credentials,
  loadPackageDefinition,
  type Client,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { startGrpcServer, type GrpcServer } from '../../src/grpc/grpc-server.ts';
import { REPO_ROOT } from './fixtures.ts';

/**
 * A gRPC client built here from the vendored .proto files (protos/, as a TF Serving or KServe client would build
 * one from the same files), independent of the server's own loading: proto3 JSON-style objects with defaults
 * filled and `google.protobuf.Any` unpacked to `{"@type", ...fields}`.
 */
const PROTOS = join(REPO_ROOT, 'protos');
const definition = loadSync(
  [
    'tensorflow_serving/apis/prediction_service.proto',
    'tensorflow_serving/apis/model_service.proto',
    'kserve/open_inference_grpc.proto',
  ],
  {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    json: true,
    includeDirs: [PROTOS],
  },
);
const pkg = loadPackageDefinition(definition) as any;

export type Call = (method: string, request: object) => Promise<any>;

export type GrpcClients = {
  readonly prediction: Call;
  readonly model: Call;
  readonly inference: Call;
  close(): void;
};

export function grpcClients(address: string): GrpcClients {
  const make = (Ctor: new (a: string, c: unknown) => Client) =>
    new Ctor(address, credentials.createInsecure());
  const clients = [
    make(pkg.tensorflow.serving.PredictionService),
    make(pkg.tensorflow.serving.ModelService),
    make(pkg.inference.GRPCInferenceService),
  ];
  const caller =
    (client: Client): Call =>
    (method, request) =>
      new Promise((resolve, reject) => {
        (client as any)[method](request, (err: ServiceError | null, response: unknown) =>
          err ? reject(err) : resolve(response),
        );
      });
  return {
    prediction: caller(clients[0]!),
    model: caller(clients[1]!),
    inference: caller(clients[2]!),
    close: () => clients.forEach((c) => c.close()),
  };
}

/** The app's gRPC server on a free port of 127.0.0.1, and clients for it. */
export async function grpcFor(app: FastifyInstance): Promise<{ server: GrpcServer; clients: GrpcClients }> {
  const { config, manager, service, metrics, applyModelConfig } = app.ctr;
  const server = await startGrpcServer(
    { config, manager, service, metrics, applyModelConfig, logger: app.log },
    { host: '127.0.0.1', bindPort: 0 },
  );
  return { server, clients: grpcClients(`127.0.0.1:${server.port}`) };
}

/** The rejection of `promise` as a gRPC error: its status code, details and the ctr-error-code trailer. */
export async function grpcError(
  promise: Promise<unknown>,
): Promise<{ code: number; details: string; ctrCode: string | undefined; metadata: Metadata }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    return {
      code: e.code,
      details: e.details,
      ctrCode: e.metadata?.get('ctr-error-code')[0] as string,
      metadata: e.metadata,
    };
  }
  throw new Error('the call succeeded; an error was expected');
}
