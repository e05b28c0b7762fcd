import type { DistillConfig } from './config.ts';
import type { DistillData } from './data/load-data.ts';
import { sigmoidArray } from './dataset.ts';
import { scoreProbs } from './eval/evaluate.ts';
import { auc } from './eval/metrics.ts';
import type { TrainedStudent } from './pipeline-students.ts';
import { type TrainedTeacher, teacherParamCount } from './pipeline-teacher.ts';
import type { DistillReport, ModelRow, RankingReport } from './report/report-types.ts';
import { targetsOf } from './report/targets.ts';

/** What runDistill measured, put together as report.json's object (report/report-types.ts). */
export type ReportParts = {
  readonly command: string;
  readonly config: DistillConfig;
  readonly backend: string;
  readonly data: DistillData;
  readonly transferRows: number;
  readonly teacher: TrainedTeacher;
  readonly students: readonly TrainedStudent[];
  readonly best: TrainedStudent;
  readonly noKd: TrainedStudent;
  readonly latency: { teacher: number; students: Map<string, number> };
  readonly exported: DistillReport['export'];
  readonly ranking?: RankingReport;
  readonly startedMs: number;
};

export function buildReport(p: ReportParts): DistillReport {
  const { test, valid } = p.data;
  const models: ModelRow[] = [];
  if (test.trueProb) models.push({ ...scoreProbs('bayes', test.trueProb, test.clicked), role: 'bayes' });
  models.push({
    ...scoreProbs('teacher', sigmoidArray(p.teacher.testLogits), test.clicked),
    role: 'teacher',
    params: teacherParamCount(p.teacher.config),
    latencyMs: p.latency.teacher,
    exported: true,
  });
  for (const s of p.students) {
    models.push({
      ...scoreProbs(s.variant.name, sigmoidArray(s.testLogits), test.clicked),
      role: 'student',
      kind: s.variant.kind,
      loss: s.variant.loss,
      params: s.count,
      validAuc: auc(s.validLogits, valid.clicked),
      latencyMs: p.latency.students.get(s.variant.name),
      exported: s === p.best,
    });
  }
  const sample = Math.min(1500, test.rows);
  const probs = (z: Float32Array) =>
    Array.from(sigmoidArray(z.subarray(0, sample)), (x) => Number(x.toFixed(5)));
  let clicks = 0;
  for (let i = 0; i < test.rows; i++) clicks += test.clicked[i]!;
  const report: DistillReport = {
    command: p.command,
    seed: p.config.seed,
    backend: p.backend,
    config: p.config,
    data: {
      source: p.data.source,
      ...(p.data.source === 'sequences' ? { vocabSize: p.data.vocabSize } : {}),
      trainRows: p.data.train.rows,
      transferRows: p.transferRows,
      validRows: valid.rows,
      testRows: test.rows,
      testClickRate: clicks / test.rows,
    },
    models,
    curves: {
      ...p.teacher.curves,
      ...Object.fromEntries(p.students.map((s) => [`student ${s.variant.name}`, s.curve])),
    },
    scatter: {
      teacher: probs(p.teacher.testLogits),
      student: probs(p.best.testLogits),
      noKd: probs(p.noKd.testLogits),
    },
    export: p.exported,
    ...(p.ranking ? { ranking: p.ranking } : {}),
    targets: {},
    durationS: 0,
  };
  return { ...report, targets: targetsOf(report), durationS: (Date.now() - p.startedMs) / 1000 };
}
