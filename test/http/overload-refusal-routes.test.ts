import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { appFor, checkResponse } from '../helpers/app-helpers.ts';
import { grpcFor } from '../helpers/grpc-client.ts';
import { testModelLoader, writeVersion } from '../helpers/tfjs-models.ts';

/**
 * Overload refusal on every prediction route (issue 9; docs/errors.md CTR_ERR_QUEUE_FULL): with one request held
 * in the model (its `gate`) and max_queue_delay_ms below the prior cost of one call, the model is saturated without
 * timing, and every prediction route, REST or gRPC, refuses at once with 503 / UNAVAILABLE CTR_ERR_QUEUE_FULL. Over a
 * real socket the REST refusal is the early one (src/http/early-refusal.ts); it must be byte for byte the reply
 * Fastify's path gives (`inject`, which does not go through the server's listener), whatever the body.
 */
const REST_ROUTES = [
  '/v1/ctr:predict',
  '/v1/ctr/m:predict',
  '/v1/models/m:predict',
  '/v1/models/m/versions/1:predict',
  '/v1/models/m/labels/stable:predict',
  '/v1/models/m:classify',
  '/v1/models/m/versions/1:regress',
  '/v1/models/m/labels/stable:classify',
  '/v2/models/m/infer',
  '/v2/models/m/versions/1/infer',
];

type Raw = { status: number; headers: http.IncomingHttpHeaders; text: string };

function post(
  port: number,
  path: string,
  body: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The headers that say what a reply is (not when it was sent, nor how the connection goes on). */
function replyHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const { date: _d, connection: _c, 'keep-alive': _k, 'x-request-id': _id, ...rest } = headers;
  return rest;
}

async function saturated(): Promise<{
  app: FastifyInstance;
  port: number;
  /** Model calls since it was held (warm-up calls at load not counted). */
  calls: () => number;
  release: () => Promise<void>;
  cleanup: () => Promise<void>;
}> {
  const base = await mkdtemp(join(tmpdir(), 'ctr-refusal-'));
  writeVersion(base, 1, { kind: 'ctr', historyLength: 3 });
  const loader = testModelLoader();
  const app = await appFor([{ name: 'm', basePath: base }], { max_queue_delay_ms: '0.001' }, loader);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const model = loader.loaded[0]!;
  const start = model.calls;
  let open!: () => void;
  model.gate = new Promise((resolve) => (open = resolve));
  // Admitted at once (nothing queued), then held in the model: 1 ms of prior cost is over the 0.001 ms budget.
  const held = app.ctr.service.predict({
    model: 'm',
    inputs: {
      history: { dtype: 'DT_INT32', shape: [1, 3], values: Int32Array.from([1, 2, 3]) },
      candidate: { dtype: 'DT_INT32', shape: [1], values: Int32Array.from([4]) },
    },
  });
  return {
    app,
    port: (app.server.address() as AddressInfo).port,
    calls: () => model.calls - start,
    release: async () => {
      open();
      model.gate = undefined;
      await held;
    },
    cleanup: async () => {
      open(); // app.close() waits for the held batch
      await app.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

test('a saturated model refuses on every REST prediction route with the documented 503, early and as Fastify does', async () => {
  const { app, port, calls, release, cleanup } = await saturated();
  try {
    for (const url of REST_ROUTES) {
      for (const body of ['not json at all', '{"instances": [[1, 2]]}']) {
        const raw = await post(port, url, body, { 'content-type': 'application/json' });
        checkResponse('POST', url, raw.status, raw.headers, raw.text);
        assert.equal(raw.status, 503, `${url}: ${raw.text}`);
        assert.equal(raw.headers['ctr-error-code'], 'CTR_ERR_QUEUE_FULL');
        assert.equal(raw.headers['retry-after'], '1');
        assert.match(String(raw.headers['x-request-id']), /^req-[0-9a-z]+$/);
        const injected = await app.inject({ method: 'POST', url, payload: body });
        assert.equal(injected.statusCode, 503);
        assert.deepEqual(replyHeaders(raw.headers), replyHeaders(injected.headers), url);
        assert.equal(raw.text, injected.body, url);
      }
    }
    const tf = JSON.parse((await post(port, '/v1/models/m:predict', '{}')).text);
    assert.deepEqual(Object.keys(tf), ['error']);
    const ctr = JSON.parse((await post(port, '/v1/ctr:predict', '{}')).text);
    assert.deepEqual(Object.keys(ctr), ['statusCode', 'code', 'error', 'message']);
    assert.equal(ctr.code, 'CTR_ERR_QUEUE_FULL');
    const echoed = await post(port, '/v2/models/m/infer', '{}', { 'x-request-id': 'abc-1' });
    assert.equal(echoed.headers['x-request-id'], 'abc-1');
    // Only the held request reached the model; refusals are counted as sheds and as 503s of their route.
    assert.equal(calls(), 1);
    const metrics = await app.ctr.metrics.registry.metrics();
    assert.match(
      metrics,
      /ctr_http_requests_total\{route="\/v1\/ctr:predict",method="POST",status="503"\} [1-9]/,
    );
    assert.match(
      metrics,
      /ctr_http_requests_total\{route="\/v2\/models\/\{name\}\/infer",method="POST",status="503"\} [1-9]/,
    );
    await release();
    const answered = await post(
      port,
      '/v1/ctr/m:predict',
      JSON.stringify({ requests: [{ history: [1], candidates: [2, 3] }] }),
    );
    assert.equal(answered.status, 200, answered.text);
    assert.equal(JSON.parse(answered.text).results[0].scores.length, 2);
  } finally {
    await cleanup();
  }
});

test('a saturated model refuses gRPC Predict, Classify, Regress and ModelInfer with UNAVAILABLE CTR_ERR_QUEUE_FULL', async () => {
  const { app, calls: modelCalls, release, cleanup } = await saturated();
  const { server, clients } = await grpcFor(app);
  try {
    const spec = { name: 'm' };
    const calls: [string, () => Promise<unknown>][] = [
      ['Predict', () => clients.prediction('Predict', { model_spec: spec, inputs: {} })],
      ['Classify', () => clients.prediction('Classify', { model_spec: spec, input: {} })],
      [
        'Regress',
        () => clients.prediction('Regress', { model_spec: { ...spec, version: { value: 1 } }, input: {} }),
      ],
      ['ModelInfer', () => clients.inference('ModelInfer', { model_name: 'm', inputs: [] })],
    ];
    for (const [name, call] of calls) {
      const err = (await call().then(
        () => assert.fail(`${name} was answered`),
        (e: unknown) => e,
      )) as ServiceError;
      assert.equal(err.code, 14, `${name}: ${err.message}`); // UNAVAILABLE
      assert.deepEqual(err.metadata.get('ctr-error-code'), ['CTR_ERR_QUEUE_FULL'], name);
    }
    assert.equal(modelCalls(), 1);
    await release();
  } finally {
    clients.close();
    await server.stop(0);
    await cleanup();
  }
});
