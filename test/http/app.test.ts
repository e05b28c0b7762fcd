import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../../src/errors/registry.ts';
import { loadOpenApiDocument, OPENAPI_FILE, openApiPath } from '../../src/http/openapi.ts';
import { withRegistryErrorCodes } from '../../scripts/sync-openapi-error-codes.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { appFor, call, post, routeCollector } from '../helpers/app-helpers.ts';

test('the ErrorCode enum of openapi.yaml is the error registry (npm run sync:openapi rewrites it)', () => {
  const spec = loadOpenApiDocument();
  const codes = (spec.components.schemas.ErrorCode as { enum: string[] }).enum;
  assert.deepEqual([...codes].sort(), Object.keys(ERRORS).sort(), 'run npm run sync:openapi');
  const text = readFileSync(OPENAPI_FILE, 'utf8');
  assert.equal(withRegistryErrorCodes(text), text, 'run npm run sync:openapi');
});

test('openApiPath turns Fastify route syntax into OpenAPI paths', () => {
  assert.equal(openApiPath('/v1/models/:name(^[^/:]+)::predict'), '/v1/models/{name}:predict');
  assert.equal(
    openApiPath('/v1/models/:name/versions/:version(^[^/:]+)::predict'),
    '/v1/models/{name}/versions/{version}:predict',
  );
  assert.equal(openApiPath('/v1/ctr::predict'), '/v1/ctr:predict');
  assert.equal(openApiPath('/v1/models/:name/metadata'), '/v1/models/{name}/metadata');
});

// A model that fails to load keeps the app not ready; that is all these tests need from serving.
describe('the app without a servable model', { skip: skipWithoutFixtures }, () => {
  let app: FastifyInstance;
  const served = routeCollector();
  before(async () => {
    app = await appFor(
      [{ name: 'broken', basePath: fixture('tfserving/bad_half_plus_two') }],
      { max_body_bytes: '1024' },
      { onRoute: served.onRoute },
    );
  });
  after(() => app?.close());

  test('the routes the app serves and the paths openapi.yaml describes are the same set', () => {
    const spec = loadOpenApiDocument();
    const servedPaths = new Set(
      served.routes.filter((r) => !r.url.startsWith('/docs')).map((r) => `${r.method} ${openApiPath(r.url)}`),
    );
    const described = new Set(
      Object.entries(spec.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    assert.deepEqual(
      [...servedPaths].filter((r) => !described.has(r)),
      [],
      'routes missing from openapi.yaml',
    );
    assert.deepEqual(
      [...described].filter((r) => !servedPaths.has(r)),
      [],
      'openapi.yaml paths the app does not serve',
    );
  });

  test('/healthz answers while /readyz is 503 with a coded body until every model is AVAILABLE', async () => {
    assert.deepEqual((await call(app, { method: 'GET', url: '/healthz' })).body, { status: 'ok' });
    const ready = await call(app, { method: 'GET', url: '/readyz' });
    assert.equal(ready.status, 503);
    assert.equal(ready.body.code, 'CTR_ERR_MODEL_UNAVAILABLE');
    assert.equal(ready.body.statusCode, 503);
    assert.equal(ready.body.error, 'Service Unavailable');
  });

  test('a version that fails to load shows END with its error in the model status', async () => {
    const res = await call(app, { method: 'GET', url: '/v1/models/broken' });
    assert.equal(res.status, 200, res.text);
    const [status] = res.body.model_version_status;
    assert.equal(status.state, 'END');
    assert.notEqual(status.status.error_code, 'OK');
    assert.match(status.status.error_message, /CTR_ERR_/);
  });

  test('predicting on a model with no AVAILABLE version answers 503', async () => {
    const tf = await call(app, post('/v1/models/broken:predict', { instances: [1] }));
    assert.equal(tf.status, 503, tf.text);
    assert.equal(tf.headers['ctr-error-code'], 'CTR_ERR_MODEL_UNAVAILABLE');
    const ctr = await call(
      app,
      post('/v1/ctr/broken:predict', { requests: [{ history: [], candidates: [1] }] }),
    );
    assert.equal(ctr.status, 503, ctr.text);
    assert.equal(ctr.body.code, 'CTR_ERR_MODEL_UNAVAILABLE');
    assert.equal(ctr.headers['retry-after'], '1');
  });

  test("metrics are served at /metrics and TF Serving's path, with the HTTP counters of earlier requests", async () => {
    for (const url of ['/metrics', '/monitoring/prometheus/metrics']) {
      const res = await call(app, { method: 'GET', url });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.text, /^ctr_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+$/m);
      assert.match(res.text, /^ctr_model_load_total\{model="broken",outcome="failure"\} 1$/m);
      assert.match(res.text, /^process_cpu_user_seconds_total /m);
    }
  });

  test('/openapi.json is the spec and /docs serves Swagger UI', async () => {
    const spec = await call(app, { method: 'GET', url: '/openapi.json' });
    assert.equal(spec.status, 200);
    assert.deepEqual(Object.keys(spec.body.paths).sort(), Object.keys(loadOpenApiDocument().paths).sort());
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger-ui/i);
  });

  test('an unknown route answers a coded 404 (TF Serving form under /v1/models)', async () => {
    const ctr = await call(app, { method: 'GET', url: '/nope' });
    assert.equal(ctr.status, 404);
    assert.deepEqual(Object.keys(ctr.body).sort(), ['code', 'error', 'message', 'statusCode']);
    assert.equal(ctr.body.code, 'CTR_ERR_ROUTE_NOT_FOUND');
    const tf = await call(app, { method: 'GET', url: '/v1/models/broken/signatures/x/metadata' });
    assert.equal(tf.status, 404);
    assert.deepEqual(Object.keys(tf.body), ['error']);
  });

  test('a body over max_body_bytes answers 413 with its code on both APIs', async () => {
    const big = JSON.stringify({ instances: Array.from({ length: 600 }, () => 1) });
    const tf = await call(app, post('/v1/models/broken:predict', big));
    assert.equal(tf.status, 413);
    assert.equal(tf.headers['ctr-error-code'], 'CTR_ERR_PAYLOAD_TOO_LARGE');
    assert.deepEqual(Object.keys(tf.body), ['error']);
    const ctr = await call(app, post('/v1/ctr:predict', big));
    assert.equal(ctr.status, 413);
    assert.equal(ctr.body.code, 'CTR_ERR_PAYLOAD_TOO_LARGE');
  });

  test('a request id is echoed from x-request-id, or made up', async () => {
    const given = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'abc-123' },
    });
    assert.equal(given.headers['x-request-id'], 'abc-123');
    const made = await app.inject({ method: 'GET', url: '/healthz' });
    assert.ok(String(made.headers['x-request-id']).length > 0);
  });
});
