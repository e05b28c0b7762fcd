import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { skipWithoutBenchReference } from '../helpers/fixtures.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';
import { REFERENCE_L, referenceRows, writeReferenceStudent } from '../helpers/reference-model.ts';

const L = REFERENCE_L;

// The reference student (bench-reference/README.md) averages its history embeddings over all L positions and the
// padding embedding is zero, so left- or right-padding gives the same probability: expected.f32 (float64 numpy,
// rounded) holds for the CTR API's left-padded rows. Tolerance 1e-5 absolute, as that README states.
describe('CTR API on the reference student', { skip: skipWithoutBenchReference }, () => {
  let app: FastifyInstance;
  let dir: string;
  const rows = skipWithoutBenchReference ? [] : referenceRows();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-http-student-'));
    await writeReferenceStudent(join(dir, 'ctr-student', '1'));
    await writeReferenceStudent(join(dir, 'student-oov', '1'), { vocab_size: 20000, oov_id: 1 });
    app = await appFor(
      [
        { name: 'ctr-student', basePath: join(dir, 'ctr-student') },
        { name: 'student-oov', basePath: join(dir, 'student-oov') },
      ],
      { max_candidates_per_request: '2000', max_users_per_request: '100' },
    );
  });
  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('scores of many users match the reference predictions, in candidate order, with ids echoed', async () => {
    const users = rows
      .slice(0, 64)
      .map((r, i) => ({ id: `u${i}`, history: r.history, candidates: [r.candidate] }));
    const res = await call(app, post('/v1/ctr:predict', { requests: users }));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.model, { name: 'ctr-student', version: '1' });
    assert.equal(res.body.results.length, 64);
    res.body.results.forEach((r: { id: string; scores: number[] }, i: number) => {
      assert.equal(r.id, `u${i}`);
      assert.equal(r.scores.length, 1);
      assert.ok(
        Math.abs(r.scores[0]! - rows[i]!.expected) <= 1e-5,
        `user ${i}: ${r.scores[0]} vs ${rows[i]!.expected}`,
      );
    });
  });

  test('one history shared by many candidates scores each as its own row would, and top_k ranks them', async () => {
    const history = rows[0]!.history;
    const candidates = rows.slice(0, 200).map((r) => r.candidate);
    const shared = await call(
      app,
      post('/v1/ctr/ctr-student:predict', { requests: [{ history, candidates }], top_k: 5 }),
    );
    assert.equal(shared.status, 200, shared.text);
    const [result] = shared.body.results;
    assert.equal(result.scores.length, 200);
    assert.equal('id' in result, false);
    const singles = await call(
      app,
      post('/v1/ctr:predict', {
        requests: candidates.slice(0, 20).map((c) => ({ history, candidates: [c] })),
      }),
    );
    singles.body.results.forEach((r: { scores: number[] }, i: number) => {
      assert.ok(Math.abs(r.scores[0]! - result.scores[i]) <= 1e-6);
    });
    const order = result.scores
      .map((s: number, i: number) => [s, i])
      .sort((a: number[], b: number[]) => b[0]! - a[0]! || a[1]! - b[1]!);
    assert.deepEqual(
      result.top,
      order.slice(0, 5).map((p: number[]) => p[1]),
    );
  });

  test('a history longer than L keeps the newest L ids; an empty history is all padding', async () => {
    const { history, candidate } = rows.find((r) => r.history.length === L)!;
    const longer = [7, 8, 9, ...history];
    const res = await call(
      app,
      post('/v1/ctr:predict', {
        requests: [
          { history: longer, candidates: [candidate] },
          { history, candidates: [candidate] },
          { history: [], candidates: [candidate] },
          { candidates: [candidate] },
        ],
      }),
    );
    assert.equal(res.status, 200, res.text);
    const [a, b, empty, absent] = res.body.results.map((r: { scores: number[] }) => r.scores[0]);
    assert.equal(a, b);
    assert.equal(empty, absent);
    assert.notEqual(empty, b);
  });

  test('ids at or above vocab_size map to oov_id when model.json sets one, else answer 400', async () => {
    const history = rows[3]!.history;
    const oov = await call(
      app,
      post('/v1/ctr/student-oov:predict', { requests: [{ history, candidates: [25000, 1] }] }),
    );
    assert.equal(oov.status, 200, oov.text);
    assert.equal(oov.body.results[0].scores[0], oov.body.results[0].scores[1]);
    const refused = await call(
      app,
      post('/v1/ctr:predict', { requests: [{ history, candidates: [20000] }] }),
    );
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'CTR_ERR_INVALID_ID');
  });

  test('metadata shows the CTR signature of the frozen graph', async () => {
    const res = await call(app, { method: 'GET', url: '/v1/models/ctr-student/metadata' });
    assert.equal(res.status, 200, res.text);
    const sig = res.body.metadata.signature_def.signature_def.serving_default;
    assert.equal(sig.inputs.history.dtype, 'DT_INT32');
    assert.deepEqual(
      sig.inputs.history.tensor_shape.dim.map((d: { size: string }) => d.size),
      ['-1', '50'],
    );
    assert.deepEqual(Object.keys(sig.outputs).sort(), ['ctr', 'logit']);
  });

  test('the TF Serving API serves the same model: columnar history and candidate → ctr and logit', async () => {
    const r = rows.find((x) => x.history.length === L)!;
    const res = await call(
      app,
      post('/v1/models/ctr-student:predict', { inputs: { history: [r.history], candidate: [r.candidate] } }),
    );
    assert.equal(res.status, 200, res.text);
    assert.ok(Math.abs(res.body.outputs.ctr[0] - r.expected) <= 1e-5);
    assert.ok(Math.abs(1 / (1 + Math.exp(-res.body.outputs.logit[0])) - r.expected) <= 1e-5);
  });

  const history = [5, 17, 230];
  const errorCases: [string, unknown, number, string][] = [
    ['malformed JSON', '{"requests": [', 400, 'CTR_ERR_BAD_REQUEST'],
    ['a body that is not an object', '[1, 2]', 400, 'CTR_ERR_BAD_REQUEST'],
    ['a body without requests', { top_k: 1 }, 400, 'CTR_ERR_BAD_REQUEST'],
    ['requests that is not a list', { requests: {} }, 400, 'CTR_ERR_BAD_REQUEST'],
    ['an empty requests list', { requests: [] }, 400, 'CTR_ERR_EMPTY_REQUEST'],
    ['an empty candidates list', { requests: [{ history, candidates: [] }] }, 400, 'CTR_ERR_EMPTY_REQUEST'],
    ['a string id', { requests: [{ history: ['5'], candidates: [1] }] }, 400, 'CTR_ERR_INVALID_ID'],
    ['a negative id', { requests: [{ history, candidates: [-1] }] }, 400, 'CTR_ERR_INVALID_ID'],
    ['a float id', { requests: [{ history, candidates: [1.5] }] }, 400, 'CTR_ERR_INVALID_ID'],
    ['a null id', { requests: [{ history: [null], candidates: [1] }] }, 400, 'CTR_ERR_INVALID_ID'],
    ['a boolean id', { requests: [{ history, candidates: [true] }] }, 400, 'CTR_ERR_INVALID_ID'],
    ['a zero top_k', { requests: [{ history, candidates: [1] }], top_k: 0 }, 400, 'CTR_ERR_BAD_REQUEST'],
    [
      'a non-boolean explain',
      { requests: [{ history, candidates: [1] }], explain: 'yes' },
      400,
      'CTR_ERR_BAD_REQUEST',
    ],
    [
      'more users than the limit',
      { requests: Array.from({ length: 101 }, () => ({ candidates: [1] })) },
      413,
      'CTR_ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      'more candidates than the limit',
      { requests: [{ history, candidates: Array.from({ length: 2001 }, () => 1) }] },
      413,
      'CTR_ERR_PAYLOAD_TOO_LARGE',
    ],
  ];
  for (const [what, body, status, code] of errorCases) {
    test(`${what} answers ${status} ${code} with a coded body`, async () => {
      const res = await call(app, post('/v1/ctr:predict', body));
      assert.equal(res.status, status, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error', 'message', 'statusCode']);
      assert.equal(res.body.code, code);
      assert.equal(res.body.statusCode, status);
      assert.doesNotMatch(res.text, /\n\s+at /);
    });
  }

  test('an unknown model answers 404 and an unknown version 404', async () => {
    const model = await call(app, post('/v1/ctr/nope:predict', { requests: [{ history, candidates: [1] }] }));
    assert.equal(model.status, 404);
    assert.equal(model.body.code, 'CTR_ERR_MODEL_NOT_FOUND');
    const version = await call(
      app,
      post('/v1/ctr:predict', { requests: [{ history, candidates: [1] }], version: 9 }),
    );
    assert.equal(version.status, 404);
    assert.equal(version.body.code, 'CTR_ERR_VERSION_NOT_FOUND');
  });
});
