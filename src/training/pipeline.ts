import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../graph/backend.ts';
import { loadModel } from '../graph/load-model.ts';
import type { DistillConfig, StudentVariant } from './config.ts';
import { loadDistillData } from './data/load-data.ts';
import { Prng } from './data/prng.ts';
import { type Forward, type TrainSet, predictLogits, sigmoidArray, trainSetOf } from './dataset.ts';
import { type ModelScore, measureLatencyMs, scoreProbs } from './eval/evaluate.ts';
import { auc } from './eval/metrics.ts';
import { exportModels } from './export/export-models.ts';
import { eagerOps } from './model/ops.ts';
import { type HostParams, ParamStore, createParams } from './model/params.ts';
import { type StudentConfig, studentForward, studentSpecs } from './model/student.ts';
import { type TeacherConfig, teacherForward, teacherSpecs } from './model/teacher.ts';
import { Progress } from './progress.ts';
import type { DistillReport, ModelRow } from './report/report-types.ts';
import { targetsOf } from './report/targets.ts';
import { trainStudent } from './student-training.ts';
import { finetuneTeacher, pretrainTeacher } from './teacher-training.ts';
import type { CurvePoint } from './trainer.ts';
import { buildTransferSet } from './transfer-set.ts';
import { compareExported, measureLoadedLatencyMs } from './verify-export.ts';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';

/**
 * `ctr-serve distill` end to end: data → teacher (pretrain, fine-tune, freeze) → transfer set labelled by the
 * teacher → one student per variant → evaluation → export of the teacher and the best distilled pooled student
 * (chosen on validation rows) → the exported files loaded back through the serving loader and checked against
 * the in-training models (CTR_ERR_EXPORT_MISMATCH beyond 1e-5). Deterministic for a config (seed included):
 * every random draw comes from Prng forks taken in a fixed order. Progress goes to `stderr`.
 * Tensors: every ParamStore is disposed before returning; tf.memory().numTensors is back where it started.
 */
export type DistillRun = {
  readonly config: DistillConfig;
  readonly outDir: string;
  readonly cwd: string;
  readonly stderr: NodeJS.WritableStream;
  readonly command: string;
};

type TrainedStudent = {
  variant: StudentVariant;
  config: StudentConfig;
  params: HostParams;
  count: number;
  curve: CurvePoint[];
  validLogits: Float32Array;
  testLogits: Float32Array;
};

