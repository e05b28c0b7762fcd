import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { CtrPredictor } from '../../src/ctr/ctr-predictor.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { refusal } from '../../src/errors/registry.ts';
import { createHttpServer } from '../../src/http/http-server.ts';
import { registerCtrRoutes } from '../../src/http/routes/ctr.ts';
import { registerTfServingRoutes } from '../../src/http/routes/tf-serving.ts';
import type { ServableManager } from '../../src/serving/manager.ts';
import type { PredictionService } from '../../src/serving/prediction-service.ts';

/**
 * Overload (issue 9, bench/README.md "Overload with two workers"): an overloaded model's requests are refused when
 * their request line arrives, before the body is read or parsed (a body that is not even JSON still gets the
 * 503, and the model is never asked), and refusals are logged as one line per second with their count.
 */
function overloadedApp() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const config = loadConfig({ flags: { model_name: 'm', model_base_path: '/nonexistent' } });
  const observed: string[] = [];
  const { app, stopTaking } = createHttpServer(
    config,
    { observeHttp: (route, method, status) => observed.push(`${method} ${route} ${status}`) },
    { level: 'info', stream },
  );
  // Every request Fastify itself handles passes here (the early refusal's do not).
  const reachedFastify: string[] = [];
  app.addHook('onRequest', (request, _reply, done) => {
    reachedFastify.push(request.url);
    done();
  });
  const checked: (string | undefined)[] = [];
  const full = (model?: string) => {
    checked.push(model);
    return refusal('CTR_ERR_QUEUE_FULL', `${model ?? 'm'}: the queued requests need about 250 ms to run`);
  };
  const asked: string[] = [];
  const ctr = {
    admissionRefusal: full,
    predictCtr: async () => {
      asked.push('ctr');
      throw new Error('the model must not be asked');
    },
  } as unknown as CtrPredictor;
  const service = {
    admissionRefusal: full,
    predict: async () => {
      asked.push('predict');
      throw new Error('the model must not be asked');
    },
  } as unknown as PredictionService;
  const manager = {
    acquire: () => {
      asked.push('acquire');
      throw new Error('no servable may be acquired');
    },
  } as unknown as ServableManager;
  registerCtrRoutes(app, ctr);
  registerTfServingRoutes(app, manager, service);
  return { app, lines, checked, asked, observed, reachedFastify, stopTaking };
}

test('an overloaded model refuses before the body is parsed, on the CTR and TF Serving routes', async () => {
  const { app, checked, asked } = overloadedApp();
  try {
    for (const url of ['/v1/ctr:predict', '/v1/ctr/other:predict', '/v1/models/other:predict']) {
      for (const payload of ['{"requests": [', 'not json at all', '{"instances": [[1, 2]]}']) {
        const res = await app.inject({ method: 'POST', url, payload });
        assert.equal(res.statusCode, 503, `${url} ${payload}: ${res.body}`);
        assert.equal(res.headers['ctr-error-code'], 'CTR_ERR_QUEUE_FULL');
        assert.equal(res.headers['retry-after'], '1');
      }
    }
    assert.deepEqual(checked, [
      undefined,
      undefined,
      undefined,
      'other',
      'other',
      'other',
      'other',
      'other',
      'other',
    ]);
    assert.deepEqual(asked, []);
  } finally {
    await app.close();
  }
});

test('refusals are logged once per second with their count, and carry no stack', async () => {
  const { app, lines } = overloadedApp();
  try {
    for (let i = 0; i < 50; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/ctr:predict', payload: '{}' });
      assert.equal(res.statusCode, 503);
    }
    const refused = lines.filter((l) => l.msg === 'requests refused');
    assert.equal(refused.length, 1, 'one line for the first refusal; the next come within the second');
    assert.equal(refused[0]!.refused, 1);
    assert.equal(refused[0]!.code, 'CTR_ERR_QUEUE_FULL');
    assert.ok(!lines.some((l) => l.msg === 'request rejected' || l.msg === 'request failed'));
    assert.equal(refusal('CTR_ERR_QUEUE_FULL', 'x').stack?.includes('\n    at '), false);
  } finally {
    await app.close();
  }
});

test('over a socket the refusal is written before Fastify routes the request, until the server stops taking', async () => {
  const { app, asked, observed, reachedFastify, stopTaking } = overloadedApp();
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const url of ['/v1/ctr:predict', '/v1/ctr/other:predict', '/v1/models/other:predict?x=1']) {
      const res = await fetch(`${base}${url}`, { method: 'POST', body: 'not json at all' });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('ctr-error-code'), 'CTR_ERR_QUEUE_FULL');
      assert.equal(res.headers.get('retry-after'), '1');
    }
    assert.deepEqual(reachedFastify, []);
    assert.deepEqual(asked, []);
    assert.deepEqual(observed, [
      'POST /v1/ctr:predict 503',
      'POST /v1/ctr/{model}:predict 503',
      'POST /v1/models/{name}:predict 503',
    ]);
    // Not a prediction route (and a URL the router cannot take): Fastify answers as before.
    assert.equal((await fetch(`${base}/v1/ctr:explain`, { method: 'POST', body: '{}' })).status, 404);
    assert.deepEqual(reachedFastify, ['/v1/ctr:explain']);
    const badUrl = await fetch(`${base}/v1/models/%E0%A4%A:predict`, { method: 'POST' });
    assert.equal(badUrl.status, 400); // Fastify's FST_ERR_BAD_URL, coded as without the early refusal
    assert.equal(badUrl.headers.get('ctr-error-code'), 'CTR_ERR_BAD_REQUEST');
    stopTaking();
    const closing = await fetch(`${base}/v1/ctr:predict`, { method: 'POST', body: '{}' });
    assert.equal(closing.status, 503);
    assert.equal(closing.headers.get('ctr-error-code'), 'CTR_ERR_SHUTTING_DOWN');
    assert.equal(closing.headers.get('connection'), 'close');
  } finally {
    await app.close();
  }
});
