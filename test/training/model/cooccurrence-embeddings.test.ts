import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../../src/training/data/prng.ts';
import { cooccurrenceEmbeddings, jacobiEigen } from '../../../src/training/model/cooccurrence-embeddings.ts';

test('jacobiEigen: A·v = λ·v for every pair, and the eigenvectors are orthonormal', () => {
  const k = 7;
  const r = new Prng(3);
  const a = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) a[i * k + j] = a[j * k + i] = r.normal();
  const { values, vectors } = jacobiEigen(a, k);
  for (let e = 0; e < k; e++) {
    for (let i = 0; i < k; i++) {
      let av = 0;
      for (let j = 0; j < k; j++) av += a[i * k + j]! * vectors[j * k + e]!;
      assert.ok(Math.abs(av - values[e]! * vectors[i * k + e]!) < 1e-9, `pair ${e}, row ${i}`);
    }
    for (let f = 0; f < k; f++) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += vectors[i * k + e]! * vectors[i * k + f]!;
      assert.ok(Math.abs(dot - (e === f ? 1 : 0)) < 1e-9);
    }
  }
});

// Rows of width 4 (0 = padding) over items 1..6; item 7 never occurs.
const ROWS = Int32Array.from(
  [
    [1, 2, 3, 1],
    [0, 2, 3, 4],
    [0, 0, 4, 5],
    [5, 6, 5, 6],
    [0, 1, 3, 2],
    [0, 0, 6, 4],
  ].flat(),
);

/** PPMI from its definition: pairs within `window` positions of a row, both orders, self-pairs left out. */
function densePpmi(V: number, window: number): Float64Array {
  const n = new Float64Array(V * V);
  for (let r = 0; r < ROWS.length; r += 4)
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 4; b++) {
        const i = ROWS[r + a]!;
        const j = ROWS[r + b]!;
        if (i && j && i !== j && a !== b && Math.abs(a - b) <= window) n[i * V + j]! += 1;
      }
  const row = Array.from({ length: V }, (_, i) => n.subarray(i * V, (i + 1) * V).reduce((x, y) => x + y, 0));
  const total = row.reduce((x, y) => x + y, 0);
  return n.map((c, ij) => {
    const i = Math.floor(ij / V);
    const j = ij % V;
    return c > 0 ? Math.max(0, Math.log((c * total) / (row[i]! * row[j]!))) : 0;
  });
}

test('cooccurrenceEmbeddings at full rank: E·Eᵀ is W·|Λ|·Wᵀ of the PPMI matrix, up to the row-norm scale', () => {
  const V = 8;
  const { vectors: e, present } = cooccurrenceEmbeddings(
    ROWS,
    4,
    V,
    { dim: V, window: 2, rowNorm: 1 },
    new Prng(1),
  );
  assert.deepEqual(Array.from(present), [0, 1, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(e.subarray(7 * V)), new Array(V).fill(0));
  const m = densePpmi(V, 2);
  const { values, vectors: w } = jacobiEigen(m, V);
  const ref = new Float64Array(V * V);
  for (let i = 0; i < V; i++)
    for (let j = 0; j < V; j++)
      for (let k = 0; k < V; k++) ref[i * V + j]! += w[i * V + k]! * Math.abs(values[k]!) * w[j * V + k]!;
  const got = new Float64Array(V * V);
  for (let i = 0; i < V; i++)
    for (let j = 0; j < V; j++) for (let c = 0; c < V; c++) got[i * V + j]! += e[i * V + c]! * e[j * V + c]!;
  const scale = got[1 * V + 1]! / ref[1 * V + 1]!;
  for (let ij = 0; ij < V * V; ij++)
    assert.ok(Math.abs(got[ij]! - scale * ref[ij]!) < 1e-4, `entry ${ij}: ${got[ij]} vs ${scale * ref[ij]!}`);
  let norms = 0;
  for (let i = 1; i <= 6; i++) norms += Math.hypot(...e.subarray(i * V, (i + 1) * V));
  assert.ok(Math.abs(norms / 6 - 1) < 1e-5, 'mean row norm 1');
});

test('cooccurrenceEmbeddings at low rank puts items that share rows nearer than items that do not', () => {
  const rows: number[] = [];
  const r = new Prng(9);
  for (let s = 0; s < 400; s++) {
    const base = s % 2 === 0 ? 1 : 11; // two groups of ten items, never in the same row
    rows.push(...Array.from({ length: 6 }, () => base + r.int(10)));
  }
  const { vectors: e } = cooccurrenceEmbeddings(
    Int32Array.from(rows),
    6,
    21,
    { dim: 4, window: 2, rowNorm: 1 },
    r,
  );
  const cos = (a: number, b: number) => {
    const x = e.subarray(a * 4, a * 4 + 4);
    const y = e.subarray(b * 4, b * 4 + 4);
    return x.reduce((s, v, i) => s + v * y[i]!, 0) / (Math.hypot(...x) * Math.hypot(...y));
  };
  for (const [a, b, c] of [
    [1, 5, 15],
    [12, 20, 3],
  ] as const)
    assert.ok(cos(a, b) > cos(a, c) + 0.5, `${a}~${b} ${cos(a, b)} vs ${a}~${c} ${cos(a, c)}`);
});
