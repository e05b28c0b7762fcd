import type { DistillConfig } from './config.ts';
import type { ClickLog } from './data/click-log.ts';
import type { SequenceRanking } from './data/load-sequences.ts';
import { measureLatencyMs } from './eval/evaluate.ts';
import { rankingMetrics } from './eval/ranking-metrics.ts';
import { modelRankingScores } from './eval/ranking-scores.ts';
import { type TrainedStudent, withStudent } from './pipeline-students.ts';
import type { Bar, TrainedTeacher } from './pipeline-teacher.ts';
import { PUBLISHED_BEAUTY } from './report/published.ts';
import type { RankingReport, RankingRow } from './report/report-types.ts';

/**
 * Evaluation steps of runDistill that need the in-training models: eager latency per batch, and (click sequences)
 * the leave-last-out ranking of every test user by the teacher and each student, beside the two baselines and the
 * published numbers.
 */
export function eagerLatencies(
  c: DistillConfig,
  teacher: TrainedTeacher,
  students: readonly TrainedStudent[],
  test: ClickLog,
): { teacher: number; students: Map<string, number> } {
  const batch = c.evaluation.latencyBatch;
  const reps = c.evaluation.latencyRepeats;
  const out = new Map<string, number>();
  for (const s of students)
    out.set(
      s.variant.name,
      withStudent(s, (f) => measureLatencyMs(f, test, batch, reps)),
    );
  return { teacher: measureLatencyMs(teacher.rowForward, test, batch, reps), students: out };
}

export function rankingReport(
  ranking: SequenceRanking,
  teacher: TrainedTeacher,
  students: readonly TrainedStudent[],
  exported: TrainedStudent,
  bar: Bar,
): RankingReport {
  const set = ranking.test;
  const C = set.candidatesPerUser;
  const rows: RankingRow[] = [
    {
      name: 'teacher',
      role: 'teacher',
      ...rankingMetrics(modelRankingScores(teacher.forward, set, 200, bar('teacher ranking', set.users)), C),
    },
  ];
  for (const s of students) {
    const scores = withStudent(s, (f) =>
      modelRankingScores(f, set, 200, bar(`${s.variant.name} ranking`, set.users)),
    );
    rows.push({
      name: s.variant.name,
      role: 'student',
      exported: s === exported,
      ...rankingMetrics(scores, C),
    });
  }
  rows.push({ name: 'popularity', role: 'baseline', ...ranking.baselines.popularity });
  rows.push({ name: 'transitions', role: 'baseline', ...ranking.baselines.transitions });
  return {
    users: ranking.users,
    interactions: ranking.interactions,
    testUsers: set.users,
    candidates: C,
    rows,
    published: PUBLISHED_BEAUTY,
  };
}
