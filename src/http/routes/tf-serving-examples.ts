import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CtrError } from '../../errors/registry.ts';
import type { ServableManager } from '../../serving/manager.ts';
import type { PredictionService } from '../../serving/prediction-service.ts';
import {
  checkExampleSignature,
  encodeClassifyResponse,
  encodeRegressResponse,
  type ExampleMethod,
} from '../classify-regress.ts';
import { decodeExamplesRequest } from '../example-json.ts';
import { LABELLED, NAME, VERSIONED, versionOfRequest } from './tf-serving.ts';

/**
 * TF Serving's `:classify` and `:regress` REST verbs (tensorflow_serving/g3doc/api_rest.md, "Classify and
 * Regress API"), each with an optional `/versions/{v}` or `/labels/{label}`: the body's examples become serialized tf.Examples
 * (example-json.ts) fed to the signature's "inputs" through the same prediction service as `:predict` (batching,
 * admission, deadlines, metrics), and the outputs are read back as classify-regress.ts says.
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
      // Holding the handle pins the version whose signature was checked until its prediction is done.
      const handle = manager.acquire(request.params.name, versionOfRequest(manager, request.params));
      try {
        const { id, model } = handle.servable;
        const signatureName = body.signatureName ?? model.info.defaultSignature;
        const signature = model.info.signatures[signatureName];
        if (!signature) {
          throw new CtrError(
            'CTR_ERR_SIGNATURE_NOT_FOUND',
            `No signature was found with the name: ${signatureName}`,
          );
        }
        const input = checkExampleSignature(signature, method);
        const n = body.examples.length;
        const result = await service.predict({
          model: id.name,
          version: id.version,
          signatureName,
          inputs: { [input]: { dtype: 'DT_STRING', shape: [n], values: body.examples } },
        });
        const text =
          method === 'classify'
            ? encodeClassifyResponse(result.outputs, n)
            : encodeRegressResponse(result.outputs, n);
        return reply.type('application/json').send(text);
      } finally {
        handle.release();
      }
    };
  for (const method of ['classify', 'regress'] as const) {
    app.post(`/v1/models/${NAME}::${method}`, handler(method));
    app.post(`${VERSIONED}::${method}`, handler(method));
    app.post(`${LABELLED}::${method}`, handler(method));
  }
}
