import { median } from './timing.ts';
import { formatTable } from './table.ts';

/** One measured run of one row on one side (bench/ab.ts). */
export type Sample = {
  readonly side: 'A' | 'B';
  readonly row: string;
  readonly round: number;
  /** Requests (HTTP) or predictions (model only) per second. */
  readonly perSec: number;
  /** Server CPU ms per answered request (HTTP) or per 1000 predictions (model only). */
  readonly cpuMs: number;
  readonly failed: number;
  readonly load1: number;
};

type Spread = { readonly median: number; readonly min: number; readonly max: number };

type AbRow = {
  readonly row: string;
  readonly n: number;
  readonly rate: { readonly A: Spread; readonly B: Spread };
  readonly cpu: { readonly A: Spread; readonly B: Spread };
  /** Refused (non-2xx) or failed requests over all runs, per side. */
  readonly failed: { readonly A: number; readonly B: number };
  readonly load: Spread;
};

const spread = (v: readonly number[]): Spread => ({
  median: median(v),
  min: Math.min(...v),
  max: Math.max(...v),
});

/** Samples grouped by row, in first-seen order: median and range per side. */
export function abRows(samples: readonly Sample[]): AbRow[] {
  const names = [...new Set(samples.map((s) => s.row))];
  return names.map((row) => {
    const of = (side: 'A' | 'B') => samples.filter((s) => s.row === row && s.side === side);
    const [a, b] = [of('A'), of('B')];
    return {
      row,
      n: Math.min(a.length, b.length),
      rate: { A: spread(a.map((s) => s.perSec)), B: spread(b.map((s) => s.perSec)) },
      cpu: { A: spread(a.map((s) => s.cpuMs)), B: spread(b.map((s) => s.cpuMs)) },
      failed: { A: a.reduce((n, s) => n + s.failed, 0), B: b.reduce((n, s) => n + s.failed, 0) },
      load: spread([...a, ...b].map((s) => s.load1)),
    };
  });
}

/**
 * "B slower" / "B faster" only when the two sides' ranges do not overlap (every B sample beyond every A sample);
 * "overlap" otherwise, i.e. within the run-to-run spread.
 */
function verdict(a: Spread, b: Spread, higherIsBetter: boolean): string {
  if (b.max < a.min) return higherIsBetter ? 'B slower' : 'B faster';
  if (b.min > a.max) return higherIsBetter ? 'B faster' : 'B slower';
  return 'overlap';
}

const fmt = (s: Spread, digits: number) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

export function abTable(rows: readonly AbRow[]): string {
  return formatTable(
    ['row', 'n', 'A /s', 'B /s', 'B/A', '', 'A CPU ms', 'B CPU ms', 'B/A', '', 'failed A / B', 'load 1 min'],
    rows.map((r) => {
      const digits = r.rate.A.median >= 1000 ? 0 : 1;
      return [
        r.row,
        r.n,
        fmt(r.rate.A, digits),
        fmt(r.rate.B, digits),
        (r.rate.B.median / r.rate.A.median).toFixed(2),
        verdict(r.rate.A, r.rate.B, true),
        fmt(r.cpu.A, 3),
        fmt(r.cpu.B, 3),
        (r.cpu.B.median / r.cpu.A.median).toFixed(2),
        verdict(r.cpu.A, r.cpu.B, false),
        `${r.failed.A} / ${r.failed.B}`,
        `${r.load.min.toFixed(1)}–${r.load.max.toFixed(1)}`,
      ];
    }),
  );
}
