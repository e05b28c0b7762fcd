import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServingConfig } from './config/serving-config.ts';
import { CtrPredictor } from './ctr/ctr-predictor.ts';
import { CtrError } from './errors/registry.ts';
import { initBackend, skipped as backendsSkipped } from './graph/backend.ts';
import type { LoadedModel } from './graph/model.ts';
import { accessLogHook } from './http/access-log.ts';
import { localLink, type ClusterLink } from './http/cluster-link.ts';
import { registerErrorHandlers } from './http/error-reply.ts';
import { parseJsonBody } from './http/json-body.ts';
import { loadOpenApiDocument, openApiPath, registerOpenApi } from './http/openapi.ts';
import { registerCtrRoutes } from './http/routes/ctr.ts';
import { registerHealthRoutes } from './http/routes/health.ts';
import { registerMetricsRoutes } from './http/routes/metrics.ts';
import { registerShadowRoutes } from './http/routes/shadow.ts';
import { registerTfServingRoutes } from './http/routes/tf-serving.ts';
import { Metrics } from './metrics/metrics.ts';
import { ServableManager } from './serving/manager.ts';
import { PredictionService } from './serving/prediction-service.ts';
import { ShadowService } from './shadow/shadow-service.ts';
import type { ShadowPairSnapshot } from './shadow/shadow-pair.ts';

/**
 * Builds the HTTP service and never listens (`ctr-serve serve` and tests call listen/inject). It owns the
 * ServableManager and PredictionService: `buildApp` resolves once every configured model has tried its first
 * load (a model that failed shows in `/readyz` and its status), and `app.close()` stops taking requests
 * (CTR_ERR_SHUTTING_DOWN), lets in-flight ones finish, then stops the service and the manager, which disposes
 * every model. Tests inject `loadModel`; `metricsSource` is the cluster aggregate when running as a worker.
 */
export type AppDeps = {
  readonly loadModel?: (path: string) => Promise<LoadedModel>;
  readonly metrics?: Metrics;
  /** With --workers, the IPC link to the other workers; default: this process alone. */
  readonly link?: ClusterLink;
  /** `/metrics` text; default: this process's registry. */
  readonly metricsSource?: { text(): Promise<string>; readonly contentType: string };
  /** Fastify's logger option; default: pino at config.logLevel. */
  readonly logger?: FastifyServerOptions['logger'];
  /** The access log's sampling draw (src/http/access-log.ts); default Math.random. */
  readonly random?: () => number;
};

export type AppContext = {
  readonly config: ServingConfig;
  readonly metrics: Metrics;
  readonly manager: ServableManager;
  readonly service: PredictionService;
  /** Gathers a kind of per-process state over every worker (`link.collect('shadow')`). */
  readonly link: ClusterLink;
  /** Every route the app serves (method, Fastify URL), HEAD and Swagger UI's hidden ones excluded. */
  readonly routes: readonly { readonly method: string; readonly url: string }[];
  /**
   * Starts refusing new requests (503 CTR_ERR_SHUTTING_DOWN, `connection: close`) while still listening, so that
   * connections already queued for this process are answered before `app.close()` stops listening.
   */
  readonly stopTaking: () => void;
};

declare module 'fastify' {
  interface FastifyInstance {
    ctr: AppContext;
  }
}

export async function buildApp(config: ServingConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? { level: config.logLevel },
    bodyLimit: config.maxBodyBytes,
    // Idle sockets are dropped after connectionTimeoutMs; a client that drips its request slower than that is dropped
    // too (requestTimeout), checked often enough to matter (Node checks every 30 s by default).
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.connectionTimeoutMs,
    http: {
      connectionsCheckingInterval: Math.min(5000, Math.max(50, Math.floor(config.connectionTimeoutMs / 4))),
    },
    requestIdHeader: 'x-request-id',
    // One sampled line per request instead of two per request (src/http/access-log.ts).
    disableRequestLogging: true,
    return503OnClosing: false,
  });
  const metrics = deps.metrics ?? new Metrics();
  // The backend is chosen before any model loads (CTR_ERR_BACKEND_UNAVAILABLE fails the start); each version
  // reports it in metadata (ctr_serve.backend) and in ctr_model_info's backend label.
  const backend = await initBackend(config.backend).catch(async (err: unknown) => {
    await app.close();
    throw err;
  });
  app.log.info(
    { backend, asked: config.backend, skipped: backendsSkipped.length ? backendsSkipped : undefined },
    `tfjs backend: ${backend}`,
  );
  const loadModel = deps.loadModel ?? (await import('./graph/load-model.ts')).loadModel;
  const manager = new ServableManager(config, {
    loadModel: (path) => loadModel(path),
    metrics,
    logger: app.log,
  });
  const service = new PredictionService(manager, config, { metrics });
  const link = deps.link ?? localLink();
  link.provide('metrics', () => metrics.registry.getMetricsAsJSON());
  const shadow = new ShadowService(config, {
    manager,
    predictions: service,
    registry: metrics.registry,
    logger: app.log,
    workerSnapshots: () => link.collect('shadow') as Promise<ShadowPairSnapshot[][]>,
  });
  link.provide('shadow', () => shadow.scorer.snapshot());
  const ctr = new CtrPredictor(service, config);
  ctr.onCtrScored = (event) => shadow.offer(event);
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && !hidden) routes.push({ method, url: route.url });
    }
  });
  let closing = false;
  const stopTaking = () => {
    closing = true;
  };
  app.decorate('ctr', { config, metrics, manager, service, link, routes, stopTaking });

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
  app.addHook(
    'onResponse',
    accessLogHook({
      sampleRate: config.accessLogSampleRate,
      slowMs: config.slowRequestMs,
      random: deps.random,
    }),
  );
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url;
    const route = url === undefined ? 'unmatched' : openApiPath(url);
    metrics.observeHttp(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    await shadow.stop();
    await service.stop();
    await manager.stop();
  });

  registerErrorHandlers(app);
  await registerOpenApi(app, loadOpenApiDocument());
  registerHealthRoutes(app, manager);
  registerMetricsRoutes(app, deps.metricsSource ?? metrics);
  registerTfServingRoutes(app, manager, service);
  registerCtrRoutes(app, ctr, shadow);
  registerShadowRoutes(app, shadow);

  try {
    await manager.start();
    await app.ready();
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}
