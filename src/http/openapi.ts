import { readFileSync } from 'node:fs';
import swagger, { type StaticDocumentSpec } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';

/**
 * The API description lives in `openapi.yaml` at the repository root (hand-written: it is the contract).
 * @fastify/swagger serves it in static mode at `/openapi.json` and Swagger UI at `/docs`. Tests check that the
 * app's routes and the spec's paths are the same set (openApiPath maps a Fastify route to its spec path) and
 * validate integration-test responses against the spec's schemas.
 */
export const OPENAPI_FILE = new URL('../../openapi.yaml', import.meta.url);

export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
  [key: string]: unknown;
};

export function loadOpenApiDocument(): OpenApiDocument {
  return parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
}

/**
 * `/v1/models/:name(^[^/:]+)::predict` → `/v1/models/{name}:predict`. Also the `route` label of the HTTP
 * metrics, so dashboards read the same paths as the spec.
 */
export function openApiPath(fastifyUrl: string): string {
  return fastifyUrl
    .replace(/:(\w+)\([^)]*\)/g, '{$1}')
    .replace(/::/g, '\u0000')
    .replace(/:(\w+)/g, '{$1}')
    .replace(/\u0000/g, ':');
}

export async function registerOpenApi(app: FastifyInstance, document: OpenApiDocument): Promise<void> {
  await app.register(swagger, {
    mode: 'static',
    specification: { document } as unknown as StaticDocumentSpec,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', async () => app.swagger());
}
