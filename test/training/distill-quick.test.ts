import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import { loadModel } from '../../src/graph/load-model.ts';
import { QUICK_CONFIG } from '../../src/training/config.ts';
import { runDistill } from '../../src/training/pipeline.ts';
import type { DistillReport } from '../../src/training/report/report-types.ts';

let dir: string;
const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });

before(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'ctr-distill-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (out: string) =>
  runDistill({ config: QUICK_CONFIG, outDir: join(dir, out), cwd: dir, stderr: quiet(), command: 'test' });

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fell = (r: DistillReport, name: string) => {
  const c = r.curves[name]!.map((p) => p.loss);
  const k = Math.max(1, Math.floor(c.length / 4));
  return mean(c.slice(-k)) < mean(c.slice(0, k));
};

test('the quick config trains end to end: losses fall, the export loads and matches, and a rerun repeats it', async () => {
  const tensorsBefore = tf.memory().numTensors;
  const r = await run('a');
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor outlives the run');

  assert.ok(fell(r, 'teacher pretrain (masked items)'), 'masked-item loss falls');
  assert.ok(fell(r, 'teacher fine-tune'), 'fine-tune loss falls');
  for (const v of QUICK_CONFIG.student.variants)
    assert.ok(fell(r, `student ${v.name}`), `${v.name} loss falls`);

  assert.deepEqual(
    r.models.map((m) => m.name),
    ['bayes', 'teacher', ...QUICK_CONFIG.student.variants.map((v) => v.name)],
  );
  for (const m of r.models) assert.ok(m.auc > 0 && m.auc <= 1 && m.logLoss > 0, m.name);
  assert.equal(r.models.filter((m) => m.exported && m.role === 'student').length, 1);
  assert.ok(r.export.maxAbsDiff.student <= 1e-5 && r.export.maxAbsDiff.teacher <= 1e-5);
  assert.ok(existsSync(join(r.export.teacherDir, 'variables', 'variables.index')));

  const student = await loadModel(r.export.studentDir);
  const L = QUICK_CONFIG.data.clickModel.historyLength;
  assert.deepEqual(student.info.signatures.serving_default!.inputs.history!.shape, [-1, L]);
  assert.equal(student.info.vocabSize, QUICK_CONFIG.data.clickModel.vocabSize);
  const out = await student.predictHost({
    history: { dtype: 'DT_INT32', shape: [2, L], values: new Int32Array(2 * L).fill(1) },
    candidate: { dtype: 'DT_INT32', shape: [2], values: Int32Array.from([1, 2]) },
  });
  assert.deepEqual(out.ctr!.shape, [2]);
  student.dispose();

  const again = await run('b');
  assert.deepEqual(
    again.models.map((m) => [m.name, m.auc, m.logLoss]),
    r.models.map((m) => [m.name, m.auc, m.logLoss]),
    'same seed, same metrics',
  );
});