export async function runDistill(run: DistillRun): Promise<DistillReport> {
  const started = Date.now();
  const c = run.config;
  const backend = await initBackend();
  if (backend === 'wasm') registerWasmTrainingKernels();
  const say = (s: string) => run.stderr.write(`${s}\n`);
  const bar = (label: string, total: number) => new Progress(run.stderr, label, total);
  const rng = new Prng(c.seed);
  const data = await loadDistillData(c, rng.fork(), run.cwd);
  const { train, valid, test } = data;
  const L = c.data.clickModel.historyLength;
  const V = c.data.clickModel.vocabSize;
  say(
    `data: ${data.source}, ${train.rows} train / ${valid.rows} valid / ${test.rows} test rows, backend ${backend}`,
  );

  const tcfg: TeacherConfig = { vocabSize: V, historyLength: L, ...c.teacher };
  const teacher = createParams(teacherSpecs(tcfg), rng.fork());
  const teacherRng = rng.fork();
  const curves: Record<string, CurvePoint[]> = {};
  curves['teacher pretrain (masked items)'] = pretrainTeacher(
    teacher,
    tcfg,
    c.teacher.train,
    data.sequences,
    teacherRng,
    bar('teacher pretrain', c.teacher.train.pretrainSteps),
  );
  curves['teacher fine-tune'] = finetuneTeacher(
    teacher,
    tcfg,
    c.teacher.train,
    train,
    teacherRng,
    bar('teacher fine-tune', c.teacher.train.finetuneSteps),
  );
  const tw = teacher.variables as Record<string, tf.Tensor>;
  const teacherFwd: Forward = (h, cand) => teacherForward(eagerOps, tw, tcfg, h, cand);
  const teacherTest = predictLogits(teacherFwd, test.history, test.candidate, L);

  const transfer = buildTransferSet(train, data.sequences, c.transfer, rng.fork());
  const labelled: TrainSet = {
    ...transfer,
    teacherLogit: predictLogits(
      teacherFwd,
      transfer.history,
      transfer.candidate,
      L,
      2048,
      bar('teacher labels', transfer.rows),
    ),
  };

  const students: TrainedStudent[] = [];
  const studentRng = rng.fork();
  for (const variant of c.student.variants) {
    const scfg: StudentConfig = {
      kind: variant.kind,
      vocabSize: V,
      historyLength: L,
      dim: c.student.dim,
      hidden: c.student.hidden,
    };
    // Same initial weights for every variant of a kind, so losses are compared from one starting point.
    const store = createParams(
      studentSpecs(scfg),
      new Prng(c.seed * 1000 + { pooled: 1, gru: 2, bilstm: 3 }[variant.kind]),
    );
    const steps = variant.kind === 'pooled' ? c.student.train.steps : c.student.gruSteps;
    const loss =
      variant.loss === 'hinton' ? c.student.hinton : { alpha: c.student.tang.alpha, temperature: 1 };
    const set = variant.loss === 'none' ? trainSetOf(train) : labelled;
    const curve = trainStudent(
      store,
      scfg,
      variant.loss,
      { ...c.student.train, steps, loss },
      set,
      studentRng.fork(),
      bar(`student ${variant.name}`, steps),
    );
    const w = store.variables as Record<string, tf.Tensor>;
    const fwd: Forward = (h, cand) => studentForward(eagerOps, w, scfg, h, cand);
    students.push({
      variant,
      config: scfg,
      params: store.toHost(),
      count: store.count(),
      curve,
      validLogits: predictLogits(fwd, valid.history, valid.candidate, L),
      testLogits: predictLogits(fwd, test.history, test.candidate, L),
    });
    curves[`student ${variant.name}`] = curve;
    store.dispose();
  }

  const distilledPooled = students.filter((s) => s.variant.kind === 'pooled' && s.variant.loss !== 'none');
  const pool = distilledPooled.length ? distilledPooled : students.filter((s) => s.variant.kind === 'pooled');
  const best = pool.reduce((a, b) =>
    auc(b.validLogits, valid.clicked) > auc(a.validLogits, valid.clicked) ? b : a,
  );
  const noKd = students.find((s) => s.variant.kind === 'pooled' && s.variant.loss === 'none')!;

  say('latency: teacher and students, eager tfjs');
  const latencyBatch = c.evaluation.latencyBatch;
  const reps = c.evaluation.latencyRepeats;
  const teacherLatency = measureLatencyMs(teacherFwd, test, latencyBatch, reps);
  const studentLatency = new Map<string, number>();
  for (const s of students) {
    const store = new ParamStore(studentSpecs(s.config), s.params);
    const w = store.variables as Record<string, tf.Tensor>;
    studentLatency.set(
      s.variant.name,
      measureLatencyMs((h, cand) => studentForward(eagerOps, w, s.config, h, cand), test, latencyBatch, reps),
    );
    store.dispose();
  }

  say(`export: teacher and ${best.variant.name} to ${run.outDir}`);
  const teacherHost = teacher.toHost();
  teacher.dispose();
  const exported = await exportModels({
    outDir: run.outDir,
    version: c.export.version,
    teacher: { config: tcfg, params: teacherHost },
    student: { config: best.config, params: best.params },
    oovId: c.export.oovId,
  });
  const checkRows = Math.min(1000, test.rows);
  const teacherModel = await loadModel(exported.teacherDir);
  const studentModel = await loadModel(exported.studentDir);
  let verified;
  try {
    verified = {
      teacher: await compareExported(teacherModel, 'ctr-teacher', test, teacherTest, checkRows),
      student: await compareExported(studentModel, 'ctr-student', test, best.testLogits, checkRows),
      servedTeacher: await measureLoadedLatencyMs(teacherModel, test, latencyBatch, reps),
      servedStudent: await measureLoadedLatencyMs(studentModel, test, latencyBatch, reps),
    };
  } finally {
    teacherModel.dispose();
    studentModel.dispose();
  }

  const row = (s: ModelScore, extra: Omit<ModelRow, keyof ModelScore>): ModelRow => ({ ...s, ...extra });
  const models: ModelRow[] = [];
  if (test.trueProb) models.push(row(scoreProbs('bayes', test.trueProb, test.clicked), { role: 'bayes' }));
  models.push(
    row(scoreProbs('teacher', sigmoidArray(teacherTest), test.clicked), {
      role: 'teacher',
      params: teacherSpecs(tcfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0),
      latencyMs: teacherLatency,
      exported: true,
    }),
  );
  for (const s of students) {
    models.push(
      row(scoreProbs(s.variant.name, sigmoidArray(s.testLogits), test.clicked), {
        role: 'student',
        kind: s.variant.kind,
        loss: s.variant.loss,
        params: s.count,
        validAuc: auc(s.validLogits, valid.clicked),
        latencyMs: studentLatency.get(s.variant.name),
        exported: s === best,
      }),
    );
  }
  const sample = Math.min(1500, test.rows);
  const probs = (z: Float32Array) =>
    Array.from(sigmoidArray(z.subarray(0, sample)), (p) => Number(p.toFixed(5)));
  let clicks = 0;
  for (let i = 0; i < test.rows; i++) clicks += test.clicked[i]!;
  const report: DistillReport = {
    command: run.command,
    seed: c.seed,
    backend,
    config: c,
    data: {
      source: data.source,
      trainRows: train.rows,
      transferRows: transfer.rows,
      validRows: valid.rows,
      testRows: test.rows,
      testClickRate: clicks / test.rows,
    },
    models,
    curves,
    scatter: { teacher: probs(teacherTest), student: probs(best.testLogits), noKd: probs(noKd.testLogits) },
    export: {
      teacherDir: exported.teacherDir,
      studentDir: exported.studentDir,
      student: best.variant.name,
      studentGraphNodes: exported.studentNodes,
      maxAbsDiff: { teacher: verified.teacher, student: verified.student },
      checkedRows: checkRows,
      servedLatencyMs: { teacher: verified.servedTeacher, student: verified.servedStudent },
    },
    targets: {},
    durationS: 0,
  };
  return { ...report, targets: targetsOf(report), durationS: (Date.now() - started) / 1000 };
}
