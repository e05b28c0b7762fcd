import { Server, ServerCredentials } from '@grpc/grpc-js';
import { CtrError } from '../errors/registry.ts';
import { inferenceServiceImpl } from './kserve-grpc.ts';
import { grpcServices } from './protos.ts';
import { modelServiceImpl, predictionServiceImpl, type TfServingGrpcDeps } from './tf-serving-grpc.ts';

/**
 * The gRPC server of `ctr-serve serve` (`--port`, default 8500 as TF Serving's; 0 = off): TF Serving's
 * PredictionService and ModelService and KServe V2's GRPCInferenceService on one port, over the app's manager,
 * PredictionService and metrics (`app.ctr`), so gRPC and REST share models, batcher and admission control.
 * Server options are `config.grpc.channelArguments` (--grpc_channel_arguments; message size limits).
 *
 * With --workers every worker runs one and binds the same port: grpc-js listens through node:net, which a
 * cluster worker shares with the primary's socket (docs/api.md, "gRPC with --workers"). `stop()` stops taking
 * calls, lets in-flight ones finish (at most `graceMs`), then closes every connection.
 */
export type GrpcServer = {
  /** The port bound (the one asked for, or the one picked when asked for 0 through `bindPort`). */
  readonly port: number;
  stop(graceMs?: number): Promise<void>;
};

export type GrpcServerOptions = {
  readonly host: string;
  /** Port to bind; defaults to config.grpc.port. Tests pass 0 for a free port. */
  readonly bindPort?: number;
};

const STOP_GRACE_MS = 10_000;

export async function startGrpcServer(deps: TfServingGrpcDeps, opts: GrpcServerOptions): Promise<GrpcServer> {
  const services = grpcServices();
  const server = new Server(deps.config.grpc.channelArguments as Record<string, string | number>);
  server.addService(services.predictionService, predictionServiceImpl(deps));
  server.addService(services.modelService, modelServiceImpl(deps));
  server.addService(services.inferenceService, inferenceServiceImpl(deps));
  const requested = opts.bindPort ?? deps.config.grpc.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${requested}`, ServerCredentials.createInsecure(), (err, bound) => {
      if (err) {
        reject(
          new CtrError(
            'CTR_ERR_INVALID_CONFIG',
            `--port=${requested}: cannot listen for gRPC on ${host} (${err.message})`,
            { cause: err },
          ),
        );
      } else {
        resolve(bound);
      }
    });
  });
  return {
    port,
    stop: (graceMs = STOP_GRACE_MS) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
