import type { FastifyInstance } from 'fastify';
import type { CtrPredictor } from '../../ctr/ctr-predictor.ts';
import type { ServableManager } from '../../serving/manager.ts';
import type { PredictionService } from '../../serving/prediction-service.ts';
import type { ShadowService } from '../../shadow/shadow-service.ts';
import { registerCtrRoutes } from './ctr.ts';
import { registerHealthRoutes } from './health.ts';
import { registerKserveV2Routes } from './kserve-v2.ts';
import { registerMetricsRoutes, type MetricsSource } from './metrics.ts';
import { registerShadowRoutes } from './shadow.ts';
import { registerTfServingRoutes } from './tf-serving.ts';
import { registerExampleRoutes } from './tf-serving-examples.ts';

/** The services `buildApp` wires (src/app.ts) and every route family may use; routes own none of them. */
export type RouteServices = {
  readonly manager: ServableManager;
  readonly service: PredictionService;
  readonly ctr: CtrPredictor;
  readonly shadow: ShadowService;
  /** `/metrics` text: this process's registry, or with --workers the cluster's aggregate. */
  readonly metrics: MetricsSource;
};

/**
 * One API the app serves over HTTP (TF Serving's REST API, the CTR API, health, ...): a name and a function
 * that adds its routes. Every route must be described in openapi.yaml (test/http/app.test.ts checks both ways).
 * A new API (KServe V2, TF Serving's :classify/:regress) is one module in src/http/routes/ and one line below.
 */
export type RouteFamily = {
  readonly name: string;
  readonly register: (app: FastifyInstance, services: RouteServices) => void | Promise<void>;
};

const ROUTE_FAMILIES: readonly RouteFamily[] = [
  { name: 'health', register: (app, s) => registerHealthRoutes(app, s.manager) },
  { name: 'metrics', register: (app, s) => registerMetricsRoutes(app, s.metrics) },
  { name: 'tf-serving', register: (app, s) => registerTfServingRoutes(app, s.manager, s.service) },
  { name: 'kserve-v2', register: (app, s) => registerKserveV2Routes(app, s.manager, s.service) },
  {
    name: 'tf-serving-examples',
    register: (app, s) => registerExampleRoutes(app, s.manager, s.service),
  },
  { name: 'ctr', register: (app, s) => registerCtrRoutes(app, s.ctr, s.shadow) },
  { name: 'shadow', register: (app, s) => registerShadowRoutes(app, s.shadow) },
];

export async function registerRouteFamilies(app: FastifyInstance, services: RouteServices): Promise<void> {
  for (const family of ROUTE_FAMILIES) await family.register(app, services);
}
