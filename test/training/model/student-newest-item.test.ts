import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  loadCtrModel,
  sharedHistoryName,
  sharedHistorySpec,
} from '../../../src/ctr/shared-history-variant.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { Prng } from '../../../src/training/data/prng.ts';
import { exportModels } from '../../../src/training/export/export-models.ts';
import { eagerOps } from '../../../src/training/model/ops.ts';
import { type HostParams, ParamStore, initHostParams } from '../../../src/training/model/params.ts';
import { type StudentConfig, studentForward, studentSpecs } from '../../../src/training/model/student.ts';
import { type TeacherConfig, teacherSpecs } from '../../../src/training/model/teacher.ts';
import { copyTeacher } from '../../../src/training/pipeline-students.ts';
import { assertClose } from '../../helpers/fixtures.ts';

// The pooled student's newest-item switches (StudentConfig.lastItem, .transitions; docs/training.md, "Students"):
// a mean of history embeddings cannot tell which item came last, these features can; and the exported graph,
// per row and with shared histories, serves what the training code computes.

const L = 5;
const V = 20;
const base: StudentConfig = { kind: 'pooled', vocabSize: V, historyLength: L, dim: 6, hidden: [8, 4] };
let dir: string;

before(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'ctr-student-newest-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Random weights everywhere: the zeros of a fresh `from` table would hide the transition term. */
function randomParams(specs: ReturnType<typeof studentSpecs>, seed: number): HostParams {
  const rng = new Prng(seed);
  const p = initHostParams(specs, rng);
  for (const v of Object.values(p))
    for (let i = 0; i < v.values.length; i++) v.values[i] = 0.5 * rng.normal();
  return p;
}

function eagerLogits(c: StudentConfig, params: HostParams, history: number[][], candidate: number[]) {
  const store = new ParamStore(studentSpecs(c), params);
  try {
    return tf.tidy(() =>
      Array.from(
        studentForward(
          eagerOps,
          store.variables,
          c,
          tf.tensor2d(history, [history.length, L], 'int32'),
          tf.tensor1d(candidate, 'int32'),
        ).logit.dataSync(),
      ),
    );
  } finally {
    store.dispose();
  }
}

// Same items, same padding (so the same pooled mean), only the newest one differs.
const swapped = [
  [0, 3, 7, 9, 4],
  [0, 3, 7, 4, 9],
];

for (const [name, switches] of [
  ['lastItem', { lastItem: true }],
  ['transitions', { transitions: true }],
  ['lastItem and transitions', { lastItem: true, transitions: true }],
] as const) {
  test(`a pooled student with ${name} scores differently when only the newest history item changes`, () => {
    const c = { ...base, ...switches };
    const [a, b] = eagerLogits(c, randomParams(studentSpecs(c), 1), swapped, [5, 5]);
    assert.ok(Math.abs(a! - b!) > 1e-3, `${a} vs ${b}`);
  });
}

/** A teacher of the students' size (dim 6) for the export and initFromTeacher cases. */
const SMALL_TEACHER: TeacherConfig = {
  vocabSize: V,
  historyLength: L,
  dim: 6,
  heads: 2,
  layers: 1,
  ffnDim: 8,
  headDim: 4,
};

test('the plain pooled student scores the same when only the order of the history changes', () => {
  const [a, b] = eagerLogits(base, randomParams(studentSpecs(base), 1), swapped, [5, 5]);
  assert.ok(Math.abs(a! - b!) < 1e-5, `${a} vs ${b}`);
});

test('exported with lastItem and transitions, the student serves the eager numbers per row and per user (1e-5)', async () => {
  const c: StudentConfig = { ...base, lastItem: true, transitions: true };
  const teacher = SMALL_TEACHER;
  const sp = randomParams(studentSpecs(c), 2);
  const res = await exportModels({
    outDir: join(dir, 'export'),
    version: 1,
    teacher: { config: teacher, params: initHostParams(teacherSpecs(teacher), new Prng(3)) },
    student: { config: c, params: sp },
    oovId: 0,
  });
  const rng = new Prng(4);
  const users = [0, 1, 2].map((u) => Array.from({ length: L }, (_, j) => (j < u ? 0 : 1 + rng.int(V - 1))));
  const userIndex = [0, 0, 1, 1, 1, 2, 2];
  const candidate = userIndex.map(() => 1 + rng.int(V - 1));
  const history = userIndex.map((u) => users[u]!);
  const want = eagerLogits(c, sp, history, candidate);
  const model = await loadCtrModel(res.studentDir);
  try {
    const before = tf.memory().numTensors;
    const perRow = await model.predictHost({
      history: { dtype: 'DT_INT32', shape: [history.length, L], values: Int32Array.from(history.flat()) },
      candidate: { dtype: 'DT_INT32', shape: [candidate.length], values: Int32Array.from(candidate) },
    });
    assertClose(perRow.logit!.values as Float32Array, want, 1e-5, 1e-5);
    // The newest-item branch is row-wise, so the shared-history rewrite still applies.
    assert.ok(sharedHistorySpec(model.info, 'serving_default'), 'a shared-history variant');
    const shared = await model.predictHost(
      {
        history: { dtype: 'DT_INT32', shape: [users.length, L], values: Int32Array.from(users.flat()) },
        candidate: { dtype: 'DT_INT32', shape: [candidate.length], values: Int32Array.from(candidate) },
        user_index: { dtype: 'DT_INT32', shape: [userIndex.length], values: Int32Array.from(userIndex) },
      },
      sharedHistoryName('serving_default'),
    );
    assertClose(shared.logit!.values as Float32Array, want, 1e-5, 1e-5);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
  }
});

test('initFromTeacher copies the teacher item and transition tables and its total weight on the term', () => {
  const c: StudentConfig = { ...base, transitions: true };
  const t: TeacherConfig = { ...SMALL_TEACHER, nextResidual: true, transitions: true };
  const store = new ParamStore(teacherSpecs(t), randomParams(teacherSpecs(t), 5));
  try {
    const init = initHostParams(studentSpecs(c), new Prng(6));
    copyTeacher(init, store.variables, c.dim);
    const host = store.toHost();
    for (const [from, to] of [
      ['teacher/embeddings/item', 'student/embeddings/item'],
      ['teacher/transition/from', 'student/transition/from'],
      ['teacher/transition/to', 'student/transition/to'],
    ] as const)
      assert.deepEqual(init[to]!.values, host[from]!.values.subarray(0, V * c.dim), to);
    const weight =
      host['teacher/head/next_weight']!.values[0]! + host['teacher/head/transition_weight']!.values[0]!;
    assert.ok(Math.abs(init['student/transition/weight']!.values[0]! - weight) < 1e-6);
  } finally {
    store.dispose();
  }
});
