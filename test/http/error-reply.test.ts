import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { CtrError } from '../../src/errors/registry.ts';
import { registerErrorHandlers, toCtrError } from '../../src/http/error-reply.ts';

async function appThrowing(err: unknown) {
  const app = Fastify({ logger: false });
  registerErrorHandlers(app);
  app.get('/v1/ctr/boom', async () => {
    throw err;
  });
  app.get('/v1/models/boom', async () => {
    throw err;
  });
  await app.ready();
  return app;
}

test('an unexpected error answers 500 CTR_ERR_INTERNAL without its message or stack', async () => {
  const app = await appThrowing(new TypeError('secret detail at /srv/app.js:1'));
  for (const url of ['/v1/ctr/boom', '/v1/models/boom']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['ctr-error-code'], 'CTR_ERR_INTERNAL');
    assert.doesNotMatch(res.body, /secret|TypeError|app\.js/);
  }
  assert.deepEqual((await app.inject({ method: 'GET', url: '/v1/ctr/boom' })).json(), {
    statusCode: 500,
    code: 'CTR_ERR_INTERNAL',
    error: 'Internal Server Error',
    message: 'internal error',
  });
  await app.close();
});

test('a CtrError keeps its registry status and message; the TF Serving form is only {"error"}', async () => {
  const app = await appThrowing(new CtrError('CTR_ERR_TIMEOUT', 'waited 30000 ms'));
  const ctr = await app.inject({ method: 'GET', url: '/v1/ctr/boom' });
  assert.equal(ctr.statusCode, 504);
  assert.equal(ctr.json().message, 'waited 30000 ms');
  const tf = await app.inject({ method: 'GET', url: '/v1/models/boom' });
  assert.equal(tf.statusCode, 504);
  assert.deepEqual(tf.json(), { error: 'waited 30000 ms' });
  await app.close();
});

test("Fastify's own errors map to registry codes", () => {
  const fst = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
  assert.equal(toCtrError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413)).code, 'CTR_ERR_PAYLOAD_TOO_LARGE');
  assert.equal(toCtrError(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).code, 'CTR_ERR_BAD_REQUEST');
  assert.equal(toCtrError(fst('FST_ERR_CTP_EMPTY_JSON_BODY', 400)).code, 'CTR_ERR_BAD_REQUEST');
  assert.equal(toCtrError(Object.assign(new Error('v'), { validation: [] })).code, 'CTR_ERR_BAD_REQUEST');
  assert.equal(toCtrError('a string').code, 'CTR_ERR_INTERNAL');
});
