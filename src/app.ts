import type { FastifyInstance, FastifyServerOptions, RouteOptions } from 'fastify';
import type { ModelConfig, ServingConfig } from './config/serving-config.ts';
import { CtrPredictor } from './ctr/ctr-predictor.ts';
import { initBackend, skipped as backendsSkipped, type BackendName } from './graph/backend.ts';
import type { LoadedModel } from './graph/model.ts';
import { localLink, type ClusterLink } from './http/cluster-link.ts';
import { createHttpServer } from './http/http-server.ts';
import { loadOpenApiDocument, registerOpenApi } from './http/openapi.ts';
import type { MetricsSource } from './http/routes/metrics.ts';
import { registerRouteFamilies } from './http/routes/route-families.ts';
import { Metrics } from './metrics/metrics.ts';
import { ServableManager } from './serving/manager.ts';
import { ModelConfigReloader } from './serving/model-config-reloader.ts';
import { PredictionService } from './serving/prediction-service.ts';
import { ShadowService } from './shadow/shadow-service.ts';
import type { ShadowPairSnapshot } from './shadow/shadow-pair.ts';
import * as tf from '@tensorflow/tfjs-core';
import { ModelThread } from './serving/model-thread.ts';

/**
 * Builds the HTTP service and never listens (`ctr-serve serve` and tests call listen/inject). It owns the
 * ServableManager and PredictionService: `buildApp` resolves once every configured model has tried its first
 * load (a model that failed shows in `/readyz` and its status), and `app.close()` stops taking requests
 * (CTR_ERR_SHUTTING_DOWN), lets in-flight ones finish, then stops the service and the manager, which disposes
 * every model. Routes come from the route families of src/http/routes/route-families.ts.
 */
export type AppDeps = {
  /** How a version directory becomes a model; default: loadModel with the CTR adapter's variants. */
  readonly loadModel?: (path: string) => Promise<LoadedModel>;
  readonly metrics?: Metrics;
  /** With --workers, the IPC link to the other workers; default: this process alone. */
  readonly link?: ClusterLink;
  /** `/metrics` text; default: this process's registry. */
  readonly metricsSource?: MetricsSource;
  /** Fastify's logger option; default: pino at config.logLevel. */
  readonly logger?: FastifyServerOptions['logger'];
  /** The access log's sampling draw (src/http/access-log.ts); default Math.random. */
  readonly random?: () => number;
  /** Called for every route as it is added (Fastify's onRoute hook), before `buildApp` resolves. */
  readonly onRoute?: (route: RouteOptions) => void;
};

export type AppContext = {
  readonly config: ServingConfig;
  readonly metrics: Metrics;
  readonly manager: ServableManager;
  readonly service: PredictionService;
  /** Gathers a kind of per-process state over every worker (`link.collect('shadow')`). */
  readonly link: ClusterLink;
  /**
   * Starts refusing new requests (503 CTR_ERR_SHUTTING_DOWN, `connection: close`) while still listening, so that
   * connections already queued for this process are answered before `app.close()` stops listening.
   */
  readonly stopTaking: () => void;
  /** Reads `--model_config_file` again and applies it now (what each poll of its poll wait does). */
  readonly reloadModelConfig: () => Promise<void>;
  /** Serves these models instead of the configured ones (ModelService/HandleReloadConfigRequest). */
  readonly applyModelConfig: (models: readonly ModelConfig[]) => Promise<void>;
  /** Live tfjs tensors of this process: this thread's and the model thread's (they must not grow with requests). */
  readonly numTensors: () => Promise<number>;
};

declare module 'fastify' {
  interface FastifyInstance {
    ctr: AppContext;
  }
}

/** The model thread loads versions with the CTR adapter's loader, as this thread would (loadCtrModel). */
const CTR_LOADER = (backend: BackendName) => ({
  backend,
  loader: { module: new URL('./ctr/shared-history-variant.ts', import.meta.url).href, name: 'loadCtrModel' },
});

export async function buildApp(config: ServingConfig, deps: AppDeps = {}): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new Metrics();
  const { app, stopTaking } = createHttpServer(config, metrics, deps.logger, deps.random);
  if (deps.onRoute) app.addHook('onRoute', deps.onRoute);
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
  // A loader injected by a test cannot cross into a thread: its models then run on this one.
  const modelThread =
    config.modelThread && deps.loadModel === undefined
      ? new ModelThread(CTR_LOADER(backend), (err) => {
          // Nothing can run a model any more: end the process as a fault of its own thread would (docs/architecture.md).
          app.log.fatal({ err: err.message }, 'the model thread died');
          process.nextTick(() => {
            throw err;
          });
        })
      : undefined;
  const loadModel =
    modelThread?.loadModel ??
    deps.loadModel ??
    (await import('./ctr/shared-history-variant.ts')).loadCtrModel;
  const manager = new ServableManager(config, { loadModel, metrics, logger: app.log });
  const reloader = new ModelConfigReloader(config, manager, app.log);
  // The batcher plans for the model thread only when the models really run there (not an injected loader's).
  const service = new PredictionService(
    manager,
    { ...config, modelThread: modelThread !== undefined },
    { metrics },
  );
  const link = deps.link ?? localLink();
  link.provide('metrics', () => metrics.registry.getMetricsAsJSON());
  const shadow = new ShadowService(config, {
    manager,
    predictions: service,
    registry: metrics.registry,
    logger: app.log,
    workerSnapshots: () => link.collect('shadow') as Promise<ShadowPairSnapshot[][]>,
    // A loader injected by a test cannot cross into a thread: the teacher then runs on this one.
    teacherThread: config.shadowThread && deps.loadModel === undefined,
  });
  link.provide('shadow', () => shadow.scorer.snapshot());
  const ctr = new CtrPredictor(service, config);
  ctr.onCtrScored = (event) => shadow.offer(event);
  const reloadModelConfig = () => reloader.reloadNow();
  const applyModelConfig = (models: readonly ModelConfig[]) => reloader.apply(models);
  const numTensors = async () => tf.memory().numTensors + ((await modelThread?.numTensors()) ?? 0);
  const ctx = {
    ...{ config, metrics, manager, service, link, stopTaking },
    ...{ reloadModelConfig, applyModelConfig, numTensors },
  };
  app.decorate('ctr', ctx);
  app.addHook('onClose', async () => {
    await reloader.stop();
    await shadow.stop();
    await service.stop();
    await manager.stop();
    await modelThread?.stop();
  });

  await registerOpenApi(app, loadOpenApiDocument());
  const metricsSource = deps.metricsSource ?? metrics;
  await registerRouteFamilies(app, { manager, service, ctr, shadow, metrics: metricsSource });
  try {
    await manager.start();
    await shadow.ready();
    // After the first load, so labels in the starting config may name the versions it loaded (TF Serving sets
    // them before loading and so refuses them at start without --allow_version_labels_for_unavailable_models).
    manager.applyLabels(config.models, config.allowVersionLabelsForUnavailableModels);
    reloader.start();
    await app.ready();
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}
