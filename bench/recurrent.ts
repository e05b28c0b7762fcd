import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../src/errors/registry.ts';
import { loadCtrModel, sharedHistorySpec } from '../src/ctr/shared-history-variant.ts';
import type { LoadedModel } from '../src/graph/model.ts';
import { DEFAULT_CONFIG } from '../src/training/config.ts';
import { Prng } from '../src/training/data/prng.ts';
import { exportModels } from '../src/training/export/export-models.ts';
import { initHostParams } from '../src/training/model/params.ts';
import { type StudentConfig, type StudentKind, studentSpecs } from '../src/training/model/student.ts';
import { type TeacherConfig, teacherSpecs } from '../src/training/model/teacher.ts';
import { median, timeLoop } from './timing.ts';

export type RecurrentRow = {
  readonly student: StudentKind;
  /** 'shared history' (what /v1/ctr:predict runs) or 'per row'. */
  readonly graph: string;
  readonly msPer1000: number;
  readonly cpuMsPer1000: number;
};

const N = 1000;
const L = 50;
const V = 20000;
const TOLERANCE = 1e-5;

/**
 * Latency per 1000 candidates of one user for the pooled and the BiLSTM student, both exported by the training
 * code (export-models.ts: frozen out of the teacher+student graph; the BiLSTM as two While loops) at the default
 * distill sizes with seeded random weights, L = 50, and loaded by loadCtrModel. Both graphs are timed: the
 * shared-history variant (history encoded once per user) and the per-row graph; their predictions are checked
 * against each other first (CTR_ERR_BENCH_CHECK_FAILED, before any timing).
 */
export async function runRecurrent(
  root: string,
  opts: { repeats: number; minMs: number },
): Promise<RecurrentRow[]> {
  const rows: RecurrentRow[] = [];
  for (const kind of ['pooled', 'bilstm'] as const) {
    const model = await loadCtrModel(await exportStudent(kind, join(root, `recurrent-${kind}`)));
    try {
      rows.push(...(await timeStudent(kind, model, opts)));
    } finally {
      model.dispose();
    }
  }
  return rows;
}

async function exportStudent(kind: StudentKind, out: string): Promise<string> {
  const rng = new Prng(7);
  const s = DEFAULT_CONFIG.student;
  const student: StudentConfig = { kind, vocabSize: V, historyLength: L, dim: s.dim, hidden: s.hidden };
  const teacher: TeacherConfig = {
    vocabSize: 8,
    historyLength: L,
    dim: 4,
    heads: 1,
    layers: 1,
    ffnDim: 4,
    headDim: 4,
  };
  const res = await exportModels({
    outDir: out,
    version: 1,
    teacher: { config: teacher, params: initHostParams(teacherSpecs(teacher), rng) },
    student: { config: student, params: initHostParams(studentSpecs(student), rng) },
    oovId: 0,
  });
  return res.studentDir;
}

async function timeStudent(
  kind: StudentKind,
  model: LoadedModel,
  opts: { repeats: number; minMs: number },
): Promise<RecurrentRow[]> {
  const rng = new Prng(11);
  const history = Int32Array.from({ length: L }, (_, i) => (i < 10 ? 0 : 1 + rng.int(V - 1)));
  const candidate = tf.tensor1d(
    Int32Array.from({ length: N }, () => 1 + rng.int(V - 1)),
    'int32',
  );
  const repeated = new Int32Array(N * L);
  for (let i = 0; i < N; i++) repeated.set(history, i * L);
  const perRow = { history: tf.tensor2d(repeated, [N, L], 'int32'), candidate };
  const shared = {
    history: tf.tensor2d(history, [1, L], 'int32'),
    candidate,
    user_index: tf.zeros([N], 'int32'),
  };
  const variant = sharedHistorySpec(model.info, model.info.defaultSignature)?.name;
  const run = async (feeds: Record<string, tf.Tensor>, signature?: string) => {
    const out = await model.predict(feeds, signature);
    try {
      return (await out.ctr!.data()) as Float32Array;
    } finally {
      tf.dispose(Object.values(out));
    }
  };
  try {
    const want = await run(perRow);
    const paths: [string, () => Promise<void>][] = [['per row', async () => void (await run(perRow))]];
    if (variant) {
      const got = await run(shared, variant);
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
      if (!(worst <= TOLERANCE)) {
        throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `${kind}: shared-history graph differs by ${worst}`);
      }
      paths.unshift(['shared history', async () => void (await run(shared, variant))]);
    }
    const rows: RecurrentRow[] = [];
    for (const [graph, call] of paths) {
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let rep = 0; rep < opts.repeats; rep++) {
        const t = await timeLoop(call, { minMs: opts.minMs, minCalls: 3, warmup: 1 });
        wall.push(t.wallMs / t.calls);
        cpu.push(t.cpuMs / t.calls);
      }
      rows.push({ student: kind, graph, msPer1000: median(wall), cpuMsPer1000: median(cpu) });
    }
    return rows;
  } finally {
    tf.dispose([...Object.values(perRow), shared.history, shared.user_index]);
  }
}
