import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertClose, fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { appFor, call, modelRepo, post } from '../helpers/app-helpers.ts';

// TF Serving feeds a request's tensors as given, so its README sends [1.0, 2.0, 5.0] (shape [3]) to half_plus_two,
// whose signature says [-1, 1], and the tfjs fixtures send [1, 2, 3] to signatures of shape []: these tests send them
// verbatim.

// Expected values: ../shared/tf-fixtures/README.md (TF Serving's own README and tests); tolerance 1e-5 relative.
describe('TF Serving REST API on real TensorFlow models', { skip: skipWithoutFixtures }, () => {
  let app: FastifyInstance;
  const repos: { cleanup(): Promise<void> }[] = [];

  before(async () => {
    const multiSig = await modelRepo({ 1: fixture('tfjs/module_with_multiple_signatures') });
    const multiOut = await modelRepo({ 1: fixture('tfjs/model_multi_output') });
    const timesTwoInt = await modelRepo({ 1: fixture('tfjs/times_two_int') });
    repos.push(multiSig, multiOut, timesTwoInt);
    app = await appFor([
      { name: 'half_plus_two', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') },
      { name: 'half_plus_two_tf2', basePath: fixture('tfserving/saved_model_half_plus_two_tf2_cpu') },
      {
        name: 'two_versions',
        basePath: fixture('tfserving/saved_model_half_plus_two_2_versions'),
        policy: { all: {} },
      },
      { name: 'matrix', basePath: fixture('tfserving/matrix_half_plus_two') },
      { name: 'multi_sig', basePath: multiSig.path },
      { name: 'multi_out', basePath: multiOut.path },
      { name: 'times_two_int', basePath: timesTwoInt.path },
    ]);
  });
  after(async () => {
    await app?.close();
    for (const r of repos) await r.cleanup();
  });

  test("half_plus_two answers TF Serving's README example, sent with curl's default content type", async () => {
    const res = await call(app, post('/v1/models/half_plus_two:predict', '{"instances": [1.0, 2.0, 5.0]}'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ['predictions']);
    assertClose(res.body.predictions, [2.5, 3.0, 4.5]);
  });

  test('half_plus_two answers rows shaped as its signature declares ([3, 1])', async () => {
    const res = await call(
      app,
      post('/v1/models/half_plus_two:predict', '{"instances": [[1.0], [2.0], [5.0]]}'),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.predictions.length, 3);
    assertClose(res.body.predictions.flat(), [2.5, 3.0, 4.5]);
  });

  test('half_plus_two answers the columnar format with "outputs", and a JSON content type works too', async () => {
    const res = await call(
      app,
      post('/v1/models/half_plus_two:predict', { inputs: { x: [[2], [3], [4]] } }, 'application/json'),
    );
    assert.equal(res.status, 200, res.text);
    assertClose(res.body.outputs.flat(), [3, 3.5, 4]);
  });

  test('NaN and Infinity inputs are accepted for float tensors and come back as bare tokens', async () => {
    const res = await call(
      app,
      post('/v1/models/half_plus_two:predict', '{"instances": [[NaN], [Infinity], [-Infinity]]}'),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text.replace(/\s/g, ''), '{"predictions":[[NaN],[Infinity],[-Infinity]]}');
  });

  test('the TF2 half_plus_two (function calls, resource variables) answers x=2 with 3', async () => {
    const res = await call(app, post('/v1/models/half_plus_two_tf2:predict', { instances: [2.0] }));
    assert.equal(res.status, 200, res.text);
    assertClose(res.body.predictions, [3.0]);
  });

  test('matrix_half_plus_two keeps the nesting of a [1,3,3] input', async () => {
    const res = await call(
      app,
      post('/v1/models/matrix:predict', {
        instances: [
          [
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ],
        ],
      }),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.predictions.length, 1);
    assertClose(res.body.predictions[0].flat(), [2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5]);
  });

  test('model status lists every version with TF Serving field names', async () => {
    const res = await call(app, { method: 'GET', url: '/v1/models/two_versions' });
    assert.equal(res.status, 200, res.text);
    const byVersion = Object.fromEntries(
      res.body.model_version_status.map((s: { version: string }) => [s.version, s]),
    );
    assert.deepEqual(Object.keys(byVersion).sort(), ['123', '124']);
    assert.deepEqual(byVersion['124'], {
      version: '124',
      state: 'AVAILABLE',
      status: { error_code: 'OK', error_message: '' },
    });
    const one = await call(app, { method: 'GET', url: '/v1/models/two_versions/versions/123' });
    assert.equal(one.status, 200);
    assert.deepEqual(
      one.body.model_version_status.map((s: { version: string }) => s.version),
      ['123'],
    );
  });

  test('a version in the URL picks that version; without one the latest serves', async () => {
    for (const v of ['123', '124']) {
      const res = await call(
        app,
        post(`/v1/models/two_versions/versions/${v}:predict`, { instances: [[1.0]] }),
      );
      assert.equal(res.status, 200, res.text);
      assertClose(res.body.predictions.flat(), [2.5]);
      const meta = await call(app, { method: 'GET', url: `/v1/models/two_versions/versions/${v}/metadata` });
      assert.equal(meta.body.model_spec.version, v);
    }
    const latest = await call(app, { method: 'GET', url: '/v1/models/two_versions/metadata' });
    assert.equal(latest.body.model_spec.version, '124');
  });

  test('metadata prints the SignatureDefMap as TF Serving does', async () => {
    const res = await call(app, { method: 'GET', url: '/v1/models/half_plus_two/metadata' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.model_spec, { name: 'half_plus_two', signature_name: '', version: '123' });
    const sigs = res.body.metadata.signature_def;
    assert.equal(sigs['@type'], 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const x = sigs.signature_def.serving_default.inputs.x;
    assert.equal(x.dtype, 'DT_FLOAT');
    assert.equal(x.name, 'x:0');
    assert.equal(sigs.signature_def.serving_default.method_name, 'tensorflow/serving/predict');
  });

  test('signature_name picks a signature of a multi-signature model (scalar inputs, as declared)', async () => {
    const dflt = await call(app, post('/v1/models/multi_sig:predict', { inputs: 3 }));
    assert.equal(dflt.status, 200, dflt.text);
    assertClose([dflt.body.outputs], [9]);
    const two = await call(
      app,
      post('/v1/models/multi_sig:predict', { signature_name: 'timestwo', inputs: 3 }),
    );
    assert.equal(two.status, 200, two.text);
    assertClose([two.body.outputs], [6]);
  });

  test("signature_name picks a signature of a multi-signature model (the README's [1, 2, 3])", async () => {
    const dflt = await call(app, post('/v1/models/multi_sig:predict', { instances: [1, 2, 3] }));
    assert.equal(dflt.status, 200, dflt.text);
    assertClose(dflt.body.predictions, [3, 6, 9]);
    const two = await call(
      app,
      post('/v1/models/multi_sig:predict', { signature_name: 'timestwo', instances: [1, 2, 3] }),
    );
    assert.equal(two.status, 200, two.text);
    assertClose(two.body.predictions, [2, 4, 6]);
  });

  test('several outputs come back named in a columnar answer (scalar inputs, as declared)', async () => {
    const res = await call(app, post('/v1/models/multi_out:predict', { inputs: { x: 3, y: 5 } }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { outputs: { output_0: 6, output_1: 5 } });
  });

  test('several outputs come back named: one object per row, or one object of columns', async () => {
    const rows = await call(
      app,
      post('/v1/models/multi_out:predict', {
        instances: [
          { x: 1, y: 1 },
          { x: 2, y: 2 },
          { x: 3, y: 3 },
        ],
      }),
    );
    assert.equal(rows.status, 200, rows.text);
    assert.deepEqual(rows.body, {
      predictions: [
        { output_0: 2, output_1: 1 },
        { output_0: 4, output_1: 2 },
        { output_0: 6, output_1: 3 },
      ],
    });
    const cols = await call(
      app,
      post('/v1/models/multi_out:predict', { inputs: { x: [1, 2, 3], y: [1, 2, 3] } }),
    );
    assert.equal(cols.status, 200, cols.text);
    assert.deepEqual(cols.body, { outputs: { output_0: [2, 4, 6], output_1: [1, 2, 3] } });
  });

  test('an int32 model takes an integer and refuses a float with a 400', async () => {
    const ok = await call(app, post('/v1/models/times_two_int:predict', { inputs: 4 }));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { outputs: 8 });
    const bad = await call(app, post('/v1/models/times_two_int:predict', { inputs: 1.5 }));
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['ctr-error-code'], 'CTR_ERR_BAD_REQUEST');
  });

  test('an int32 model takes a batch of integers and refuses floats with a 400', async () => {
    const ok = await call(app, post('/v1/models/times_two_int:predict', { instances: [1, 2, 3] }));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { predictions: [2, 4, 6] });
    const bad = await call(app, post('/v1/models/times_two_int:predict', { instances: [1.5] }));
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['ctr-error-code'], 'CTR_ERR_BAD_REQUEST');
  });

  test('the CTR API refuses a model without the CTR signature with CTR_ERR_NOT_CTR_MODEL', async () => {
    const res = await call(
      app,
      post('/v1/ctr/half_plus_two:predict', { requests: [{ history: [1], candidates: [2] }] }),
    );
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 'CTR_ERR_NOT_CTR_MODEL');
  });

  const errorCases: [string, () => Promise<Awaited<ReturnType<typeof call>>>, number, string][] = [
    [
      'malformed JSON',
      () => call(app, post('/v1/models/half_plus_two:predict', '{"instances": [1,')),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'an empty body',
      () => call(app, post('/v1/models/half_plus_two:predict', '')),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'neither instances nor inputs',
      () => call(app, post('/v1/models/half_plus_two:predict', { x: 1 })),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'an unknown model',
      () => call(app, post('/v1/models/nope:predict', { instances: [1] })),
      404,
      'CTR_ERR_MODEL_NOT_FOUND',
    ],
    [
      'status of an unknown model',
      () => call(app, { method: 'GET', url: '/v1/models/nope' }),
      404,
      'CTR_ERR_MODEL_NOT_FOUND',
    ],
    [
      'an unknown version',
      () => call(app, post('/v1/models/two_versions/versions/7:predict', { instances: [1] })),
      404,
      'CTR_ERR_VERSION_NOT_FOUND',
    ],
    [
      'status of an unknown version',
      () => call(app, { method: 'GET', url: '/v1/models/two_versions/versions/7' }),
      404,
      'CTR_ERR_VERSION_NOT_FOUND',
    ],
    [
      'a version that is not a number',
      () => call(app, post('/v1/models/two_versions/versions/abc:predict', { instances: [1] })),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'an unknown signature',
      () => call(app, post('/v1/models/multi_sig:predict', { signature_name: 'nope', instances: [1] })),
      400,
      'CTR_ERR_SIGNATURE_NOT_FOUND',
    ],
    [
      'a wrongly shaped input',
      () => call(app, post('/v1/models/matrix:predict', { instances: [[1, 2, 3]] })),
      400,
      'CTR_ERR_INPUT_MISMATCH',
    ],
    [
      'an unknown input name',
      () => call(app, post('/v1/models/multi_out:predict', { inputs: { x: [1], z: [1] } })),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'classify',
      () => call(app, post('/v1/models/half_plus_two:classify', { examples: [] })),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'regress on a version',
      () => call(app, post('/v1/models/half_plus_two/versions/123:regress', {})),
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'an unknown verb',
      () => call(app, post('/v1/models/half_plus_two:explode', {})),
      404,
      'CTR_ERR_ROUTE_NOT_FOUND',
    ],
  ];
  for (const [what, send, status, code] of errorCases) {
    test(`${what} answers ${status} with TF Serving's {"error"} body and code ${code}`, async () => {
      const res = await send();
      assert.equal(res.status, status, res.text);
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.equal(typeof res.body.error, 'string');
      assert.equal(res.headers['ctr-error-code'], code);
      assert.doesNotMatch(res.text, /\n\s+at /, 'no stack trace');
    });
  }
});
