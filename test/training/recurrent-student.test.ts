import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import { decodeGraphDef } from '../../src/graph/proto/decode.ts';
import { Prng } from '../../src/training/data/prng.ts';
import { exportModels } from '../../src/training/export/export-models.ts';
import { eagerOps } from '../../src/training/model/ops.ts';
import { type HostParams, initHostParams, ParamStore } from '../../src/training/model/params.ts';
import { type StudentConfig, studentForward, studentSpecs } from '../../src/training/model/student.ts';
import { type TeacherConfig, teacherSpecs } from '../../src/training/model/teacher.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';

const V = 30;
let dir: string;
before(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'ctr-recurrent-student-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function randomParams(specs: ReturnType<typeof studentSpecs>, rng: Prng): HostParams {
  const p = initHostParams(specs, rng);
  for (const v of Object.values(p))
    for (let i = 0; i < v.values.length; i++) v.values[i] = 0.3 * rng.normal();
  return p;
}

async function exportStudent(kind: StudentConfig['kind'], L: number, out: string) {
  const rng = new Prng(21);
  const teacher: TeacherConfig = {
    vocabSize: V,
    historyLength: L,
    dim: 8,
    heads: 2,
    layers: 1,
    ffnDim: 8,
    headDim: 4,
  };
  const student: StudentConfig = { kind, vocabSize: V, historyLength: L, dim: 8, hidden: [8] };
  const params = randomParams(studentSpecs(student), rng);
  const res = await exportModels({
    outDir: out,
    version: 1,
    teacher: { config: teacher, params: randomParams(teacherSpecs(teacher), rng) },
    student: { config: student, params },
    oovId: 0,
  });
  const graph = decodeGraphDef(await readFile(join(res.studentDir, 'frozen_graph.pb')), 'frozen_graph.pb');
  return { student, params, graph };
}

for (const kind of ['bilstm', 'gru'] as const) {
  test(`the ${kind} student exports as While loops over the time axis in TF's function-library layout, not unrolled`, async () => {
    const short = await exportStudent(kind, 6, join(dir, `${kind}-6`));
    const long = await exportStudent(kind, 12, join(dir, `${kind}-12`));
    const loops = kind === 'bilstm' ? 2 : 1;
    for (const { graph } of [short, long]) {
      assert.equal(graph.node.filter((n) => n.op === 'StatelessWhile').length, loops);
      assert.equal(graph.library?.function.length, 2 * loops, 'a cond and a body per loop');
      const body = graph.library!.function.find((f) => f.signature.name.endsWith('_body'))!;
      assert.ok(body.nodeDef.some((n) => n.op === 'TensorListGetItem'));
      assert.ok(
        Object.values(body.ret).every((r) => /^[^:]+:output:0$/.test(r)),
        'FunctionDef refs',
      );
    }
    assert.equal(
      short.graph.node.length,
      long.graph.node.length,
      'the graph does not grow with the history length',
    );
  });
}

test('the bilstm student serves through the CTR API with the scores the training code computes (1e-5)', async () => {
  const L = 6;
  const { student, params } = await exportStudent('bilstm', L, join(dir, 'served'));
  const rng = new Prng(5);
  const users = Array.from({ length: 4 }, () => ({
    history: Array.from({ length: L }, () => 1 + rng.int(V - 1)),
    candidates: Array.from({ length: 7 }, () => 1 + rng.int(V - 1)),
  }));
  const app = await appFor([{ name: 'ctr-student', basePath: join(dir, 'served', 'ctr-student') }]);
  try {
    const res = await call(app, post('/v1/ctr:predict', { requests: users }));
    assert.equal(res.status, 200, res.text);
    const store = new ParamStore(studentSpecs(student), params);
    try {
      users.forEach((u, i) => {
        const want = tf.tidy(() => {
          const h = tf.tensor2d(
            u.candidates.flatMap(() => u.history),
            [u.candidates.length, L],
            'int32',
          );
          const c = tf.tensor1d(u.candidates, 'int32');
          return Array.from(studentForward(eagerOps, store.variables, student, h, c).ctr.dataSync());
        });
        const got = res.body.results[i].scores as number[];
        assert.equal(got.length, want.length);
        got.forEach((s, k) =>
          assert.ok(Math.abs(s - want[k]!) <= 1e-5, `user ${i} candidate ${k}: ${s} vs ${want[k]}`),
        );
      });
    } finally {
      store.dispose();
    }
  } finally {
    await app.close();
  }
});
