import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { ERRORS } from '../../src/errors/registry.ts';
import { loadOpenApiDocument, openApiPath } from '../../src/http/openapi.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { appFor, call, routeCollector } from '../helpers/app-helpers.ts';
import {
  CONTENT_TYPES,
  mutatedBytes,
  mutatedText,
  textMutationArb,
  valueMutationArb,
} from '../helpers/mutations.ts';
import { resolveRef, schemaArbitrary } from '../helpers/schema-arbitrary.ts';

/**
 * Property-based HTTP fuzzing of every route the app serves, on the bundled models: request bodies are generated
 * from openapi.yaml's request schemas, then mutated (mutations.ts), and sent with a generated content type.
 * Every answer must be described by openapi.yaml (status and body: `call` checks both), never a 5xx, carry a
 * registered error code when it is an error, and leave no tensor behind. The budget is fixed (runs and seed),
 * so a failure replays.
 */
const SEED = 20261203;
const RUNS_PER_ROUTE = 40;
const doc = loadOpenApiDocument() as Record<string, any>;
const documentedCodes = new Set<string>(
  (resolveRef('#/components/schemas/ErrorCode', doc).enum as string[]) ?? Object.keys(ERRORS),
);

function requestSchema(method: string, path: string): Record<string, any> | undefined {
  let body = doc.paths[path]?.[method.toLowerCase()]?.requestBody;
  if (body?.$ref) body = resolveRef(body.$ref, doc);
  return body?.content?.['application/json']?.schema;
}

const urlArb = (url: string) =>
  fc
    .record({
      name: fc.constantFrom('ctr-student', 'ctr-teacher', 'nope', 'ctr%2Dstudent'),
      version: fc.constantFrom('1', '2', '0', 'x', '99999999999999999999'),
    })
    .map(({ name, version }) =>
      url
        .replace(/:(\w+)\([^)]*\)/g, ':$1')
        .replace(/::/g, '\u0000')
        .replace(/:(name|model)/g, name)
        .replace(/:version/g, version)
        .replace(/\u0000/g, ':'),
    );

describe('HTTP fuzzing from openapi.yaml', () => {
  let app: FastifyInstance;
  let tensorsAtStart = 0;
  const served = routeCollector();

  before(async () => {
    app = await appFor(
      [
        { name: 'ctr-student', basePath: join(REPO_ROOT, 'models/ctr-student') },
        { name: 'ctr-teacher', basePath: join(REPO_ROOT, 'models/ctr-teacher') },
      ],
      {},
      { onRoute: served.onRoute },
    );
    tensorsAtStart = await app.ctr.numTensors();
  });
  after(async () => {
    await app?.close();
  });

  test('every route answers only documented statuses and codes, never a 5xx, and frees every tensor', async () => {
    const routes = served.routes.filter((r) => !r.url.startsWith('/docs'));
    assert.ok(routes.some((r) => r.url.includes('ctr')) && routes.some((r) => r.url.includes(':predict')));
    let sent = 0;
    const statuses = new Map<number, number>();
    for (const route of routes) {
      const schema = requestSchema(route.method, openApiPath(route.url));
      const bodyArb = schema
        ? fc.tuple(
            schemaArbitrary(schema, doc),
            fc.array(valueMutationArb, { maxLength: 3 }),
            textMutationArb,
          )
        : fc.constant(undefined);
      await fc.assert(
        fc.asyncProperty(
          urlArb(route.url),
          bodyArb,
          fc.constantFrom(...CONTENT_TYPES),
          async (url, body, type) => {
            const payload =
              body === undefined ? undefined : mutatedBytes(mutatedText(body[0], body[1]), body[2]);
            const res = await call(app, {
              method: route.method as 'GET' | 'POST',
              url,
              ...(payload === undefined ? {} : { payload, headers: { 'content-type': type } }),
            });
            sent++;
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            assert.ok(res.status < 500, `${route.method} ${url} → ${res.status}: ${res.text.slice(0, 300)}`);
            if (res.status >= 400) {
              const code = String(res.headers['ctr-error-code']);
              assert.ok(documentedCodes.has(code), `${url} → ${res.status} with undocumented code ${code}`);
            }
          },
        ),
        { numRuns: schema ? RUNS_PER_ROUTE : 5, seed: SEED, endOnFailure: true },
      );
    }
    // The generator reaches the models, not only the validators.
    assert.ok((statuses.get(200) ?? 0) > 20, `answers by status: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > 20, `answers by status: ${JSON.stringify([...statuses])}`);
    assert.ok(sent > routes.length * 5);
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.equal(await app.ctr.numTensors(), tensorsAtStart);
  });
});
