import type * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig, StudentVariant } from './config.ts';
import type { DistillData } from './data/load-data.ts';
import { Prng } from './data/prng.ts';
import { type Forward, type TrainSet, predictLogits, trainSetOf } from './dataset.ts';
import { auc } from './eval/metrics.ts';
import { eagerOps } from './model/ops.ts';
import { type HostParams, ParamStore, initHostParams } from './model/params.ts';
import { type StudentConfig, studentForward, studentSpecs } from './model/student.ts';
import type { Bar } from './pipeline-teacher.ts';
import { trainStudent } from './student-training.ts';
import type { CurvePoint } from './trainer.ts';

/**
 * The students' part of runDistill: one student per configured variant (the no-KD baseline on the labelled rows
 * only, the others on the teacher-labelled transfer set), each from the same initial weights as the other
 * variants of its kind, kept as host parameters; then the exported one is picked: the distilled pooled student
 * with the best validation AUC.
 */
export type TrainedStudent = {
  readonly variant: StudentVariant;
  readonly config: StudentConfig;
  readonly params: HostParams;
  readonly count: number;
  readonly curve: CurvePoint[];
  readonly validLogits: Float32Array;
  readonly testLogits: Float32Array;
};

export function trainStudents(
  c: DistillConfig,
  data: DistillData,
  labelled: TrainSet,
  rng: Prng,
  bar: Bar,
  teacher?: Readonly<Record<string, tf.Tensor>>,
): TrainedStudent[] {
  const L = c.data.clickModel.historyLength;
  return c.student.variants.map((variant) => {
    const config: StudentConfig = {
      kind: variant.kind,
      vocabSize: data.vocabSize,
      historyLength: L,
      dim: c.student.dim,
      hidden: c.student.hidden,
      // Only the pooled encoder takes the newest-item features (the recurrent ones see the order already).
      ...(variant.kind === 'pooled' && { lastItem: c.student.lastItem, transitions: c.student.transitions }),
    };
    // Same initial weights for every variant of a kind, so losses are compared from one starting point.
    const specs = studentSpecs(config);
    const init = initHostParams(
      specs,
      new Prng(c.seed * 1000 + { pooled: 1, gru: 2, bilstm: 3 }[variant.kind]),
    );
    if (c.student.initFromTeacher && variant.loss !== 'none' && teacher)
      copyTeacher(init, teacher, config.dim);
    const store = new ParamStore(specs, init);
    const steps = variant.kind === 'pooled' ? c.student.train.steps : c.student.gruSteps;
    const loss =
      variant.loss === 'hinton' ? c.student.hinton : { alpha: c.student.tang.alpha, temperature: 1 };
    const set = variant.loss === 'none' ? trainSetOf(data.train) : labelled;
    const train = { ...c.student.train, steps, loss };
    const curve = trainStudent(
      store,
      config,
      variant.loss,
      train,
      set,
      rng.fork(),
      bar(`student ${variant.name}`, steps),
    );
    const w = store.variables as Record<string, tf.Tensor>;
    const fwd: Forward = (h, cand) => studentForward(eagerOps, w, config, h, cand);
    const trained: TrainedStudent = {
      variant,
      config,
      params: store.toHost(),
      count: store.count(),
      curve,
      validLogits: predictLogits(fwd, data.valid.history, data.valid.candidate, L),
      testLogits: predictLogits(fwd, data.test.history, data.test.candidate, L),
    };
    store.dispose();
    return trained;
  });
}

/**
 * Distilled students start from the teacher's item table (the rows of the items, not its MASK row) when
 * `student.initFromTeacher` is set and the dims agree: knowledge from the teacher beyond its logits. The no-KD
 * baseline keeps its own random table, so it stays what a student gets without a teacher. A student with
 * transitions also takes the teacher's `from`/`to` tables, and as its transition weight the teacher's total
 * linear weight on the term (next_weight + transition_weight: the teacher adds it to its next-item score too).
 */
export function copyTeacher(
  init: HostParams,
  teacher: Readonly<Record<string, tf.Tensor>>,
  dim: number,
): void {
  const rows = (from: string, to: string) => {
    const source = teacher[from];
    const target = init[to];
    if (!source || !target) return;
    if (source.shape[1] !== dim) throw new Error('student.initFromTeacher needs student.dim = teacher.dim');
    target.values.set((source.dataSync() as Float32Array).subarray(0, target.values.length));
  };
  rows('teacher/embeddings/item', 'student/embeddings/item');
  rows('teacher/transition/from', 'student/transition/from');
  rows('teacher/transition/to', 'student/transition/to');
  const weight = init['student/transition/weight'];
  const scalar = (name: string) => (teacher[name]?.dataSync()[0] as number | undefined) ?? 0;
  if (weight && teacher['teacher/transition/from'])
    weight.values[0] = scalar('teacher/head/next_weight') + scalar('teacher/head/transition_weight');
}

/** The exported student (best validation AUC among distilled pooled students) and the no-KD baseline. */
export function pickStudents(students: readonly TrainedStudent[], validClicked: Uint8Array) {
  const distilled = students.filter((s) => s.variant.kind === 'pooled' && s.variant.loss !== 'none');
  const pool = distilled.length ? distilled : students.filter((s) => s.variant.kind === 'pooled');
  const best = pool.reduce((a, b) =>
    auc(b.validLogits, validClicked) > auc(a.validLogits, validClicked) ? b : a,
  );
  const noKd = students.find((s) => s.variant.kind === 'pooled' && s.variant.loss === 'none')!;
  return { best, noKd };
}

/** Runs `fn` with a student's forward pass on fresh variables, disposed afterwards. */
export function withStudent<T>(s: TrainedStudent, fn: (forward: Forward) => T): T {
  const store = new ParamStore(studentSpecs(s.config), s.params);
  try {
    const w = store.variables as Record<string, tf.Tensor>;
    return fn((h, cand) => studentForward(eagerOps, w, s.config, h, cand));
  } finally {
    store.dispose();
  }
}
