/**
 * A click log in columns: row i is one impression — a user, the user's click history before it (item ids,
 * oldest first, newest in the last column, left-padded with 0), the candidate item shown, whether it was
 * clicked, and (synthetic logs only) the ground-truth click probability the generator drew the click from.
 * Item ids are 1..vocabSize-1; 0 is padding. Plain typed arrays: no tensors, nothing to dispose.
 */
export type ClickLog = {
  readonly vocabSize: number;
  readonly historyLength: number;
  readonly rows: number;
  readonly user: Int32Array;
  /** rows × historyLength, row-major. */
  readonly history: Int32Array;
  readonly candidate: Int32Array;
  readonly clicked: Uint8Array;
  /** Known only for synthetic logs. */
  readonly trueProb?: Float32Array;
  /** Rows come in runs of `group` sharing one history (a click and its sampled non-clicks): batch by runs. */
  readonly group?: number;
};

/** The rows at `index`, in that order. */
export function selectRows(log: ClickLog, index: ArrayLike<number>): ClickLog {
  const L = log.historyLength;
  const n = index.length;
  const history = new Int32Array(n * L);
  const user = new Int32Array(n);
  const candidate = new Int32Array(n);
  const clicked = new Uint8Array(n);
  const trueProb = log.trueProb ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = index[i]!;
    history.set(log.history.subarray(r * L, (r + 1) * L), i * L);
    user[i] = log.user[r]!;
    candidate[i] = log.candidate[r]!;
    clicked[i] = log.clicked[r]!;
    if (trueProb) trueProb[i] = log.trueProb![r]!;
  }
  return { vocabSize: log.vocabSize, historyLength: L, rows: n, user, history, candidate, clicked, trueProb };
}

export function rowRange(log: ClickLog, start: number, end: number): ClickLog {
  return selectRows(
    log,
    Array.from({ length: end - start }, (_, i) => start + i),
  );
}
