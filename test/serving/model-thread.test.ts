import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import { ModelThread } from '../../src/serving/model-thread.ts';
import { appFor, post } from '../helpers/app-helpers.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

const STUDENT = join(REPO_ROOT, 'models/ctr-student');
const LOADER = {
  module: pathToFileURL(join(REPO_ROOT, 'src/ctr/shared-history-variant.ts')).href,
  name: 'loadCtrModel',
};
const body = {
  requests: [
    { history: [1, 2, 3, 4, 5], candidates: [7, 8, 9, 10, 11, 12] },
    { history: [9000, 17], candidates: [3, 9999, 1, 42] },
  ],
};

test('with the model thread on, every score is the one the event loop computes, and no version lives on it', async () => {
  await initBackend('wasm');
  const mainBefore = tf.memory().numTensors;
  const threaded = await appFor([{ name: 'ctr-student', basePath: STUDENT }], { model_thread: 'true' });
  const inline = await appFor([{ name: 'ctr-student', basePath: STUDENT }], { model_thread: 'false' });
  try {
    // The threaded app loaded its version in the thread: this thread holds none of its weights.
    assert.ok((await threaded.ctr.numTensors()) > tf.memory().numTensors);
    for (const [url, payload] of [
      ['/v1/ctr:predict', body],
      [
        '/v1/models/ctr-student:predict',
        { inputs: { history: [[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 5]], candidate: [4] } },
      ],
    ] as const) {
      const a = await threaded.inject(post(url, payload));
      const b = await inline.inject(post(url, payload));
      assert.equal(a.statusCode, 200, a.body);
      assert.deepEqual(a.json(), b.json(), url);
    }
    // A coded refusal of the model's own checks crosses the thread with its status, code and message.
    const bad = { inputs: { history: [[1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 5]], candidate: [1.5] } };
    const [a, b] = [
      await threaded.inject(post('/v1/models/ctr-student:predict', bad)),
      await inline.inject(post('/v1/models/ctr-student:predict', bad)),
    ];
    assert.equal(a.statusCode, b.statusCode);
    assert.ok(a.statusCode >= 400 && a.statusCode < 500, a.body);
    assert.deepEqual(a.json(), b.json());
  } finally {
    await threaded.close();
    await inline.close();
  }
  assert.equal(tf.memory().numTensors, mainBefore);
});

test('the model thread loads, runs and unloads a version; its tensors go with the version', async () => {
  const thread = new ModelThread({ backend: 'wasm', loader: LOADER }, (err) => assert.fail(err));
  try {
    const start = await thread.numTensors();
    const model = await thread.loadModel(join(STUDENT, '1'));
    assert.equal(model.info.vocabSize, 10000);
    const loaded = await thread.numTensors();
    assert.ok(loaded > start);
    const history = { dtype: 'DT_INT32' as const, shape: [2, 12], values: new Int32Array(24).fill(3) };
    const candidate = { dtype: 'DT_INT32' as const, shape: [2], values: Int32Array.of(4, 5) };
    const out = await model.predictHost({ history, candidate });
    assert.deepEqual(out.ctr!.shape, [2]);
    assert.ok(Array.from(out.ctr!.values as Float32Array).every((p) => p > 0 && p < 1));
    // The inputs were copied to the thread, not moved: the caller's arrays are intact.
    assert.equal(history.values.length, 24);
    // predict (tensors in, tensors out) goes through the same thread and hands back tensors this thread owns.
    const mine = tf.memory().numTensors;
    const t = await model.predict({
      history: tf.tensor2d([[...Array(12).fill(3)]], [1, 12], 'int32'),
      candidate: tf.tensor1d([4], 'int32'),
    });
    assert.ok(Math.abs((t.ctr!.dataSync()[0] ?? NaN) - (out.ctr!.values as Float32Array)[0]!) < 1e-7);
    tf.dispose(Object.values(t));
    assert.equal(tf.memory().numTensors, mine + 2); // only the two inputs above, still the caller's
    tf.disposeVariables();
    assert.equal(await thread.numTensors(), loaded, 'a call leaves no tensor in the thread');
    model.dispose();
    assert.equal(await thread.numTensors(), start);
    await assert.rejects(model.predictHost({ history, candidate }), { code: 'CTR_ERR_EXECUTION' });
    await assert.rejects(thread.loadModel('/nonexistent/1'), { code: 'CTR_ERR_NOT_A_MODEL' });
  } finally {
    await thread.stop();
  }
});

test('a model thread that dies is reported once, and its pending and later calls fail', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-model-thread-'));
  const module = join(dir, 'dying-loader.mjs');
  await writeFile(module, 'export async function load() { process.exit(3); }\n');
  const deaths: Error[] = [];
  const thread = new ModelThread(
    { backend: 'wasm', loader: { module: pathToFileURL(module).href, name: 'load' } },
    (err) => deaths.push(err),
  );
  try {
    await assert.rejects(thread.loadModel('/any/1'), /exited \(code 3\)/);
    assert.equal(deaths.length, 1);
    await assert.rejects(thread.numTensors(), /exited/);
  } finally {
    await thread.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
