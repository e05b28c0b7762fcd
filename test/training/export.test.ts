import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import { loadModel } from '../../src/graph/load-model.ts';
import { decodeGraphDef, decodeSavedModel } from '../../src/graph/proto/decode.ts';
import { Prng } from '../../src/training/data/prng.ts';
import { exportModels } from '../../src/training/export/export-models.ts';
import { eagerOps } from '../../src/training/model/ops.ts';
import { type HostParams, ParamStore, initHostParams } from '../../src/training/model/params.ts';
import { type StudentConfig, studentForward, studentSpecs } from '../../src/training/model/student.ts';
import { type TeacherConfig, teacherForward, teacherSpecs } from '../../src/training/model/teacher.ts';
import { assertClose } from '../helpers/fixtures.ts';

const L = 6;
const V = 30;
const teacherCfg: TeacherConfig = {
  vocabSize: V,
  historyLength: L,
  dim: 8,
  heads: 2,
  layers: 2,
  ffnDim: 16,
  headDim: 8,
  // the default recipe's head terms (config.ts): the pretrained next-item score and the transition term
  nextResidual: true,
  transitions: true,
};
let dir: string;

before(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'ctr-export-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Random weights everywhere (zeros and ones of a fresh init would hide wiring mistakes). */
function randomParams(specs: ReturnType<typeof teacherSpecs>, rng: Prng): HostParams {
  const p = initHostParams(specs, rng);
  for (const v of Object.values(p))
    for (let i = 0; i < v.values.length; i++) v.values[i] = 0.3 * rng.normal();
  return p;
}

function rows(rng: Prng, n: number) {
  const history = Int32Array.from({ length: n * L }, (_, i) =>
    i % L < (i / L) % 3 ? 0 : 1 + rng.int(V - 1),
  );
  const candidate = Int32Array.from({ length: n }, () => 1 + rng.int(V - 1));
  return { history, candidate };
}

function eagerLogits(
  specs: ReturnType<typeof teacherSpecs>,
  params: HostParams,
  fwd: (w: Record<string, tf.Tensor>, h: tf.Tensor, c: tf.Tensor) => { logit: tf.Tensor },
  x: ReturnType<typeof rows>,
  n: number,
) {
  const store = new ParamStore(specs, params);
  try {
    return tf.tidy(
      () =>
        fwd(
          store.variables,
          tf.tensor2d(x.history, [n, L], 'int32'),
          tf.tensor1d(x.candidate, 'int32'),
        ).logit.dataSync() as Float32Array,
    );
  } finally {
    store.dispose();
  }
}

for (const kind of ['pooled', 'gru', 'bilstm'] as const) {
  test(`the exported teacher and ${kind} student, loaded by loadModel, predict what the training code predicts (1e-5)`, async () => {
    const rng = new Prng({ pooled: 1, gru: 2, bilstm: 3 }[kind]);
    const studentCfg: StudentConfig = { kind, vocabSize: V, historyLength: L, dim: 8, hidden: [8, 4] };
    const tp = randomParams(teacherSpecs(teacherCfg), rng);
    const sp = randomParams(studentSpecs(studentCfg), rng);
    const out = join(dir, kind);
    const res = await exportModels({
      outDir: out,
      version: 3,
      teacher: { config: teacherCfg, params: tp },
      student: { config: studentCfg, params: sp },
      oovId: 0,
    });
    const n = 9;
    const x = rows(rng, n);
    const before = tf.memory().numTensors;
    for (const [path, want] of [
      [
        res.teacherDir,
        eagerLogits(
          teacherSpecs(teacherCfg),
          tp,
          (w, h, c) => teacherForward(eagerOps, w, teacherCfg, h, c),
          x,
          n,
        ),
      ],
      [
        res.studentDir,
        eagerLogits(
          studentSpecs(studentCfg),
          sp,
          (w, h, c) => studentForward(eagerOps, w, studentCfg, h, c),
          x,
          n,
        ),
      ],
    ] as const) {
      const model = await loadModel(path);
      const got = await model.predictHost({
        history: { dtype: 'DT_INT32', shape: [n, L], values: x.history },
        candidate: { dtype: 'DT_INT32', shape: [n], values: x.candidate },
      });
      assert.deepEqual(got.logit!.shape, [n]);
      assert.deepEqual(got.ctr!.shape, [n]);
      assertClose(got.logit!.values as Float32Array, want, 1e-5, 1e-5);
      assertClose(
        got.ctr!.values as Float32Array,
        Array.from(want, (z) => 1 / (1 + Math.exp(-z))),
        1e-5,
        1e-5,
      );
      model.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
  });
}

test('the student graph is cut from the combined graph: only student constants, no teacher node, no variable', async () => {
  const rng = new Prng(5);
  const studentCfg: StudentConfig = { kind: 'pooled', vocabSize: V, historyLength: L, dim: 4, hidden: [4] };
  const res = await exportModels({
    outDir: join(dir, 'cut'),
    version: 1,
    teacher: { config: teacherCfg, params: randomParams(teacherSpecs(teacherCfg), rng) },
    student: { config: studentCfg, params: randomParams(studentSpecs(studentCfg), rng) },
    oovId: 0,
  });
  const graph = decodeGraphDef(await readFile(join(res.studentDir, 'frozen_graph.pb')), 'frozen_graph.pb');
  const names = graph.node.map((n) => n.name);
  assert.ok(names.includes('student/ctr') && names.includes('student/logit'));
  assert.ok(names.includes('history') && names.includes('candidate'));
  assert.ok(!names.some((n) => n.startsWith('teacher/')), 'teacher nodes were pruned');
  assert.ok(!graph.node.some((n) => n.op === 'VariableV2'), 'variables became constants');
  const json = JSON.parse(await readFile(join(res.studentDir, 'model.json'), 'utf8'));
  assert.deepEqual(json, {
    inputs: { history: 'history:0', candidate: 'candidate:0' },
    outputs: { ctr: 'student/ctr:0', logit: 'student/logit:0' },
    vocab_size: V,
    oov_id: 0,
  });
});

test('the teacher SavedModel keeps real variables named by checkpoint keys, restored through a Saver', async () => {
  const rng = new Prng(6);
  const studentCfg: StudentConfig = { kind: 'pooled', vocabSize: V, historyLength: L, dim: 4, hidden: [4] };
  const res = await exportModels({
    outDir: join(dir, 'sm'),
    version: 1,
    teacher: { config: teacherCfg, params: randomParams(teacherSpecs(teacherCfg), rng) },
    student: { config: studentCfg, params: randomParams(studentSpecs(studentCfg), rng) },
    oovId: 0,
  });
  const sm = decodeSavedModel(await readFile(join(res.teacherDir, 'saved_model.pb')), 'saved_model.pb');
  const meta = sm.metaGraphs[0]!;
  assert.deepEqual(meta.metaInfoDef?.tags, ['serve']);
  const vars = meta
    .graphDef!.node.filter((n) => n.op === 'VariableV2')
    .map((n) => n.name)
    .sort();
  assert.deepEqual(
    vars,
    teacherSpecs(teacherCfg)
      .map((s) => s.name)
      .sort(),
  );
  assert.equal(meta.saverDef?.restoreOpName, 'save/restore_all');
  const sig = meta.signatureDef.serving_default!;
  assert.deepEqual(Object.keys(sig.inputs).sort(), ['candidate', 'history']);
  assert.deepEqual(Object.keys(sig.outputs).sort(), ['ctr', 'logit']);
  assert.equal(sig.inputs.history!.dtype, 3);
  assert.deepEqual(
    sig.inputs.history!.tensorShape!.dim.map((d) => d.size),
    [-1, L],
  );
});
