import {
  status,
  type handleUnaryCall,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { asCtrError, type CtrError } from '../errors/registry.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Logger } from '../serving/manager.ts';
import { grpcErrorOf } from './grpc-status.ts';

/**
 * One unary gRPC method over an async function: the answer, or the thrown error as a gRPC status
 * (grpc-status.ts: every failure becomes a CtrError first, as for REST, so the code comes from the registry), with
 * ctr_grpc_requests_total / ctr_grpc_request_duration_seconds recorded and failures of status 5xx logged with
 * their cause (never sent to the client).
 */
export type UnaryDeps = { readonly metrics: Metrics; readonly logger: Logger };

export type UnaryFn = (request: any, call: ServerUnaryCall<any, any>) => Promise<unknown>;

export function unary(fullName: string, deps: UnaryDeps, fn: UnaryFn): handleUnaryCall<any, any> {
  return (call, callback) => {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    // Through a promise, so that a handler that throws before it returns one is answered like one that rejects.
    Promise.resolve(call.request)
      .then((request) => fn(request, call))
      .then(
        (response) => {
          deps.metrics.observeGrpc(fullName, 'OK', seconds());
          callback(null, response);
        },
        (err: unknown) => {
          const ctr = asCtrError(err);
          const answer = grpcErrorOf(ctr);
          if (ctr.statusCode >= 500)
            deps.logger.error({ err, code: ctr.code, method: fullName }, 'gRPC call failed');
          deps.metrics.observeGrpc(fullName, status[answer.code!], seconds());
          callback(answer, null);
        },
      );
  };
}

/** A service implementation from `{Method: fn}`, each wrapped by `unary` under its full gRPC name. */
export function unaryService(
  serviceName: string,
  deps: UnaryDeps,
  methods: Record<string, UnaryFn>,
): UntypedServiceImplementation {
  return Object.fromEntries(
    Object.entries(methods).map(([name, fn]) => [name, unary(`/${serviceName}/${name}`, deps, fn)]),
  );
}

/**
 * Throws CTR_ERR_QUEUE_FULL (UNAVAILABLE) when `model` is overloaded (PredictionService.admissionRefusal), as the
 * prediction methods' first step: before versions, labels and tensors are resolved and decoded, like REST's early
 * refusal (src/http/early-refusal.ts), so a refusal costs little when most calls are refused.
 */
export function refuseWhenOverloaded(
  service: { admissionRefusal(model: string): CtrError | undefined },
  model: string | undefined,
): void {
  const refused = model ? service.admissionRefusal(model) : undefined;
  if (refused) throw refused;
}
