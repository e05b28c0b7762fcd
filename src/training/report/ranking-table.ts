import { RANKING_KEYS } from '../eval/ranking-metrics.ts';
import type { PublishedRow } from './published.ts';
import type { RankingReport } from './report-types.ts';

/**
 * The leave-last-out ranking table (click sequences): teacher, students, the two baselines computed here, and the
 * published rows with their source — as fixed-width text (console, models README) and as HTML (report.html).
 */
const HEAD = ['model', 'HR@1', 'HR@5', 'HR@10', 'NDCG@5', 'NDCG@10', 'MRR', 'AUC', ''];

function cells(r: RankingReport): string[][] {
  const fmt = (x: number | undefined) => (x === undefined ? '' : x.toFixed(4));
  const ours = r.rows.map((row) => [
    row.name,
    ...RANKING_KEYS.map((k) => fmt(row[k])),
    row.exported ? 'exported' : row.role === 'baseline' ? 'baseline' : '',
  ]);
  const published = r.published.rows.map((row: PublishedRow) => [
    `${row.name} (published)`,
    ...RANKING_KEYS.map((k) => fmt(k === 'auc' ? undefined : row[k])),
    '',
  ]);
  return [...ours, ...published];
}

export function rankingText(r: RankingReport): string {
  const rows = cells(r);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    `Leave-last-out ranking: ${r.testUsers} test users (of ${r.users}, ${r.interactions} interactions), each target against ${r.candidates - 1} popularity-sampled negatives`,
    line(HEAD),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    r.published.rows.length
      ? `published: ${r.published.source}`
      : `published: none recorded (${r.published.source})`,
    '',
  ].join('\n');
}

export function rankingHtml(r: RankingReport): string {
  const rows = cells(r).map((c) => {
    const cls = c[0]!.endsWith('(published)')
      ? ' class="published"'
      : c[8] === 'exported'
        ? ' class="exported"'
        : '';
    return `<tr${cls}>${c.map((x) => `<td>${x}</td>`).join('')}</tr>`;
  });
  return `<h2>Leave-last-out ranking (${r.testUsers} test users, ${r.candidates} candidates each)</h2>
<table><tr>${HEAD.map((h) => `<th>${h}</th>`).join('')}</tr>
${rows.join('\n')}</table>
<p>Published rows: ${r.published.source}.</p>`;
}
