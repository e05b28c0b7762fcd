import { rankingText } from './ranking-table.ts';
import type { DistillReport } from './report-types.ts';

/** The report as fixed-width text for the console: one row per model, then the targets. */
export function reportTable(r: DistillReport): string {
  const head = ['model', 'AUC', 'log-loss', 'params', `ms/batch ${r.config.evaluation.latencyBatch}`, ''];
  const rows = r.models.map((m) => [
    m.name,
    m.auc.toFixed(4),
    m.logLoss.toFixed(4),
    m.params !== undefined ? String(m.params) : '',
    m.latencyMs !== undefined ? m.latencyMs.toFixed(2) : '',
    m.exported ? 'exported' : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''];
  if (r.ranking) out.unshift(rankingText(r.ranking));
  out.push(
    `served through loadModel: teacher ${r.export.servedLatencyMs.teacher.toFixed(2)} ms, student ${r.export.servedLatencyMs.student.toFixed(2)} ms per batch; export max |diff| teacher ${r.export.maxAbsDiff.teacher.toExponential(1)}, student ${r.export.maxAbsDiff.student.toExponential(1)} over ${r.export.checkedRows} rows`,
    '',
  );
  for (const [name, t] of Object.entries(r.targets)) {
    out.push(`${t.met ? 'met ' : 'MISS'}  ${name.padEnd(20)} ${t.value.toFixed(4).padStart(9)}   ${t.goal}`);
  }
  return `${out.join('\n')}\n`;
}
