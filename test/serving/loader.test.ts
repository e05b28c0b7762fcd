import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { isCtrError } from '../../src/errors/registry.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { loadServable } from '../../src/serving/loader.ts';
import { zeros } from '../../src/serving/zero-inputs.ts';
import { TfjsTestModel, type TestModelSpec } from '../helpers/tfjs-models.ts';

before(async () => {
  await initBackend();
});

const id = { name: 'm', version: 4 };

function loaderOf(spec: TestModelSpec) {
  const models: TfjsTestModel[] = [];
  return {
    models,
    load: async () => {
      const m = new TfjsTestModel(spec);
      models.push(m);
      return m;
    },
  };
}

test('a model is warmed up with one prediction on zeros before it is handed over', async () => {
  const { models, load } = loaderOf({ kind: 'ctr', historyLength: 5 });
  const servable = await loadServable(id, '/m/4', load);
  assert.deepEqual(servable.id, id);
  assert.equal(models[0]!.calls, 1);
  assert.deepEqual(models[0]!.batchRows, [1]);
  assert.ok(Object.isFrozen(servable));
  servable.model.dispose();
});

test('a model whose outputs are not finite on zeros fails with CTR_ERR_WARMUP_FAILED and is disposed', async () => {
  const baseline = tf.memory().numTensors;
  const { models, load } = loaderOf({ kind: 'log', c: 1 });
  await assert.rejects(
    loadServable(id, '/m/4', load),
    (err) => isCtrError(err) && err.code === 'CTR_ERR_WARMUP_FAILED',
  );
  assert.ok(models[0]!.disposed);
  assert.equal(tf.memory().numTensors, baseline);
  const ok = loaderOf({ kind: 'log', c: -1 });
  (await loadServable(id, '/m/4', ok.load)).model.dispose();
});

test('a model whose output shape differs from its signature fails its warm-up', async () => {
  const { models, load } = loaderOf({ kind: 'flatten' });
  await assert.rejects(
    loadServable(id, '/m/4', load),
    (err) => isCtrError(err) && err.code === 'CTR_ERR_WARMUP_FAILED',
  );
  assert.ok(models[0]!.disposed);
});

test('load errors keep their code and foreign errors become CTR_ERR_NOT_A_MODEL', async () => {
  await assert.rejects(
    loadServable(id, '/m/4', () => Promise.reject(new Error('ENOENT'))),
    (err) => isCtrError(err) && err.code === 'CTR_ERR_NOT_A_MODEL' && err.cause instanceof Error,
  );
});

test('warm-up zeros use the signature dtypes with unknown dims as 1', () => {
  const z = zeros({ tensorName: 'h:0', dtype: 'DT_INT32', shape: [-1, 7] });
  assert.deepEqual(z.shape, [1, 7]);
  assert.ok(z.values instanceof Int32Array && z.values.every((v) => v === 0));
  assert.deepEqual(zeros({ tensorName: 'x:0', dtype: 'DT_INT64', shape: [2] }).values, [0, 0]);
  assert.deepEqual(zeros({ tensorName: 'x:0', dtype: 'DT_FLOAT', shape: null }).shape, [1]);
  assert.deepEqual(zeros({ tensorName: 'x:0', dtype: 'DT_BOOL', shape: [] }).values, [false]);
});
