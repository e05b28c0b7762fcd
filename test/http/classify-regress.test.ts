import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { encodeExample } from '../../src/graph/tf-example.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';
import { assertClose, fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';

// half_plus_two's classify/regress signatures parse tf.Example{x} (../shared/tf-fixtures/README.md): y = 0.5x + 2,
// y2 = 0.5x + 3; TF Serving's own REST tests (tensorflow_model_server_test.py) expect
// {"examples": [{"x": 2.0}]} → regress {"results": [3.0]}, classify {"results": [[["", 3.0]]]}.
describe('TF Serving :classify and :regress on half_plus_two', { skip: skipWithoutFixtures }, () => {
  let app: FastifyInstance;
  before(async () => {
    app = await appFor([
      { name: 'half_plus_two', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') },
    ]);
  });
  after(async () => {
    await app?.close();
  });
  const send = (verb: string, body: string, url = '/v1/models/half_plus_two') =>
    call(app, post(`${url}:${verb}`, body));

  test('regress_x_to_y: {"x": 2.0} → 3.0, and regress_x_to_y2 → 4.0', async () => {
    const res = await send('regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '{"results":[3.0]}');
    const y2 = await send(
      'regress',
      '{"signature_name": "regress_x_to_y2", "examples": [{"x": 2.0}, {"x": [4.0]}]}',
    );
    assert.equal(y2.status, 200, y2.text);
    assertClose(y2.body.results, [4, 5]);
  });

  test('classify_x_to_y: scores y with empty labels, as TF Serving answers', async () => {
    const res = await send('classify', '{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '{"results":[[["",3.0]]]}');
  });

  test('context features reach every example, the example own feature wins; versions URL works', async () => {
    const res = await send(
      'regress',
      '{"signature_name": "regress_x_to_y", "context": {"x": 2.0}, "examples": [{}, {"x": 6.0}]}',
      '/v1/models/half_plus_two/versions/123',
    );
    assert.equal(res.status, 200, res.text);
    assertClose(res.body.results, [3, 5]);
  });

  test(':predict takes serialized Examples as {"b64"} raw bytes (x = 1.5 has bytes >= 0x80)', async () => {
    const example = encodeExample(new Map([['x', { kind: 'float_list', value: Float32Array.of(1.5) }]]));
    assert.ok(
      example.some((b) => b >= 0x80),
      'bytes a latin1/UTF-8 round trip would change',
    );
    const b64 = Buffer.from(example).toString('base64');
    const res = await call(
      app,
      post('/v1/models/half_plus_two:predict', { signature_name: 'regress_x_to_y', instances: [{ b64 }] }),
    );
    assert.equal(res.status, 200, res.text);
    assertClose(res.body.predictions.flat(), [2.75]);
  });

  const errors: [string, string, string, number, string][] = [
    [
      'an int64 x for a float feature',
      'regress',
      '{"signature_name":"regress_x_to_y","examples":[{"x":2}]}',
      400,
      'CTR_ERR_INVALID_EXAMPLE',
    ],
    [
      'a missing required feature',
      'regress',
      '{"signature_name":"regress_x_to_y","examples":[{"y":2.0}]}',
      400,
      'CTR_ERR_INVALID_EXAMPLE',
    ],
    [
      'two values for a feature of shape [1]',
      'classify',
      '{"signature_name":"classify_x_to_y","examples":[{"x":[1.0,2.0]}]}',
      400,
      'CTR_ERR_INVALID_EXAMPLE',
    ],
    [
      'classify on a regress signature',
      'classify',
      '{"signature_name":"regress_x_to_y","examples":[{"x":2.0}]}',
      400,
      'CTR_ERR_SIGNATURE_METHOD',
    ],
    [
      'regress on the float-input default signature',
      'regress',
      '{"examples":[{"x":2.0}]}',
      400,
      'CTR_ERR_SIGNATURE_METHOD',
    ],
    [
      'an unknown signature',
      'regress',
      '{"signature_name":"nope","examples":[{"x":2.0}]}',
      400,
      'CTR_ERR_SIGNATURE_NOT_FOUND',
    ],
    ['no examples', 'regress', '{"signature_name":"regress_x_to_y"}', 400, 'CTR_ERR_BAD_REQUEST'],
  ];
  for (const [what, verb, body, status, code] of errors) {
    test(`${what} answers ${status} ${code} with TF Serving's {"error"} body`, async () => {
      const res = await send(verb, body);
      assert.equal(res.status, status, res.text);
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.equal(res.headers['ctr-error-code'], code);
    });
  }

  test('the verbs are counted in the HTTP metrics under their openapi.yaml routes', async () => {
    await send('regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}');
    const text = (await call(app, { method: 'GET', url: '/metrics' })).text;
    assert.match(
      text,
      /ctr_http_requests_total\{route="\/v1\/models\/\{name\}:regress",method="POST",status="200"\} [1-9]/,
    );
    assert.match(text, /ctr_predictions_total\{model="half_plus_two",version="123"\} [1-9]/);
  });
});
