import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServableManager } from '../../serving/manager.ts';
import type { PredictionService } from '../../serving/prediction-service.ts';
import { runExamples, type ExampleMethod } from '../../api/classify-regress.ts';
import { encodeClassifyResponse, encodeRegressResponse } from '../tf-serving-codec.ts';
import { decodeExamplesRequest } from '../example-json.ts';
import { LABELLED, NAME, VERSIONED, versionOfRequest } from './tf-serving.ts';
import { modelRefusedWhenOverloaded } from '../early-refusal.ts';

/**
 * TF Serving's `:classify` and `:regress` REST verbs (tensorflow_serving/g3doc/api_rest.md, "Classify and
 * Regress API"), each with an optional `/versions/{v}` or `/labels/{label}`: the body's examples become serialized tf.Examples
 * (example-json.ts) fed to the signature's "inputs" through the same prediction service as `:predict` (batching,
 * admission, deadlines, metrics), and the outputs are read back as src/api/classify-regress.ts says.
 */
type Params = { name: string; version?: string; label?: string };

export function registerExampleRoutes(
  app: FastifyInstance,
  manager: ServableManager,
  service: PredictionService,
): void {
  const handler =
    (method: ExampleMethod) => async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const body = decodeExamplesRequest(request.body, method);
      const n = body.examples.length;
      const { outputs } = await runExamples(manager, service, method, {
        model: request.params.name,
        version: versionOfRequest(manager, request.params),
        signatureName: body.signatureName,
        examples: body.examples,
      });
      const text =
        method === 'classify' ? encodeClassifyResponse(outputs, n) : encodeRegressResponse(outputs, n);
      return reply.type('application/json').send(text);
    };
  // Overloaded: refused before the body is read and decoded (src/http/early-refusal.ts).
  const options = modelRefusedWhenOverloaded(service);
  for (const method of ['classify', 'regress'] as const) {
    app.post<{ Params: Params }>(`/v1/models/${NAME}::${method}`, options, handler(method));
    app.post<{ Params: Params }>(`${VERSIONED}::${method}`, options, handler(method));
    app.post<{ Params: Params }>(`${LABELLED}::${method}`, options, handler(method));
  }
}
