import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CtrError } from '../../errors/registry.ts';
import { signatureDefMap } from '../../api/model-metadata.ts';
import type { ModelInfo } from '../../graph/model.ts';
import type { ServableManager } from '../../serving/manager.ts';
import type { PredictionService } from '../../serving/prediction-service.ts';
import { modelRefusedWhenOverloaded } from '../early-refusal.ts';
import { decodePredictBody, encodePredictResponse, readPredictEnvelope } from '../tf-serving-codec.ts';

/**
 * TF Serving's REST API with its URLs, bodies and status codes (tensorflow_serving/g3doc/api_rest.md):
 * model status, signature metadata and `:predict`, each with an optional `/versions/{v}` or `/labels/{label}`
 * (TF Serving's version_labels: the version the label names now, ServableManager.resolveLabel). The colon verbs use
 * regex params because find-my-way reads `:name::predict` as one param named "name::predict".
 * `:classify` and `:regress` (tf.Example inputs) are in tf-serving-examples.ts.
 */
type Params = { name: string; version?: string; label?: string };

/** The colon-verb route prefixes, shared with tf-serving-examples.ts. */
export const NAME = ':name(^[^/:]+)';
export const VERSIONED = `/v1/models/:name/versions/:version(^[^/:]+)`;
export const LABELLED = `/v1/models/:name/labels/:label(^[^/:]+)`;

export function registerTfServingRoutes(
  app: FastifyInstance,
  manager: ServableManager,
  service: PredictionService,
): void {
  const versionOf = (p: Params) => versionOfRequest(manager, p);
  const status = async (request: FastifyRequest<{ Params: Params }>) => {
    const { name } = request.params;
    const version = versionOf(request.params);
    const statuses = manager.status(name, version);
    if (statuses.length === 0) throw notFound(name, version);
    return {
      model_version_status: statuses.map((s) => ({
        version: String(s.version),
        state: s.state,
        status: { error_code: s.errorCode, error_message: s.errorMessage },
      })),
    };
  };
  app.get('/v1/models/:name', status);
  app.get('/v1/models/:name/versions/:version', status);
  app.get('/v1/models/:name/labels/:label', status);

  const metadata = async (request: FastifyRequest<{ Params: Params }>) => {
    const handle = manager.acquire(request.params.name, versionOf(request.params));
    try {
      const { id, model } = handle.servable;
      return {
        model_spec: { name: id.name, signature_name: '', version: String(id.version) },
        metadata: { signature_def: signatureDefMap(model.info), ctr_serve: ctrServeMetadata(model.info) },
      };
    } finally {
      handle.release();
    }
  };
  app.get('/v1/models/:name/metadata', metadata);
  app.get('/v1/models/:name/versions/:version/metadata', metadata);
  app.get('/v1/models/:name/labels/:label/metadata', metadata);

  const predict = async (
    request: FastifyRequest<{ Params: Params }>,
    reply: import('fastify').FastifyReply,
  ) => {
    const envelope = readPredictEnvelope(request.body);
    // Holding the handle pins the version whose signature decoded the body until its prediction is done.
    const handle = manager.acquire(request.params.name, versionOf(request.params));
    try {
      const { id, model } = handle.servable;
      const signatureName = envelope.signatureName ?? model.info.defaultSignature;
      const signature = model.info.signatures[signatureName];
      if (!signature) {
        throw new CtrError(
          'CTR_ERR_SIGNATURE_NOT_FOUND',
          `Serving signature name: "${signatureName}" not found in signature def`,
        );
      }
      const decoded = decodePredictBody(request.body as Record<string, unknown>, signature);
      const result = await service.predict({
        model: id.name,
        version: id.version,
        signatureName,
        inputs: decoded.inputs,
      });
      return reply.type('application/json').send(encodePredictResponse(result.outputs, decoded.format));
    } finally {
      handle.release();
    }
  };
  // Overloaded: refused before the body is read and decoded (src/http/early-refusal.ts).
  const options = modelRefusedWhenOverloaded(service);
  app.post<{ Params: Params }>(`/v1/models/${NAME}::predict`, options, predict);
  app.post<{ Params: Params }>(`${VERSIONED}::predict`, options, predict);
  app.post<{ Params: Params }>(`${LABELLED}::predict`, options, predict);
}

/** The version a request names: `/versions/{v}`, `/labels/{label}` (ServableManager.resolveLabel), or none. */
export function versionOfRequest(
  manager: ServableManager,
  p: { name: string; version?: string; label?: string },
): number | undefined {
  return p.label === undefined ? parseVersion(p.version) : manager.resolveLabel(p.name, p.label);
}

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new CtrError(
      'CTR_ERR_BAD_REQUEST',
      `Malformed request: version "${text}" is not a positive integer`,
    );
  }
  return Number(text);
}

function notFound(name: string, version?: number): CtrError {
  return version === undefined
    ? new CtrError('CTR_ERR_MODEL_NOT_FOUND', `Could not find any versions of model ${name}`)
    : new CtrError('CTR_ERR_VERSION_NOT_FOUND', `Could not find version ${version} of model ${name}`);
}

/**
 * ctr-serve's own metadata section (docs/api.md, "Model metadata"), beside TF Serving's `signature_def` in the
 * metadata map (TF Serving clients read the keys they asked for): the backend running the version, model.json's
 * OOV contract when it sets one, and the index guards derived from the graph, by signature and input.
 */
export function ctrServeMetadata(info: ModelInfo) {
  const guards: Record<string, Record<string, { rows: number; op: string; node: string }>> = {};
  for (const [name, sig] of Object.entries(info.signatures)) {
    if (!sig.indexRanges) continue;
    guards[name] = Object.fromEntries(
      Object.entries(sig.indexRanges).map(([alias, r]) => [alias, { rows: r.limit, op: r.op, node: r.node }]),
    );
  }
  return {
    backend: info.backend,
    ...(info.vocabSize === undefined ? {} : { vocab_size: info.vocabSize }),
    ...(info.oovId === undefined ? {} : { oov_id: info.oovId }),
    index_guards: guards,
  };
}
