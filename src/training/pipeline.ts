import { initBackend } from '../graph/backend.ts';
import type { DistillConfig } from './config.ts';
import { loadDistillData } from './data/load-data.ts';
import { Prng } from './data/prng.ts';
import { eagerLatencies, rankingReport } from './pipeline-evaluate.ts';
import { exportAndVerify } from './pipeline-export.ts';
import { buildReport } from './pipeline-report.ts';
import { pickStudents, trainStudents } from './pipeline-students.ts';
import { labelTransferSet, trainTeacher } from './pipeline-teacher.ts';
import { Progress } from './progress.ts';
import type { DistillReport } from './report/report-types.ts';
import { registerWasmTrainingKernels } from './wasm-training-kernels.ts';

/**
 * `ctr-serve distill` end to end: data → teacher (pretrain, fine-tune, freeze) → transfer set labelled by the
 * teacher → one student per variant → evaluation (and, on click sequences, the leave-last-out ranking) → export of
 * the teacher and the best distilled pooled student (chosen on validation rows) → the exported files loaded back
 * through the serving loader and checked against the in-training models (CTR_ERR_EXPORT_MISMATCH beyond 1e-5).
 * Deterministic for a config (seed included): every random draw comes from Prng forks taken in a fixed order
 * (data, teacher parameters, teacher training, transfer set, students). Progress goes to `stderr`.
 * Tensors: every ParamStore is disposed before returning; tf.memory().numTensors is back where it started.
 */
export type DistillRun = {
  readonly config: DistillConfig;
  readonly outDir: string;
  readonly cwd: string;
  readonly stderr: NodeJS.WritableStream;
  readonly command: string;
};

export async function runDistill(run: DistillRun): Promise<DistillReport> {
  const startedMs = Date.now();
  const c = run.config;
  const backend = await initBackend();
  if (backend === 'wasm') registerWasmTrainingKernels();
  const say = (s: string) => run.stderr.write(`${s}\n`);
  const bar = (label: string, total: number) => new Progress(run.stderr, label, total);
  const rng = new Prng(c.seed);
  const data = await loadDistillData(c, rng.fork(), run.cwd);
  const { train, valid, test } = data;
  say(
    `data: ${data.source}, ${train.rows} train / ${valid.rows} valid / ${test.rows} test rows, backend ${backend}`,
  );
  const teacher = trainTeacher(c, data, rng, bar);
  const labelled = labelTransferSet(c, data, teacher, rng.fork(), bar);
  const students = trainStudents(c, data, labelled, rng.fork(), bar, teacher.store.variables);
  const { best, noKd } = pickStudents(students, valid.clicked);
  say('latency: teacher and students, eager tfjs');
  const latency = eagerLatencies(c, teacher, students, test);
  const ranking = data.ranking ? rankingReport(data.ranking, teacher, students, best, bar) : undefined;
  say(`export: teacher and ${best.variant.name} to ${run.outDir}`);
  const exported = await exportAndVerify(c, run.outDir, teacher, best, test);
  return buildReport({
    command: run.command,
    config: c,
    backend,
    data,
    transferRows: labelled.rows,
    teacher,
    students,
    best,
    noKd,
    latency,
    exported,
    ranking,
    startedMs,
  });
}
