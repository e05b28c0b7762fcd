import type { BenchReference } from './reference.ts';

/** One request body of bench/ab.ts, as a file for autocannon (-i) and as a string for the check. */
export type Body = {
  readonly name: string;
  readonly path: string;
  readonly file: string;
  readonly body: string;
  readonly rows: number;
  readonly connections: readonly number[];
  readonly kind: 'ctr' | 'tf';
};

/** The click probabilities of a reply: CTR `results[].scores`, TF Serving `predictions[].ctr` or `outputs.ctr`. */
function ctrValues(kind: Body['kind'], reply: unknown): number[] {
  const r = reply as {
    results?: { scores?: number[] }[];
    predictions?: { ctr?: number }[];
    outputs?: { ctr?: number[] };
  };
  if (kind === 'ctr') return (r.results ?? []).flatMap((u) => u.scores ?? []);
  if (r.predictions) return r.predictions.map((p) => p.ctr ?? NaN);
  return r.outputs?.ctr ?? [];
}

/**
 * One line per body: whether the two trees' replies are byte-identical, their largest difference, and the largest
 * difference from expected.f32 (TF Serving rows i: expected[i]; a CTR body: its first score, row 0 of the
 * reference). Throws when a reply has the wrong length or is off expected.f32 by more than 1e-5.
 */
export function checkReplies(
  ref: BenchReference,
  bodies: readonly Body[],
  a: readonly unknown[],
  b: readonly unknown[],
): string {
  return bodies
    .map((body, i) => {
      const va = ctrValues(body.kind, a[i]);
      const vb = ctrValues(body.kind, b[i]);
      const want = body.kind === 'tf' ? Array.from(ref.expected.subarray(0, body.rows)) : [ref.expected[0]!];
      const offRef = Math.max(
        ...[va, vb]
          .flatMap((v) => want.map((w, j) => Math.abs(v[j]! - w)))
          .map((d) => (Number.isNaN(d) ? Infinity : d)),
      );
      const ab = Math.max(0, ...va.map((x, j) => Math.abs(x - vb[j]!)));
      if (va.length !== body.rows || vb.length !== body.rows || !(offRef <= 1e-5)) {
        throw new Error(`${body.name}: ${va.length}/${vb.length} values, off expected.f32 by ${offRef}`);
      }
      const same = JSON.stringify(a[i]) === JSON.stringify(b[i]) ? 'identical replies' : 'replies differ';
      return `check ${body.name}: ${body.body.length} bytes sent to both; ${same}, max |A−B| ${ab}, max off expected.f32 ${offRef.toExponential(1)}`;
    })
    .join('\n');
}
