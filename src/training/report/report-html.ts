import { rankingHtml } from './ranking-table.ts';
import type { DistillReport } from './report-types.ts';
import { PALETTE, type Series, chart } from './svg-chart.ts';

/**
 * report.html: the ranking table (click sequences), the metrics table, the targets, and figures as inline SVG (ROC
 * curves, calibration, teacher-vs-student scatter, training curves). Self-contained: opens offline, no script.
 */
export function reportHtml(r: DistillReport): string {
  const figures = [...qualityFigures(r), ...curveFigures(r)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ctr-serve distill report</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}tr.exported{font-weight:bold}
tr.miss td{color:#b00}tr.met td:first-child{color:#080}tr.published td{color:#666}.figs{display:flex;flex-wrap:wrap;gap:12px}
code{background:#f4f4f4;padding:1px 4px}
</style></head><body>
<h1>Distillation report</h1>
<p><code>${r.command}</code> — seed ${r.seed}, backend ${r.backend}, ${r.data.source} data: ${r.data.trainRows} labelled training rows,
${r.data.transferRows} transfer rows, ${r.data.testRows} held-out test rows (click rate ${(r.data.testClickRate * 100).toFixed(1)}%); ${r.durationS.toFixed(0)} s.</p>
${r.ranking ? rankingHtml(r.ranking) : ''}
<h2>Held-out metrics</h2>
${metricsTable(r)}
<p>Through the serving loader (<code>loadModel</code>): teacher ${r.export.servedLatencyMs.teacher.toFixed(2)} ms, student
${r.export.servedLatencyMs.student.toFixed(2)} ms per batch. Exported predictions match the in-training models to
${Math.max(r.export.maxAbsDiff.teacher, r.export.maxAbsDiff.student).toExponential(1)} (max |diff| over ${r.export.checkedRows} rows).</p>
<h2>Targets</h2>
${targetsTable(r)}
<h2>Figures</h2>
<div class="figs">
${figures.join('\n')}
</div>
</body></html>
`;
}

function metricsTable(r: DistillReport): string {
  const rows = r.models.map(
    (m) =>
      `<tr${m.exported ? ' class="exported"' : ''}><td>${m.name}</td><td>${m.auc.toFixed(4)}</td><td>${m.logLoss.toFixed(4)}</td><td>${m.params ?? ''}</td><td>${m.latencyMs?.toFixed(2) ?? ''}</td><td>${m.exported ? 'exported' : ''}</td></tr>`,
  );
  return `<table><tr><th>model</th><th>AUC</th><th>log-loss</th><th>params</th><th>ms / batch of ${r.config.evaluation.latencyBatch}</th><th></th></tr>
${rows.join('\n')}</table>`;
}

function targetsTable(r: DistillReport): string {
  const rows = Object.entries(r.targets).map(
    ([k, t]) =>
      `<tr class="${t.met ? 'met' : 'miss'}"><td>${t.met ? '✔' : '✘'}</td><td>${k}</td><td>${t.value.toFixed(4)}</td><td>${t.goal}</td></tr>`,
  );
  return `<table>${rows.join('\n')}</table>`;
}

/** ROC, calibration and teacher-vs-student scatter on the held-out rows. */
function qualityFigures(r: DistillReport): string[] {
  const color = new Map(r.models.map((m, i) => [m.name, PALETTE[i % PALETTE.length]!]));
  const unit = { x: [0, 1] as [number, number], y: [0, 1] as [number, number], diagonal: true };
  const roc = chart({
    ...unit,
    title: 'ROC on held-out rows',
    legend: 'bottom-right',
    xLabel: 'false positive rate',
    yLabel: 'true positive rate',
    series: r.models.map((m) => ({
      name: `${m.name} ${m.auc.toFixed(3)}`,
      points: m.roc,
      color: color.get(m.name)!,
    })),
  });
  const calibrated = r.models.filter((m) => m.role !== 'student' || m.exported || m.loss === 'none');
  const cal = chart({
    ...unit,
    title: 'Calibration (10 equal-count bins)',
    legend: 'top-left',
    xLabel: 'mean predicted click probability',
    yLabel: 'observed click rate',
    series: calibrated.map((m) => ({
      name: m.name,
      points: m.calibration.map((b) => [b.predicted, b.observed] as const),
      color: color.get(m.name)!,
    })),
  });
  const noKd = r.models.find((m) => m.role === 'student' && m.loss === 'none' && m.kind === 'pooled')!.name;
  const scatter = chart({
    ...unit,
    title: 'Teacher vs student on the same rows',
    legend: 'top-left',
    xLabel: 'teacher probability',
    yLabel: 'student probability',
    series: [
      {
        name: `${noKd} (no KD)`,
        points: zip(r.scatter.teacher, r.scatter.noKd),
        color: '#bbbbbb',
        dots: true,
      },
      {
        name: `${r.export.student} (exported)`,
        points: zip(r.scatter.teacher, r.scatter.student),
        color: color.get(r.export.student)!,
        dots: true,
      },
    ],
  });
  return [roc, cal, scatter];
}

/** Training curves: teacher pretraining, teacher fine-tuning, students. */
function curveFigures(r: DistillReport): string[] {
  const series = (prefix: string): Series[] =>
    Object.entries(r.curves)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, pts], i) => ({
        name,
        points: pts.map((p) => [p.step, p.loss] as const),
        color: PALETTE[i % PALETTE.length]!,
      }));
  return [
    chart({
      title: 'Teacher pretraining (masked items)',
      xLabel: 'step',
      yLabel: 'item cross-entropy',
      series: series('teacher pretrain'),
    }),
    chart({
      title: 'Teacher fine-tuning (clicks)',
      xLabel: 'step',
      yLabel: 'click cross-entropy',
      series: series('teacher fine-tune'),
    }),
    chart({
      title: 'Student training loss (each with its own loss)',
      xLabel: 'step',
      yLabel: 'training loss',
      series: series('student'),
    }),
  ];
}

function zip(a: readonly number[], b: readonly number[]): [number, number][] {
  return a.map((x, i) => [x, b[i]!]);
}
