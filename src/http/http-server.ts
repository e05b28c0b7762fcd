import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import { accessLogHook } from './access-log.ts';
import { EarlyRefusal, requestIdGenerator } from './early-refusal.ts';
import { clientErrorHandler } from './client-error.ts';
import { registerErrorHandlers, sendFrameworkError, ShedLog } from './error-reply.ts';
import { parseExamplesBody, takesExamples } from './example-json.ts';
import { parseJsonBody } from './json-body.ts';
import { MAX_JSON_DEPTH, parsePackedJson } from './json-tensor/index.ts';
import { openApiPath } from './openapi.ts';

/** What the HTTP layer reports per request: `route` is the openapi.yaml path, `unmatched` for a 404. */
export type HttpObserver = {
  observeHttp(route: string, method: string, statusCode: number, seconds: number): void;
};

/** TF Serving's `:predict` URLs (routes/tf-serving.ts), whose bodies may take the packed parser. */
const TF_PREDICT = /^\/v1\/models\/[^?]*:predict(\?|$)/;

/** The Fastify instance of `buildApp` and the switch that starts refusing requests while still listening. */
export type HttpServer = { readonly app: FastifyInstance; readonly stopTaking: () => void };

/**
 * The Fastify instance every route family registers on, before any route: server limits from the config,
 * request bodies parsed as JSON whatever their Content-Type (src/http/json-body.ts), the request id echoed in
 * `x-request-id`, one HTTP metric per reply, a sampled access log (src/http/access-log.ts), coded error replies
 * (src/http/error-reply.ts; src/http/client-error.ts for bytes that are not HTTP), overload refusals ahead of
 * Fastify for the routes that declare them (src/http/early-refusal.ts), and the shutdown gate. From
 * `stopTaking()` (or Fastify's preClose) on, new requests get 503 CTR_ERR_SHUTTING_DOWN and every reply
 * `connection: close`, so connections already queued are answered before the server stops listening.
 */
export function createHttpServer(
  config: ServingConfig,
  observer: HttpObserver,
  logger: FastifyServerOptions['logger'] = { level: config.logLevel },
  random?: () => number,
): HttpServer {
  const nextRequestId = requestIdGenerator();
  const shed = new ShedLog();
  const app = Fastify({
    logger,
    bodyLimit: config.maxBodyBytes,
    // Idle sockets are dropped after connectionTimeoutMs; a client that drips its request slower than that is dropped
    // too (requestTimeout), checked often enough to matter (Node checks every 30 s by default).
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.connectionTimeoutMs,
    http: {
      connectionsCheckingInterval: Math.min(5000, Math.max(50, Math.floor(config.connectionTimeoutMs / 4))),
    },
    requestIdHeader: 'x-request-id',
    genReqId: nextRequestId,
    // One sampled line per request instead of two per request (src/http/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
    frameworkErrors: (err, request, reply) => sendFrameworkError(err, request, reply, shed),
    clientErrorHandler,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      const bytes = body as Buffer;
      // TF Serving :predict bodies straight from their bytes when they are plain numeric tensors (packed-json.ts).
      const packed = TF_PREDICT.test(request.url) ? parsePackedJson(bytes, MAX_JSON_DEPTH) : undefined;
      if (packed !== undefined) return done(null, packed);
      // :classify / :regress bodies tell float from int64 features by how numbers are written (example-json.ts).
      const text = bytes.toString('utf8');
      done(null, takesExamples(request.url) ? parseExamplesBody(text) : parseJsonBody(text));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  let closing = false;
  // The hooks every request passes take Fastify's callback form: no promise per hook and request.
  app.addHook('onRequest', (_request, _reply, done) => {
    done(closing ? new CtrError('CTR_ERR_SHUTTING_DOWN', 'the server is shutting down') : undefined);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    // Node's server.close() only drops connections idle at that moment; a keep-alive connection busy then would
    // otherwise linger until keepAliveTimeout after its last reply.
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook(
    'onResponse',
    accessLogHook({ sampleRate: config.accessLogSampleRate, slowMs: config.slowRequestMs, random }),
  );
  const routes = new Map<string, string>();
  app.addHook('onResponse', (request, reply, done) => {
    const url = request.routeOptions.url;
    let route = url === undefined ? 'unmatched' : routes.get(url);
    if (route === undefined) routes.set(url!, (route = openApiPath(url!)));
    observer.observeHttp(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  registerErrorHandlers(app, shed);
  // Overload refusals before Fastify's routing and hooks (early-refusal.ts), for the routes that declare them.
  const early = new EarlyRefusal({
    log: app.log,
    shed,
    nextRequestId,
    observe: (route, method, statusCode, seconds) => observer.observeHttp(route, method, statusCode, seconds),
    taking: () => !closing,
  });
  app.addHook('onRoute', (route) => early.add(route));
  early.install(app.server);
  return {
    app,
    stopTaking: () => {
      closing = true;
    },
  };
}
