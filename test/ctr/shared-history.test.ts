import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../../src/config/serving-config.ts';
import { buildCtrBatch, ctrBatchInputs, type CtrUserRequest } from '../../src/ctr/ctr-batch.ts';
import { initBackend } from '../../src/graph/backend.ts';
import { loadCtrModel, sharedHistoryName, sharedHistorySpec } from '../../src/ctr/shared-history-variant.ts';
import type { LoadedModel } from '../../src/graph/model.ts';
import { ServableManager } from '../../src/serving/manager.ts';
import { PredictionService } from '../../src/serving/prediction-service.ts';
import { CtrPredictor } from '../../src/ctr/ctr-predictor.ts';
import { fixture, skipWithoutBenchReference, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { REFERENCE_L, referenceRows, writeReferenceStudent } from '../helpers/reference-model.ts';

// CTR-shaped execution in serving: the reference student (../shared/bench-reference) fed each user's history
// once must score exactly as the per-row graph fed the history repeated on every row (1e-6), and the per-row
// graph itself reproduces expected.f32 (1e-5, the bench-reference README's tolerance).

let dir: string;
before(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'ctr-shared-history-'));
  if (!skipWithoutBenchReference) await writeReferenceStudent(join(dir, 'ctr-student', '1'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function serve(flags: Record<string, string>) {
  const text = JSON.stringify({
    model_config_list: [{ name: 'ctr-student', base_path: join(dir, 'ctr-student') }],
  });
  const config = loadConfig({
    flags: { file_system_poll_wait_seconds: '0', ...flags },
    modelConfigFile: { path: 'models.json', text },
  });
  const calls: string[] = [];
  const manager = new ServableManager(config, {
    loadModel: async (path): Promise<LoadedModel> => {
      const model = await loadCtrModel(path);
      return {
        info: model.info,
        predict: (inputs, signature) => model.predict(inputs, signature),
        predictHost: (inputs, signature) => {
          calls.push(signature ?? model.info.defaultSignature);
          return model.predictHost(inputs, signature);
        },
        dispose: () => model.dispose(),
      };
    },
  });
  await manager.start();
  const service = new PredictionService(manager, config);
  const ctr = new CtrPredictor(service, config);
  return {
    service,
    ctr,
    calls,
    stop: async () => {
      await service.stop();
      await manager.stop();
    },
  };
}

/** Users with histories of 50 (full), 37, 12, 1 and 0 ids and 1 to 300 candidates, from the reference rows. */
function users(): CtrUserRequest[] {
  const rows = referenceRows();
  const lengths = [50, 37, 12, 1, 0];
  const counts = [300, 7, 1, 120, 40];
  let next = 0;
  return lengths.map((length, u) => {
    const candidates = Array.from({ length: counts[u]! }, () => rows[next++ % rows.length]!.candidate);
    return { id: `u${u}`, history: rows[u * 17]!.history.slice(0, length), candidates };
  });
}

test(
  'the reference student gets a shared-history variant of its CTR signature, and half_plus_two does not',
  { skip: skipWithoutBenchReference || skipWithoutFixtures },
  async () => {
    const student = await loadCtrModel(join(dir, 'ctr-student', '1'));
    const half = await loadCtrModel(fixture('tfserving/saved_model_half_plus_two_cpu/00000123'));
    try {
      const variant = sharedHistorySpec(student.info, 'serving_default');
      assert.equal(variant?.name, sharedHistoryName('serving_default'));
      assert.deepEqual(Object.keys(variant!.inputs).sort(), ['candidate', 'history', 'user_index']);
      assert.deepEqual(Object.keys(student.info.signatures), ['serving_default']);
      assert.equal(half.info.variants, undefined);
    } finally {
      student.dispose();
      half.dispose();
    }
  },
);

test(
  'CTR scores with the history shared per user equal the per-row graph within 1e-6, for users of different history lengths',
  { skip: skipWithoutBenchReference, timeout: 120_000 },
  async () => {
    const shared = await serve({ enable_batching: 'false' });
    const perRow = await serve({ enable_batching: 'false', share_history: 'false' });
    try {
      const requests = users();
      const a = await shared.ctr.predictCtr({ requests, explain: true });
      const b = await perRow.ctr.predictCtr({ requests, explain: true });
      assert.deepEqual(shared.calls.at(-1), sharedHistoryName('serving_default'));
      assert.deepEqual(perRow.calls.at(-1), 'serving_default');
      assert.equal(a.scores.length, 468);
      for (let i = 0; i < a.scores.length; i++) {
        assert.ok(
          Math.abs(a.scores[i]! - b.scores[i]!) <= 1e-6,
          `row ${i}: ${a.scores[i]} vs ${b.scores[i]}`,
        );
      }
      for (let u = 0; u < requests.length; u++) {
        const la = a.results[u]!.logits!;
        const lb = b.results[u]!.logits!;
        for (let i = 0; i < la.length; i++)
          assert.ok(Math.abs(la[i]! - lb[i]!) <= 1e-5 * Math.max(1, Math.abs(lb[i]!)));
      }
      // The batch kept for the shadow replay is still the per-row one.
      assert.equal(a.batch.history.length, 468 * REFERENCE_L);
      assert.deepEqual(a.batch.history, b.batch.history);
    } finally {
      await shared.stop();
      await perRow.stop();
    }
  },
);

test(
  'concurrent shared-history calls merged by the batcher keep each row on its own user',
  { skip: skipWithoutBenchReference, timeout: 120_000 },
  async () => {
    const s = await serve({ enable_batching: 'true' });
    try {
      const all = users();
      // The per-row graph on the raw model, and the expected.f32 anchor for a full-history row.
      const model = await loadCtrModel(join(dir, 'ctr-student', '1'));
      const batch = buildCtrBatch(all, REFERENCE_L);
      const want = (await model.predictHost(ctrBatchInputs(batch))).ctr!.values as Float32Array;
      model.dispose();
      const rows = referenceRows();
      const anchor = await s.ctr.predictCtr({
        requests: [{ history: rows[3]!.history, candidates: [rows[3]!.candidate] }],
      });
      assert.ok(Math.abs(anchor.scores[0]! - rows[3]!.expected) <= 1e-5);

      const before = tf.memory().numTensors;
      const callsBefore = s.calls.length;
      const outs = await Promise.all(all.map((user) => s.ctr.predictCtr({ requests: [user] })));
      assert.ok(s.calls.length - callsBefore < all.length, 'the requests were merged');
      assert.ok(s.calls.slice(callsBefore).every((c) => c === sharedHistoryName('serving_default')));
      const got = outs.flatMap((o) => Array.from(o.scores));
      assert.equal(got.length, want.length);
      for (let i = 0; i < got.length; i++) {
        assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-6, `row ${i}: ${got[i]} vs ${want[i]}`);
      }
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await s.stop();
    }
  },
);
