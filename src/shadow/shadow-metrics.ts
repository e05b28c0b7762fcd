import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AgreementStats } from './agreement.ts';

/**
 * The shadow scorer's Prometheus metrics (docs/metrics.md), registered on the app's one registry (src/metrics/):
 * `ctr_shadow_total{outcome}`, `ctr_shadow_abs_diff` (per prediction |student − teacher|) and
 * `ctr_shadow_agreement{stat}`, the window statistics of the default model's pair, computed at scrape time from
 * `windowStats()` (a Spearman sorts the window, so not per prediction).
 *
 * With `--workers` the primary's AggregatorRegistry sums the counters and histogram; the gauges are averaged over
 * workers (each worker's own window). GET /v1/shadow merges the windows exactly.
 */
export const SHADOW_OUTCOMES = ['sampled', 'scored', 'dropped', 'error', 'timeout'] as const;
export type ShadowOutcome = (typeof SHADOW_OUTCOMES)[number];

export const AGREEMENT_GAUGE_STATS = [
  'mae',
  'kl',
  'pearson',
  'spearman',
  'topk_overlap',
  'mean_ctr_student',
  'mean_ctr_teacher',
] as const satisfies readonly (keyof AgreementStats)[];

const ABS_DIFF_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class ShadowMetrics {
  readonly total: Counter<'outcome'>;
  readonly absDiff: Histogram;
  readonly agreement: Gauge<'stat'>;

  constructor(registry: Registry, windowStats: () => AgreementStats | undefined) {
    const registers = [registry];
    this.total = new Counter({
      name: 'ctr_shadow_total',
      help: 'CTR requests offered to the shadow (teacher) scorer, by outcome: sampled, scored, dropped (queue full), error, timeout.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of SHADOW_OUTCOMES) this.total.inc({ outcome }, 0);
    this.absDiff = new Histogram({
      name: 'ctr_shadow_abs_diff',
      help: 'Absolute difference between the student and teacher click probabilities of one shadow-scored candidate.',
      buckets: ABS_DIFF_BUCKETS,
      registers,
    });
    this.agreement = new Gauge({
      name: 'ctr_shadow_agreement',
      help: 'Student/teacher agreement over the sliding window of the default model, by statistic (absent until scored).',
      labelNames: ['stat'],
      aggregator: 'average',
      registers,
      collect() {
        const stats = windowStats();
        for (const stat of AGREEMENT_GAUGE_STATS) {
          const value = stats?.[stat];
          if (value === null || value === undefined) this.remove({ stat });
          else this.set({ stat }, value);
        }
      },
    });
  }

  count(outcome: ShadowOutcome): void {
    this.total.inc({ outcome });
  }

  observeDiffs(student: ArrayLike<number>, teacher: ArrayLike<number>): void {
    for (let i = 0; i < student.length; i++) this.absDiff.observe(Math.abs(student[i] - teacher[i]));
  }
}
