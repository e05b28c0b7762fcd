/**
 * Minimal SVG charts for the distill report (line, scatter), written by hand: the report must open offline in a
 * browser with no script, and no installed package draws SVG on the server.
 */
export type Series = {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  readonly color: string;
  readonly dashed?: boolean;
  /** Draw dots instead of a line. */
  readonly dots?: boolean;
};

export type ChartSpec = {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly x?: readonly [number, number];
  readonly y?: readonly [number, number];
  /** Draw the y = x diagonal (ROC chance line, perfect calibration). */
  readonly diagonal?: boolean;
  readonly width?: number;
  readonly height?: number;
  /** Corner of the plot area that holds the legend (default top-right). */
  readonly legend?: 'top-left' | 'top-right' | 'bottom-right';
};

export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function extent(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function ticks([lo, hi]: readonly [number, number], n = 5): number[] {
  const step = 10 ** Math.floor(Math.log10((hi - lo) / n));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= n) ?? step * 10;
  const out = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-12; v += nice) out.push(Number(v.toPrecision(6)));
  return out;
}

export function chart(spec: ChartSpec): string {
  const W = spec.width ?? 460;
  const H = spec.height ?? 340;
  const m = { l: 58, r: 14, t: 30, b: 46 };
  const all = spec.series.flatMap((s) => s.points);
  const xd = spec.x ?? extent(all.map((p) => p[0]));
  const yd = spec.y ?? extent(all.map((p) => p[1]));
  const sx = (x: number) => m.l + ((x - xd[0]) / (xd[1] - xd[0])) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - yd[0]) / (yd[1] - yd[0])) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (const t of ticks(xd)) {
    parts.push(
      `<line x1="${sx(t)}" y1="${m.t}" x2="${sx(t)}" y2="${H - m.b}" stroke="#eee"/>`,
      `<text x="${sx(t)}" y="${H - m.b + 14}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of ticks(yd)) {
    parts.push(
      `<line x1="${m.l}" y1="${sy(t)}" x2="${W - m.r}" y2="${sy(t)}" stroke="#eee"/>`,
      `<text x="${m.l - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  if (spec.diagonal) {
    const lo = Math.max(xd[0], yd[0]);
    const hi = Math.min(xd[1], yd[1]);
    parts.push(
      `<line x1="${sx(lo)}" y1="${sy(lo)}" x2="${sx(hi)}" y2="${sy(hi)}" stroke="#aaa" stroke-dasharray="4 4"/>`,
    );
  }
  for (const s of spec.series) {
    if (s.dots) {
      for (const [x, y] of s.points) {
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="1.6" fill="${s.color}" fill-opacity="0.45"/>`,
        );
      }
      continue;
    }
    const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
  }
  const boxW = 8 + 16 + 6.2 * Math.max(...spec.series.map((s) => s.name.length));
  const boxH = 6 + 14 * spec.series.length;
  const corner = spec.legend ?? 'top-right';
  const bx = corner === 'top-left' ? m.l + 6 : W - m.r - 6 - boxW;
  const by = corner === 'bottom-right' ? H - m.b - 6 - boxH : m.t + 6;
  parts.push(
    `<rect x="${bx}" y="${by}" width="${boxW}" height="${boxH}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`,
  );
  spec.series.forEach((s, i) => {
    const y = by + 14 + i * 14;
    const x = bx + 6;
    parts.push(
      `<rect x="${x}" y="${y - 7}" width="12" height="4" fill="${s.color}"/>`,
      `<text x="${x + 16}" y="${y - 2}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
