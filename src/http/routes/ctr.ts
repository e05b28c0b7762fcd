import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CtrError } from '../../errors/registry.ts';
import type { CtrPredictor, CtrPredictResult } from '../../ctr/ctr-predictor.ts';
import type { Explanation, ShadowService } from '../../shadow/shadow-service.ts';
import { float32ArrayRoom, JsonBytes } from '../json-writer.ts';
import { refusedWhenOverloaded } from '../early-refusal.ts';

/**
 * The CTR-native batch API (docs/api.md): `POST /v1/ctr:predict` (the default model) and
 * `POST /v1/ctr/{model}:predict`. The body's user rows are validated by the CTR adapter (src/ctr: ids,
 * emptiness, limits → 400/413 with codes); here only the envelope (`requests`, `top_k`, `explain`, `version`).
 * After the reply has been sent, the scored batch goes to `ctr.onCtrScored` (shadow scoring), whose failures
 * are logged and never reach the client.
 */
type Body = { requests?: unknown; top_k?: unknown; explain?: unknown; version?: unknown };

const scored = new WeakMap<FastifyRequest, CtrPredictResult>();

export function registerCtrRoutes(
  app: FastifyInstance,
  service: CtrPredictor,
  shadow?: Pick<ShadowService, 'checkExplain' | 'explain'>,
): void {
  const handler = async (request: FastifyRequest<{ Params: { model?: string } }>, reply: FastifyReply) => {
    const body = request.body as Body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new CtrError('CTR_ERR_BAD_REQUEST', 'the body must be a JSON object with "requests"');
    }
    if (!('requests' in body)) throw new CtrError('CTR_ERR_BAD_REQUEST', 'missing "requests"');
    const topK = optionalInt(body.top_k, 'top_k', 1);
    const version = optionalInt(body.version, 'version', 1);
    if (body.explain !== undefined && typeof body.explain !== 'boolean') {
      throw new CtrError('CTR_ERR_BAD_REQUEST', '"explain" must be true or false');
    }
    if (body.explain === true) shadow?.checkExplain(request.params.model, body.requests);
    const result = await service.predictCtr({
      model: request.params.model,
      version,
      requests: body.requests,
      topK,
      explain: body.explain === true,
    });
    // explain: the teacher's scores, synchronously (shadow-service.ts limits the size).
    const explained = body.explain === true ? await shadow?.explain(result, result.requests) : undefined;
    // An explained request was already scored by the teacher: it is not shadow traffic.
    if (explained === undefined) scored.set(request, result);
    return reply.type('application/json').send(encodeCtrResponse(result, explained));
  };
  const afterReply = (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    const result = scored.get(request);
    if (result && service.onCtrScored) {
      scored.delete(request);
      try {
        const { id, batch, scores, requests } = result;
        service.onCtrScored({ id, batch, scores, requests });
      } catch (err) {
        request.log.error({ err }, 'onCtrScored hook failed');
      }
    }
    done();
  };
  // Overloaded: refused as soon as the request line is read, before its body (src/http/early-refusal.ts).
  const options = {
    ...refusedWhenOverloaded((params) => service.admissionRefusal(params.model)),
    onResponse: afterReply,
  };
  app.post<{ Params: { model?: string } }>('/v1/ctr::predict', options, handler);
  app.post<{ Params: { model?: string } }>('/v1/ctr/:model(^[^/:]+)::predict', options, handler);
}

/** JSON of the response; scores are float32 and print with the digits that round-trip them (JsonBytes). */
export function encodeCtrResponse(result: CtrPredictResult, explained?: Explanation): Buffer {
  // Room for every float array written below, so the buffer is allocated once.
  const arrays = 1 + (result.results[0]?.logits ? 1 : 0) + (explained ? 1 : 0);
  const room = result.results.reduce((n, r) => n + 64 + float32ArrayRoom(r.scores.length) * arrays, 256);
  const out = new JsonBytes(room);
  out.text(`{"model":${JSON.stringify({ name: result.id.name, version: String(result.id.version) })}`);
  if (explained) out.text(`,"teacher":${JSON.stringify(explained.teacher)}`);
  out.text(',"results":[');
  result.results.forEach((r, u) => {
    out.text(u ? ',{' : '{');
    if (r.id !== undefined) out.text(`"id":${JSON.stringify(r.id)},`);
    out.text('"scores":').float32Array(r.scores);
    if (r.top) out.text(`,"top":[${r.top.join(',')}]`);
    if (r.logits) out.text(',"logits":').float32Array(r.logits);
    if (explained) out.text(',"teacher_scores":').float32Array(explained.scores[u]!);
    out.text('}');
  });
  return out.text(']}').toBuffer();
}

function optionalInt(value: unknown, key: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `"${key}" must be an integer >= ${min}`);
  }
  return value;
}
