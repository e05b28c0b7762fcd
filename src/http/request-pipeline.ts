import type { FastifyInstance } from 'fastify';
import { CtrError } from '../errors/registry.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { parseJsonBody } from './json-body.ts';
import { openApiPath } from './openapi.ts';

/**
 * What every HTTP request goes through, whatever its route (src/app.ts installs it before any route): the body
 * parsed as JSON whatever its Content-Type (TF Serving's behaviour, docs/api.md), refusal once the server is
 * shutting down (503 CTR_ERR_SHUTTING_DOWN, `connection: close`), the `x-request-id` echo, the HTTP metrics by
 * OpenAPI route, and the list of served routes (HEAD and Swagger UI's hidden ones left out).
 */
export type RequestPipeline = {
  readonly routes: readonly { readonly method: string; readonly url: string }[];
  /** Starts refusing new requests while still listening (see AppContext.stopTaking). */
  readonly stopTaking: () => void;
};

export function installRequestPipeline(app: FastifyInstance, metrics: Metrics): RequestPipeline {
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && !hidden) routes.push({ method, url: route.url });
    }
  });
  let closing = false;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.addHook('onRequest', async () => {
    if (closing) throw new CtrError('CTR_ERR_SHUTTING_DOWN', 'the server is shutting down');
  });
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // Node's server.close() only drops connections idle at that moment; a keep-alive connection busy then would
    // otherwise linger until keepAliveTimeout after its last reply.
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url;
    const route = url === undefined ? 'unmatched' : openApiPath(url);
    metrics.observeHttp(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  return {
    routes,
    stopTaking: () => {
      closing = true;
    },
  };
}
