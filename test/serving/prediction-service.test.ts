import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../../src/config/serving-config.ts';
import { isCtrError } from '../../src/errors/registry.ts';
import type { HostTensor } from '../../src/graph/model.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { ServableManager } from '../../src/serving/manager.ts';
import { PredictionService } from '../../src/serving/prediction-service.ts';
import { CtrPredictor } from '../../src/ctr/ctr-predictor.ts';
import { scoreWithTeacher } from '../../src/ctr/teacher-replay.ts';
import { assertClose } from '../helpers/fixtures.ts';
import { floats, testModelLoader, writeVersion, type TestModelSpec } from '../helpers/tfjs-models.ts';

const roots: string[] = [];
before(async () => {
  await initBackend();
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function serve(
  models: Record<string, Record<number, TestModelSpec>>,
  flags: Record<string, string | boolean> = {},
  batchingParameters?: string,
) {
  const root = mkdtempSync(join(tmpdir(), 'ctr-serve-prediction-'));
  roots.push(root);
  for (const [name, versions] of Object.entries(models)) {
    for (const [v, spec] of Object.entries(versions)) writeVersion(join(root, name), v, spec);
  }
  const config = loadConfig({
    flags: { file_system_poll_wait_seconds: '0', ...flags },
    defaultModelsDir: { path: root, names: Object.keys(models) },
    ...(batchingParameters
      ? { batchingParametersFile: { path: 'batching.txt', text: batchingParameters } }
      : {}),
  });
  const loader = testModelLoader();
  const manager = new ServableManager(config, { loadModel: loader.loadModel });
  await manager.start();
  const service = new PredictionService(manager, config);
  const ctr = new CtrPredictor(service, config);
  const stop = async () => {
    await service.stop();
    await manager.stop();
  };
  return { root, manager, service, ctr, loader, stop };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
/** The CTR test model's formula, computed independently of tfjs. */
const expectedCtr = (history: number[], candidate: number) =>
  sigmoid(0.01 * candidate + 0.001 * history.reduce((a, b) => a + b, 0) - 1);

const code = (c: string) => (err: unknown) => isCtrError(err) && err.code === c;

test('predict runs the requested signature and returns its outputs with the servable id', async () => {
  const s = await serve({ half: { 1: { kind: 'affine', a: 0.5, b: 2 } } });
  const out = await s.service.predict({ model: 'half', inputs: { x: floats(1, 2, 5) } });
  assert.deepEqual(out.id, { name: 'half', version: 1 });
  assert.equal(out.signature.name, 'serving_default');
  assert.deepEqual(Array.from(out.outputs.y!.values as Float32Array), [2.5, 3, 4.5]);
  await assert.rejects(
    s.service.predict({ model: 'half', signatureName: 'nope', inputs: { x: floats(1) } }),
    code('CTR_ERR_SIGNATURE_NOT_FOUND'),
  );
  await s.stop();
});

test('predict refuses missing, unknown and mis-shaped inputs with CTR_ERR_INPUT_MISMATCH', async () => {
  const s = await serve({ half: { 1: { kind: 'affine', a: 0.5, b: 2 } } });
  const bad: Record<string, HostTensor>[] = [
    {},
    { x: floats(1), z: floats(1) },
    { x: { dtype: 'DT_FLOAT' as const, shape: [2, 2], values: new Float32Array(4) } },
    { x: { dtype: 'DT_INT32' as const, shape: [1, 1], values: new Int32Array(1) } },
    { x: { dtype: 'DT_FLOAT' as const, shape: [3, 1], values: new Float32Array(2) } },
  ];
  for (const inputs of bad) {
    await assert.rejects(s.service.predict({ model: 'half', inputs }), code('CTR_ERR_INPUT_MISMATCH'));
  }
  assert.equal(s.loader.loaded[0]!.calls, 1, 'only the warm-up reached the model');
  await s.stop();
});

test('predictCtr scores candidates in order, per user, with top_k by descending score', async () => {
  const s = await serve({ 'ctr-student': { 1: { kind: 'ctr', historyLength: 3 } } });
  const requests = [
    { id: 'u1', history: [5, 17, 230, 400], candidates: [11, 42, 7] },
    { history: [], candidates: [100] },
  ];
  const out = await s.ctr.predictCtr({ requests, topK: 2 });
  assert.deepEqual(out.id, { name: 'ctr-student', version: 1 });
  assert.equal(out.results[0]!.id, 'u1');
  assert.equal(out.results[1]!.id, undefined);
  assertClose(
    out.results[0]!.scores,
    [11, 42, 7].map((c) => expectedCtr([17, 230, 400], c)),
    1e-5,
  );
  assertClose(out.results[1]!.scores, [expectedCtr([], 100)], 1e-5);
  assert.deepEqual(out.results[0]!.top, [1, 0]);
  assert.deepEqual(Array.from(out.batch.offsets), [0, 3, 4]);
  assert.equal(out.scores.length, 4);
  await s.stop();
});

test('predictCtr maps out-of-vocabulary ids to oov_id when the model declares one', async () => {
  const s = await serve({
    oov: { 1: { kind: 'ctr', historyLength: 2, vocabSize: 50, oovId: 1 } },
    strict: { 1: { kind: 'ctr', historyLength: 2, vocabSize: 50 } },
  });
  const out = await s.ctr.predictCtr({
    model: 'oov',
    requests: [{ history: [60, 3], candidates: [70, 40] }],
  });
  assertClose(out.results[0]!.scores, [expectedCtr([1, 3], 1), expectedCtr([1, 3], 40)], 1e-5);
  await assert.rejects(
    s.ctr.predictCtr({ model: 'strict', requests: [{ history: [], candidates: [50] }] }),
    code('CTR_ERR_INVALID_ID'),
  );
  await s.stop();
});

test('predictCtr on a model without the CTR signature is CTR_ERR_NOT_CTR_MODEL', async () => {
  const s = await serve({ half: { 1: { kind: 'affine', a: 0.5, b: 2 } } });
  await assert.rejects(
    s.ctr.predictCtr({ model: 'half', requests: [{ history: [], candidates: [1] }] }),
    code('CTR_ERR_NOT_CTR_MODEL'),
  );
  await assert.rejects(
    s.ctr.predictCtr({ model: 'missing', requests: [{ history: [], candidates: [1] }] }),
    code('CTR_ERR_MODEL_NOT_FOUND'),
  );
  await s.stop();
});

test('explain adds logits and a bad top_k is CTR_ERR_BAD_REQUEST', async () => {
  const s = await serve({ 'ctr-student': { 1: { kind: 'ctr', historyLength: 2 } } });
  const out = await s.ctr.predictCtr({ requests: [{ history: [1], candidates: [3] }], explain: true });
  assertClose(out.results[0]!.logits!, [0.01 * 3 + 0.001 - 1], 1e-5);
  for (const topK of [-1, 1.5]) {
    await assert.rejects(
      s.ctr.predictCtr({ requests: [{ history: [1], candidates: [3] }], topK }),
      code('CTR_ERR_BAD_REQUEST'),
    );
  }
  await s.stop();
});

test('adding a version while requests run loses no request', async () => {
  const s = await serve({ half: { 1: { kind: 'affine', a: 0.5, b: 2 } } }, { enable_batching: true });
  const seen = new Set<number>();
  let failures = 0;
  let stop = false;
  const client = async () => {
    while (!stop) {
      try {
        const out = await s.service.predict({ model: 'half', inputs: { x: floats(2) } });
        const y = (out.outputs.y!.values as Float32Array)[0];
        assert.equal(y, out.id.version === 1 ? 3 : 4, `version ${out.id.version} answered ${y}`);
        seen.add(out.id.version);
      } catch {
        failures++;
      }
    }
  };
  const clients = Array.from({ length: 4 }, client);
  const spin = async (until: () => boolean) => {
    for (let i = 0; i < 100000 && !until(); i++) await new Promise((resolve) => setImmediate(resolve));
  };
  await spin(() => seen.has(1));
  writeVersion(join(s.root, 'half'), 2, { kind: 'affine', a: 0.5, b: 3 });
  await s.manager.pollNow();
  await spin(() => seen.has(2));
  writeVersion(join(s.root, 'half'), 3, '{"broken'); // then a broken one: version 2 keeps serving
  await s.manager.pollNow();
  seen.clear();
  await spin(() => seen.size > 0);
  stop = true;
  await Promise.all(clients);
  assert.equal(failures, 0);
  assert.deepEqual([...seen], [2]);
  assert.deepEqual(
    s.manager.status('half').map((v) => [v.version, v.state]),
    [
      [3, 'END'],
      [2, 'AVAILABLE'],
      [1, 'END'],
    ],
  );
  assert.ok(s.loader.loaded[0]!.disposed, 'version 1 was disposed once its requests finished');
  await s.stop();
});

test('a burst far above capacity gets fast 503s for the excess, right answers for the rest, and no leaked tensors', async () => {
  const s = await serve(
    { 'ctr-student': { 1: { kind: 'ctr', historyLength: 4 } } },
    { enable_batching: true },
    'max_batch_size { value: 2000 } max_enqueued_batches { value: 4 }',
  );
  const warm = await s.ctr.predictCtr({ requests: [{ history: [1], candidates: [2] }] });
  assert.equal(warm.results.length, 1);
  const baseline = tf.memory().numTensors;
  const results = await Promise.allSettled(
    Array.from({ length: 400 }, (_, i) =>
      s.ctr.predictCtr({
        requests: [{ history: [i, i + 1], candidates: Array.from({ length: 500 }, (_, c) => c) }],
      }),
    ),
  );
  const shed = results.filter((r) => r.status === 'rejected');
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.ok(shed.length > 0, 'some requests were shed');
  assert.ok(ok.length > 0, 'some requests were answered');
  for (const r of shed)
    assert.ok(isCtrError(r.reason) && r.reason.code === 'CTR_ERR_QUEUE_FULL' && r.reason.statusCode === 503);
  results.forEach((r, i) => {
    if (r.status !== 'fulfilled') return;
    const scores = r.value.results[0]!.scores;
    assertClose([scores[0]!, scores[499]!], [expectedCtr([i, i + 1], 0), expectedCtr([i, i + 1], 499)], 1e-5);
  });
  assert.equal(tf.memory().numTensors, baseline);
  await s.stop();
});

test('a teacher replayed in-thread (--shadow_thread=false) over its queue-delay budget never sheds the student', async () => {
  // Both models on one PredictionService, hence one batcher, as the shadow replay runs without its own thread.
  const s = await serve(
    {
      'ctr-student': { 1: { kind: 'ctr', historyLength: 4 } },
      'ctr-teacher': { 1: { kind: 'ctr', historyLength: 4 } },
    },
    { max_queue_delay_ms: '5' },
  );
  const handle = s.manager.acquire('ctr-teacher');
  const teacherModel = handle.servable.model as unknown as { gate?: Promise<void> };
  handle.release();
  let open!: () => void;
  teacherModel.gate = new Promise((resolve) => (open = resolve));
  // Admission's prior costs 1 ms per call + 10 µs per row (src/serving/admission.ts): held at the gate, ten
  // replays of 200 rows are far over 5 ms of queued teacher work, so the later ones are refused.
  const candidates = Array.from({ length: 200 }, (_, c) => c);
  const replays = Promise.allSettled(
    Array.from({ length: 10 }, () =>
      scoreWithTeacher({ manager: s.manager, predictions: s.service }, 'ctr-teacher', [
        { history: [1, 2], candidates },
      ]),
    ),
  );
  await new Promise((resolve) => setImmediate(resolve));
  const student = s.ctr.predictCtr({
    model: 'ctr-student',
    requests: [{ history: [3, 4], candidates: [5] }],
  });
  const studentSettled = Promise.allSettled([student]);
  open();
  teacherModel.gate = undefined;
  const [studentResult] = await studentSettled;
  assert.equal(
    studentResult!.status,
    'fulfilled',
    `the student was refused: ${String((studentResult as PromiseRejectedResult).reason)}`,
  );
  assertClose((await student).results[0]!.scores, [expectedCtr([3, 4], 5)], 1e-5);
  const teacher = await replays;
  assert.ok(
    teacher.some((r) => r.status === 'rejected' && code('CTR_ERR_QUEUE_FULL')(r.reason)),
    'the teacher itself was over its budget',
  );
  assert.ok(
    teacher.some((r) => r.status === 'fulfilled'),
    'the teacher answered the replays it admitted',
  );
  await s.stop();
});
