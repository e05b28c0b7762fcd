import type { Prng } from '../data/prng.ts';

/**
 * Item vectors from co-occurrence, the teacher's optional starting item table (`teacher.train.cooccurrenceInit`,
 * docs/training.md): the positive pointwise mutual information (PPMI) of items clicked within `window` positions of
 * each other in the pretraining rows, factorised by a randomized SVD (Halko, Martinsson & Tropp 2011: a Gaussian
 * sketch, one power iteration, Gram–Schmidt, then the small eigenproblem by cyclic Jacobi). Each item's row is
 * U·√Σ, the whole table scaled to a mean row norm of `rowNorm`. Items absent from the rows get no row (null).
 *
 * Rows are `rows × width` item ids, 0 = padding (leave-last-out.ts pretrainRows, or synthetic sequences).
 */
export type CooccurrenceOptions = { readonly dim: number; readonly window: number; readonly rowNorm: number };

export function cooccurrenceEmbeddings(
  rows: Int32Array,
  width: number,
  vocabSize: number,
  o: CooccurrenceOptions,
  rng: Prng,
): { readonly vectors: Float32Array; readonly present: Uint8Array } {
  const m = ppmi(rows, width, vocabSize, o.window);
  const k = Math.min(o.dim + 8, vocabSize);
  // Sketch Y = M·Ω, one power iteration Y = M·(M·Y) with re-orthonormalisation, Q = orth(Y).
  const omega = new Float64Array(vocabSize * k).map(() => rng.normal());
  const q = orthonormalise(m.times(orthonormalise(m.times(m.times(omega, k), k), k), k), k);
  // B = Qᵀ·M = (M·Q)ᵀ (M is symmetric); B·Bᵀ = ZᵀZ with Z = M·Q; its eigenvectors are B's left singular vectors.
  const z = m.times(q, k);
  const { values, vectors } = jacobiEigen(gram(z, k), k);
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => values[b]! - values[a]!);
  const d = Math.min(o.dim, k);
  const out = new Float32Array(vocabSize * o.dim);
  for (let i = 0; i < vocabSize; i++) {
    if (!m.present[i]) continue;
    for (let c = 0; c < d; c++) {
      const e = order[c]!;
      const sigma = Math.sqrt(Math.max(0, values[e]!));
      let u = 0;
      for (let j = 0; j < k; j++) u += q[j * vocabSize + i]! * vectors[j * k + e]!;
      out[i * o.dim + c] = u * Math.sqrt(sigma);
    }
  }
  scaleRows(out, o.dim, m.present, o.rowNorm);
  return { vectors: out, present: m.present };
}

type Sparse = {
  readonly present: Uint8Array;
  /** M·X for X column-major (vocabSize × k). */
  times(x: Float64Array, k: number): Float64Array;
};

/** PPMI of pairs within `window` positions in a row, both orders, as a symmetric CSR matrix. */
function ppmi(rows: Int32Array, width: number, V: number, window: number): Sparse {
  const keys: number[] = [];
  for (let r = 0; r < rows.length; r += width) {
    for (let a = 0; a < width; a++) {
      const i = rows[r + a]!;
      if (i === 0) continue;
      for (let b = a + 1; b < Math.min(width, a + window + 1); b++) {
        const j = rows[r + b]!;
        if (j === 0 || j === i) continue;
        keys.push(i * V + j, j * V + i);
      }
    }
  }
  const sorted = Float64Array.from(keys).sort();
  const rowOf: number[] = [];
  const colOf: number[] = [];
  const count: number[] = [];
  for (let s = 0; s < sorted.length;) {
    let e = s;
    while (e < sorted.length && sorted[e] === sorted[s]) e++;
    rowOf.push(Math.floor(sorted[s]! / V));
    colOf.push(sorted[s]! % V);
    count.push(e - s);
    s = e;
  }
  const marginal = new Float64Array(V);
  rowOf.forEach((i, n) => (marginal[i]! += count[n]!));
  const total = sorted.length;
  const start = new Int32Array(V + 1);
  for (const i of rowOf) start[i + 1]!++;
  for (let i = 0; i < V; i++) start[i + 1]! += start[i]!;
  const value = Float64Array.from(count, (c, n) =>
    Math.max(0, Math.log((c * total) / (marginal[rowOf[n]!]! * marginal[colOf[n]!]!))),
  );
  const col = Int32Array.from(colOf);
  const present = Uint8Array.from(marginal, (x) => (x > 0 ? 1 : 0));
  return {
    present,
    times(x, k) {
      const y = new Float64Array(V * k);
      for (let i = 0; i < V; i++) {
        for (let n = start[i]!; n < start[i + 1]!; n++) {
          const j = col[n]!;
          const v = value[n]!;
          for (let c = 0; c < k; c++) y[c * V + i]! += v * x[c * V + j]!;
        }
      }
      return y;
    },
  };
}

/** Modified Gram–Schmidt on the k columns (column-major, length V each); a null column stays zero. */
function orthonormalise(x: Float64Array, k: number): Float64Array {
  const V = x.length / k;
  for (let c = 0; c < k; c++) {
    const col = x.subarray(c * V, (c + 1) * V);
    for (let p = 0; p < c; p++) {
      const prev = x.subarray(p * V, (p + 1) * V);
      let dot = 0;
      for (let i = 0; i < V; i++) dot += col[i]! * prev[i]!;
      for (let i = 0; i < V; i++) col[i]! -= dot * prev[i]!;
    }
    let norm = 0;
    for (let i = 0; i < V; i++) norm += col[i]! * col[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < V; i++) col[i] = norm > 1e-12 ? col[i]! / norm : 0;
  }
  return x;
}

/** ZᵀZ (k × k, row-major) for Z column-major. */
function gram(z: Float64Array, k: number): Float64Array {
  const V = z.length / k;
  const g = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      for (let i = 0; i < V; i++) s += z[a * V + i]! * z[b * V + i]!;
      g[a * k + b] = s;
      g[b * k + a] = s;
    }
  }
  return g;
}

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major k × k) of a symmetric matrix: cyclic Jacobi. */
export function jacobiEigen(
  matrix: Float64Array,
  k: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += a[p * k + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * k + q]! - a[p * k + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p]!;
          const arq = a[r * k + q]!;
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r]!;
          const aqr = a[q * k + r]!;
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p]!;
          const vrq = v[r * k + q]!;
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: k }, (_, i) => a[i * k + i]!), vectors: v };
}

function scaleRows(out: Float32Array, dim: number, present: Uint8Array, rowNorm: number): void {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    let s = 0;
    for (let c = 0; c < dim; c++) s += out[i * dim + c]! ** 2;
    sum += Math.sqrt(s);
    n++;
  }
  const f = n && sum > 0 ? (rowNorm * n) / sum : 0;
  for (let i = 0; i < out.length; i++) out[i]! *= f;
}
