import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../../src/config/serving-config.ts';
import { buildCtrBatch, ctrBatchInputs } from '../../src/ctr/ctr-batch.ts';
import { loadCtrModel, sharedHistorySpec } from '../../src/ctr/shared-history-variant.ts';
import { ServableManager } from '../../src/serving/manager.ts';
import { PredictionService } from '../../src/serving/prediction-service.ts';
import { rowRange, scoreWithTeacher } from '../../src/ctr/teacher-replay.ts';
import { assertClose } from '../helpers/fixtures.ts';
import { ctrTraffic, writeCtrModel } from '../helpers/ctr-models.ts';

let base: string;
let manager: ServableManager;
let predictions: PredictionService;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'ctr-teacher-runner-'));
  await writeCtrModel(base, 'ctr-teacher', { seed: 5, historyLength: 8 });
  const config = loadConfig({
    flags: { file_system_poll_wait_seconds: '0', log_level: 'silent', workers: '1' },
    defaultModelsDir: { path: base, names: ['ctr-teacher'] },
  });
  manager = new ServableManager(config, { loadModel: (path) => loadCtrModel(path) });
  await manager.start();
  predictions = new PredictionService(manager, config);
});

after(async () => {
  await predictions.stop();
  await manager.stop();
  await rm(base, { recursive: true, force: true });
});

test('a row range keeps each user that has rows in it, cut to the range', () => {
  const batch = buildCtrBatch(
    [
      { history: [1], candidates: [1, 2, 3] },
      { history: [2], candidates: [4] },
      { history: [3], candidates: [5, 6, 7, 8] },
    ],
    2,
  );
  assert.deepEqual(Array.from(rowRange(batch, 2, 6).offsets), [0, 1, 2, 4]);
  assert.deepEqual(Array.from(rowRange(batch, 2, 6).candidate), [3, 4, 5, 6]);
  assert.deepEqual(Array.from(rowRange(batch, 4, 8).offsets), [0, 4]);
  assert.deepEqual(Array.from(rowRange(batch, 4, 8).history), [0, 3, 0, 3, 0, 3, 0, 3]);
});

test('the teacher scores in chunks, per row or with shared histories, equal its own per-row predictions', async () => {
  const requests = ctrTraffic(77, 6, 15);
  const handle = manager.acquire('ctr-teacher');
  const sharedVariant = sharedHistorySpec(handle.servable.model.info, 'serving_default');
  const direct = await handle.servable.model.predictHost(ctrBatchInputs(buildCtrBatch(requests, 8)));
  handle.release();
  assert.ok(sharedVariant, 'the teacher graph has a shared-history variant, so that path is exercised');
  const want = Array.from(direct.ctr!.values as Float32Array);
  const studentBatch = buildCtrBatch(requests, 5); // a student with a shorter history: rebuilt at L = 8
  const sameLength = buildCtrBatch(requests, 8); // replayed as is
  const tensors = tf.memory().numTensors;
  for (const shareHistory of [false, true]) {
    for (const chunkRows of [1, 7, 512]) {
      for (const batch of [studentBatch, sameLength]) {
        const got = await scoreWithTeacher(
          { manager, predictions, chunkRows, shareHistory },
          'ctr-teacher',
          requests,
          batch,
        );
        assert.deepEqual(got.id, { name: 'ctr-teacher', version: 1 });
        assertClose(got.scores, want, 1e-5, 1e-6);
      }
    }
  }
  assert.equal(tf.memory().numTensors, tensors);
});

test('an unknown teacher fails with CTR_ERR_MODEL_NOT_FOUND', async () => {
  await assert.rejects(
    scoreWithTeacher({ manager, predictions }, 'no-such-model', ctrTraffic(1, 1)),
    (err: { code?: string }) => err.code === 'CTR_ERR_MODEL_NOT_FOUND',
  );
});
