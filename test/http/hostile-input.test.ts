import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';

/**
 * The hostile-input classes of issue 9 on the bundled models/ (ctr-student: frozen graph, model.json with
 * vocab_size V = 10,000 and oov_id 0; ctr-teacher: SavedModel, no model.json, tables of V + 1 rows, the last one
 * its [MASK] token), on both APIs. Every
 * answer is a 4xx with its code in `ctr-error-code`, and no tensor is left behind.
 */
describe('hostile requests against the bundled models', () => {
  let app: FastifyInstance;
  let tensorsAtStart = 0;
  const L = 12;
  const V = 10000;
  const history = Array.from({ length: L }, (_, i) => i + 1);

  before(async () => {
    app = await appFor([
      { name: 'ctr-student', basePath: join(REPO_ROOT, 'models/ctr-student') },
      { name: 'ctr-teacher', basePath: join(REPO_ROOT, 'models/ctr-teacher') },
    ]);
    tensorsAtStart = await app.ctr.numTensors();
  });
  after(async () => {
    assert.equal(await app.ctr.numTensors(), tensorsAtStart);
    await app?.close();
  });

  const send = (url: string, body: unknown) => call(app, post(url, body));
  const refused = async (url: string, body: unknown, status: number, code: string, message?: RegExp) => {
    const res = await send(url, body);
    assert.equal(res.status, status, `${url} ${JSON.stringify(body).slice(0, 120)}: ${res.text}`);
    assert.equal(res.headers['ctr-error-code'], code, res.text);
    if (message) assert.match(res.text, message);
  };

  for (const model of ['ctr-student', 'ctr-teacher']) {
    const url = `/v1/models/${model}:predict`;
    test(`${model} :predict refuses numbers an int32 input cannot hold, in row and columnar form`, async () => {
      for (const v of [2 ** 31, -(2 ** 31) - 1, 1e20, 2 ** 32 + 3]) {
        await refused(
          url,
          { instances: [{ history, candidate: v }] },
          400,
          'CTR_ERR_DTYPE_RANGE',
          /candidate/,
        );
        await refused(url, { inputs: { history: [history], candidate: [v] } }, 400, 'CTR_ERR_DTYPE_RANGE');
        const bad = [v, ...history.slice(1)];
        await refused(
          url,
          { inputs: { history: [bad], candidate: [3] } },
          400,
          'CTR_ERR_DTYPE_RANGE',
          /\[0,0\]/,
        );
        await refused(url, { instances: [{ history: bad, candidate: 3 }] }, 400, 'CTR_ERR_DTYPE_RANGE');
      }
    });
  }

  test('an id outside its table is refused before the model runs, naming the input and position', async () => {
    const url = '/v1/models/ctr-teacher:predict';
    for (const v of [V + 1, V + 50, 2 ** 31 - 1, -1]) {
      await refused(
        url,
        { instances: [{ history, candidate: v }] },
        400,
        'CTR_ERR_INDEX_OUT_OF_RANGE',
        /element \[0\]/,
      );
      const hist = [...history.slice(0, 5), v, ...history.slice(6)];
      await refused(
        url,
        { inputs: { history: [history, hist], candidate: [1, 2] } },
        400,
        'CTR_ERR_INDEX_OUT_OF_RANGE',
        /input \\"history\\" element \[1,5\]/,
      );
      await refused(
        '/v1/ctr/ctr-teacher:predict',
        { requests: [{ history, candidates: [1, v] }] },
        400,
        v < 0 ? 'CTR_ERR_INVALID_ID' : 'CTR_ERR_INDEX_OUT_OF_RANGE',
        /requests\[0\]\.candidates\[1\]/,
      );
    }
    const ok = await send(url, { instances: [{ history, candidate: V }] });
    assert.equal(ok.status, 200, ok.text);
  });

  test('the student folds ids >= vocab_size into oov_id on both APIs, and refuses ids beyond int32', async () => {
    const url = '/v1/models/ctr-student:predict';
    const score = async (candidate: number) => {
      const res = await send(url, { inputs: { history: [history], candidate: [candidate] } });
      assert.equal(res.status, 200, res.text);
      return res.body.outputs.ctr[0] as number;
    };
    const oov = await score(0);
    assert.notEqual(await score(5), oov);
    for (const id of [V, V + 50, 2 ** 31 - 1]) assert.equal(await score(id), oov);
    assert.notEqual(await score(V - 1), oov);
    const ctr = await send('/v1/ctr:predict', { requests: [{ history, candidates: [0, V + 50, 5] }] });
    assert.equal(ctr.status, 200, ctr.text);
    assert.equal(ctr.body.results[0].scores[0], ctr.body.results[0].scores[1]);
    for (const v of [2 ** 31, 1e20]) {
      await refused(
        '/v1/ctr:predict',
        { requests: [{ history, candidates: [v] }] },
        400,
        'CTR_ERR_INVALID_ID',
      );
      await refused(
        '/v1/ctr:predict',
        { requests: [{ history: [v], candidates: [1] }] },
        400,
        'CTR_ERR_INVALID_ID',
      );
    }
  });

  test('bodies nested 100,000 deep are refused with CTR_ERR_JSON_TOO_DEEP on every route', async () => {
    const arrays = '['.repeat(100_000) + ']'.repeat(100_000);
    const objects = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    for (const deep of [arrays, objects]) {
      for (const [url, body] of [
        ['/v1/models/ctr-student:predict', `{"inputs":{"history":${deep},"candidate":[1]}}`],
        ['/v1/models/ctr-student:predict', `{"instances":${deep}}`],
        ['/v1/ctr:predict', `{"requests":${deep}}`],
        ['/v1/ctr:predict', `{"requests":[{"history":${deep},"candidates":[1]}]}`],
      ] as const) {
        const res = await app.inject(post(url, body));
        assert.equal(res.statusCode, 400, `${url}: ${res.body.slice(0, 200)}`);
        assert.equal(res.headers['ctr-error-code'], 'CTR_ERR_JSON_TOO_DEEP');
      }
    }
  });

  test("URLs that do not percent-decode are refused with CTR_ERR_BAD_REQUEST, in each API's error shape", async () => {
    for (const [url, shape] of [
      ['/v1/models/ctr-%E0%A4%A:predict', 'tf'],
      ['/v1/models/ctr-student/versions/%FF', 'tf'],
      ['/v2/models/%E0%A4%A/infer', 'tf'],
      ['/v1/ctr/%E0%A4%A:predict', 'ctr'],
    ] as const) {
      const res = await app.inject(post(url, { instances: [1] }));
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.equal(res.headers['ctr-error-code'], 'CTR_ERR_BAD_REQUEST', url);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      if (shape === 'tf') assert.deepEqual(Object.keys(body), ['error'], url);
      else assert.equal(body.code, 'CTR_ERR_BAD_REQUEST', url);
    }
  });

  test("metadata shows the student's vocab_size and oov_id, the backend and the index guards", async () => {
    const student = await call(app, { method: 'GET', url: '/v1/models/ctr-student/metadata' });
    assert.equal(student.status, 200, student.text);
    const section = student.body.metadata.ctr_serve;
    assert.equal(section.vocab_size, V);
    assert.equal(section.oov_id, 0);
    assert.equal(section.backend, 'wasm');
    assert.equal(section.index_guards.serving_default.candidate.rows, V);
    assert.equal(section.index_guards.serving_default.history.rows, V + 1);
    assert.ok(student.body.metadata.signature_def.signature_def.serving_default);
    const teacher = await call(app, { method: 'GET', url: '/v1/models/ctr-teacher/versions/1/metadata' });
    assert.equal(teacher.status, 200, teacher.text);
    assert.equal(teacher.body.metadata.ctr_serve.vocab_size, undefined);
    assert.equal(teacher.body.metadata.ctr_serve.index_guards.serving_default.candidate.rows, V + 1);
  });
});
