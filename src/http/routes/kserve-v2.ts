import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CtrError } from '../../errors/registry.ts';
import type { ServableManager } from '../../serving/manager.ts';
import type { PredictionService } from '../../serving/prediction-service.ts';
import { decodeNestedTensor } from '../json-tensor/index.ts';
import { formatTensor } from '../json-writer.ts';
import {
  parseV2Version,
  runV2Infer,
  tfDtypeOfV2,
  v2ModelMetadata,
  v2ModelReady,
  v2ServerMetadata,
  withV2Shape,
  type V2InferInput,
  type V2InferResult,
} from '../../api/kserve-v2.ts';
import { modelRefusedWhenOverloaded } from '../early-refusal.ts';

/**
 * KServe V2 / Open Inference Protocol REST (specification/protocol/inference_rest.md of
 * github.com/kserve/open-inference-protocol): server metadata, liveness and readiness, model metadata and
 * readiness, and `infer` with typed tensors (`datatype`, `shape`, `data` nested or flat in row-major order).
 * Errors are the spec's `{"error": "..."}` with the registry's HTTP status (src/http/error-reply.ts).
 */
type Params = { name: string; version?: string };

export function registerKserveV2Routes(
  app: FastifyInstance,
  manager: ServableManager,
  service: PredictionService,
): void {
  app.get('/v2', async () => v2ServerMetadata());
  app.get('/v2/', { schema: { hide: true } }, async () => v2ServerMetadata());
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async () => {
    if (!manager.isReady()) throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', 'not every model is ready');
    return { ready: true };
  });

  const metadata = async (request: FastifyRequest<{ Params: Params }>) =>
    v2ModelMetadata(manager, request.params.name, parseV2Version(request.params.version));
  app.get('/v2/models/:name', metadata);
  app.get('/v2/models/:name/versions/:version', metadata);

  const ready = async (request: FastifyRequest<{ Params: Params }>) => {
    const { name } = request.params;
    if (!v2ModelReady(manager, name, parseV2Version(request.params.version))) {
      throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `model ${name} has no AVAILABLE version`);
    }
    return { name, ready: true };
  };
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const infer = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const body = readInferBody(request.body);
    const result = await runV2Infer(service, {
      model: request.params.name,
      version: parseV2Version(request.params.version),
      ...body,
    });
    return reply.type('application/json').send(inferResponseText(result));
  };
  // Overloaded: refused before the body is read and decoded (src/http/early-refusal.ts).
  const options = modelRefusedWhenOverloaded(service);
  app.post<{ Params: Params }>('/v2/models/:name/infer', options, infer);
  app.post<{ Params: Params }>('/v2/models/:name/versions/:version/infer', options, infer);
}

function readInferBody(body: unknown) {
  if (!isObject(body) || !Array.isArray(body.inputs)) bad('the body must be an object with an "inputs" list');
  if (body.id !== undefined && typeof body.id !== 'string') bad('"id" must be a string');
  const signatureName = isObject(body.parameters) ? body.parameters.signature_name : undefined;
  if (signatureName !== undefined && typeof signatureName !== 'string') {
    bad('"parameters.signature_name" must be a string');
  }
  const inputs: V2InferInput[] = body.inputs.map((input: unknown, i: number) => {
    if (!isObject(input) || typeof input.name !== 'string')
      bad(`inputs[${i}] must be an object with a "name"`);
    const where = `input "${input.name}"`;
    if (!Array.isArray(input.data)) bad(`${where}: "data" must be a list`);
    const tensor = decodeNestedTensor(input.data, tfDtypeOfV2(input.datatype, where), input.name);
    return { name: input.name, tensor: withV2Shape(tensor, input.shape, where) };
  });
  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) bad('"outputs" must be a list');
    outputs = body.outputs.map((o: unknown, i: number) =>
      isObject(o) && typeof o.name === 'string'
        ? o.name
        : bad(`outputs[${i}] must be an object with a "name"`),
    );
  }
  return { id: body.id as string | undefined, signatureName, inputs, outputs };
}

/** The response as JSON text: data flat in row-major order, float32 values as the TF Serving writer prints them. */
function inferResponseText(result: V2InferResult): string {
  const outputs = result.outputs.map(({ name, datatype, tensor }) => {
    const flat = formatTensor({ ...tensor, shape: [tensor.values.length] });
    return `{"name":${JSON.stringify(name)},"datatype":"${datatype}","shape":${JSON.stringify(tensor.shape)},"data":${flat}}`;
  });
  const id = result.id === undefined ? '' : `"id":${JSON.stringify(result.id)},`;
  return (
    `{"model_name":${JSON.stringify(result.modelName)},"model_version":"${result.modelVersion}",${id}` +
    `"outputs":[${outputs.join(',')}]}`
  );
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string): never {
  throw new CtrError('CTR_ERR_BAD_REQUEST', message);
}
