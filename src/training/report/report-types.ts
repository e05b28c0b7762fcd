import type { DistillConfig } from '../config.ts';
import type { ModelScore } from '../eval/evaluate.ts';
import type { RankingMetrics } from '../eval/ranking-metrics.ts';
import type { PublishedRow } from './published.ts';
import type { CurvePoint } from '../trainer.ts';

/**
 * What `ctr-serve distill` measured, as written to report.json and drawn by report.html. Probabilities are
 * scored on the held-out test rows; `bayes` (synthetic data only) scores the generator's true probabilities.
 */
export type ModelRow = ModelScore & {
  /** 'bayes' | 'teacher' | a student variant name ("pooled/hinton"). */
  readonly role: 'bayes' | 'teacher' | 'student';
  readonly kind?: 'pooled' | 'gru' | 'bilstm';
  readonly loss?: string;
  readonly params?: number;
  readonly validAuc?: number;
  /** Median ms per forward pass of latencyBatch rows, eager tfjs (the in-training model). */
  readonly latencyMs?: number;
  readonly exported?: boolean;
};

export type RankingRow = RankingMetrics & {
  readonly name: string;
  readonly role: 'teacher' | 'student' | 'baseline';
  readonly exported?: boolean;
};

export type RankingReport = {
  /** Users and interactions read; test users ranked (users with ≥ 3 items); candidates per user. */
  readonly users: number;
  readonly interactions: number;
  readonly testUsers: number;
  readonly candidates: number;
  readonly rows: RankingRow[];
  readonly published: { readonly source: string; readonly rows: readonly PublishedRow[] };
};

export type DistillReport = {
  readonly command: string;
  readonly seed: number;
  readonly backend: string;
  readonly config: DistillConfig;
  readonly data: {
    readonly source: 'synthetic' | 'csv' | 'sequences';
    /** Item ids are 1..vocabSize-1 (model.json's vocab_size). */
    readonly vocabSize?: number;
    readonly trainRows: number;
    readonly transferRows: number;
    readonly validRows: number;
    readonly testRows: number;
    readonly testClickRate: number;
  };
  readonly models: ModelRow[];
  readonly curves: Record<string, CurvePoint[]>;
  /** Test rows' teacher vs exported-student probabilities (a sample, for the scatter plot). */
  readonly scatter: { readonly teacher: number[]; readonly student: number[]; readonly noKd: number[] };
  readonly export: {
    readonly teacherDir: string;
    readonly studentDir: string;
    readonly student: string;
    readonly studentGraphNodes: number;
    /** Largest |exported − in-training| over the checked rows, for ctr and logit. */
    readonly maxAbsDiff: { readonly teacher: number; readonly student: number };
    readonly checkedRows: number;
    /** Median ms per batch through loadModel (the serving path), teacher and exported student. */
    readonly servedLatencyMs: { readonly teacher: number; readonly student: number };
  };
  /** Click sequences only: the leave-last-out ranking metrics of every test user (docs/training.md). */
  readonly ranking?: RankingReport;
  readonly targets: Record<string, { readonly value: number; readonly goal: string; readonly met: boolean }>;
  readonly durationS: number;
};
