import { STATUS_CODES } from 'node:http';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { asCtrError, CtrError, isCtrError } from '../errors/registry.ts';

/**
 * The one place that turns a failure into an HTTP answer. Every error becomes a CtrError first (Fastify's own
 * errors map by their FST_ code, anything else is CTR_ERR_INTERNAL), so the status comes from the registry.
 * Two body shapes: TF Serving routes (`/v1/models/...`) answer `{"error": "..."}` exactly as TF Serving does, and
 * so do KServe V2 routes (`/v2...`, the Open Inference Protocol's error object); every other route answers `{"statusCode", "code", "error", "message"}`. Both carry the code in the
 * `ctr-error-code` header. Stack traces and messages of unexpected errors go to the log, never to the client.
 */
export type CtrErrorBody = { statusCode: number; code: string; error: string; message: string };

const TF_SERVING_PREFIX = '/v1/models';
const KSERVE_V2_PREFIX = '/v2';

export function toCtrError(err: unknown): CtrError {
  if (isCtrError(err)) return err;
  const e = err as Partial<FastifyError> & { type?: string };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CtrError('CTR_ERR_PAYLOAD_TOO_LARGE', 'the request body is larger than the limit', {
        cause: err,
      });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new CtrError('CTR_ERR_BAD_REQUEST', e.message ?? 'bad request', { cause: err });
  }
  if (e?.validation) return new CtrError('CTR_ERR_BAD_REQUEST', e.message ?? 'bad request', { cause: err });
  if (e?.statusCode === 413)
    return new CtrError('CTR_ERR_PAYLOAD_TOO_LARGE', 'the request body is too large');
  return asCtrError(err);
}

export function ctrErrorBody(err: CtrError): CtrErrorBody {
  return {
    statusCode: err.statusCode,
    code: err.code,
    error: STATUS_CODES[err.statusCode] ?? 'Error',
    message: err.message,
  };
}

export function isTfServingUrl(url: string): boolean {
  const under = (prefix: string) =>
    url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
  return under(TF_SERVING_PREFIX) || under(KSERVE_V2_PREFIX);
}

const SHED_CODES: ReadonlySet<string> = new Set(['CTR_ERR_QUEUE_FULL', 'CTR_ERR_SHUTTING_DOWN']);

/** What an error reply carries besides its status: the code header, retry-after where retrying helps, the body. */
export function errorReplyParts(
  url: string,
  ctr: CtrError,
): { headers: Record<string, string>; body: Record<string, unknown> } {
  const headers: Record<string, string> = { 'ctr-error-code': ctr.code };
  if (ctr.code === 'CTR_ERR_MODEL_UNAVAILABLE' || ctr.code === 'CTR_ERR_QUEUE_FULL')
    headers['retry-after'] = '1';
  return { headers, body: isTfServingUrl(url) ? { error: ctr.message } : ctrErrorBody(ctr) };
}

/**
 * Refusals under overload come by the thousand per second and are answers, not faults: one `requests refused`
 * line (info) per second at most, with how many since the last one (ctr_requests_shed_total counts each). A line
 * per refusal was the largest cost of refusing (bench/README.md, "Overload"). One per app: the early refusal
 * (early-refusal.ts) notes its refusals here too.
 */
export class ShedLog {
  #count = 0;
  #lastMs = -Infinity;

  note(log: FastifyBaseLogger, err: CtrError): void {
    this.#count++;
    const now = performance.now();
    if (now - this.#lastMs < 1000) return;
    log.info({ code: err.code, refused: this.#count, msg: err.message }, 'requests refused');
    this.#count = 0;
    this.#lastMs = now;
  }
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown, shed: ShedLog): FastifyReply {
  const ctr = toCtrError(err);
  if (SHED_CODES.has(ctr.code)) shed.note(request.log, ctr);
  else if (ctr.statusCode >= 500) request.log.error({ err, code: ctr.code }, 'request failed');
  else request.log.info({ code: ctr.code, msg: ctr.message }, 'request rejected');
  const { headers, body } = errorReplyParts(request.url, ctr);
  return reply.code(ctr.statusCode).headers(headers).send(body);
}

/**
 * Fastify's `frameworkErrors` option: a URL that does not percent-decode (FST_ERR_BAD_URL) and a failed async
 * constraint are answered before routing, by default with an uncoded 400; this gives them the registry's code
 * and each API's error shape like every other refusal.
 */
export function sendFrameworkError(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  shed: ShedLog,
): void {
  void sendError(request, reply, err, shed);
}

export function registerErrorHandlers(app: FastifyInstance, shed = new ShedLog()): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, shed));
  app.setNotFoundHandler((request, reply) => {
    const err = isTfServingUrl(request.url)
      ? new CtrError('CTR_ERR_ROUTE_NOT_FOUND', `Malformed request: ${request.method} ${request.url}`)
      : new CtrError('CTR_ERR_ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url}`);
    return sendError(request, reply, err, shed);
  });
}
