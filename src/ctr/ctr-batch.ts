import { CtrError } from '../errors/registry.ts';
import type { HostTensor, SignatureSpec } from '../graph/model.ts';

/**
 * CTR request rows ↔ model tensors (the CTR signature of docs/api.md), shared by serving and training
 * (src/training/data) so both pad and trim histories identically. Pure functions over host arrays: no tensors
 * are created here.
 *
 * A CtrBatch is what one CTR call feeds the model: each user's history, padded/trimmed to the model's L and
 * repeated once per candidate, so row r is (history of its user, candidate r). `offsets[u]..offsets[u+1]` are the
 * rows of user u. The shadow scorer replays the same batch on the teacher.
 *
 * Failures: CTR_ERR_NOT_CTR_MODEL (signature without history/candidate → ctr); request validation is in
 * ctr-request.ts.
 */

export type CtrUserRequest = {
  readonly id?: string;
  readonly history: readonly number[];
  readonly candidates: readonly number[];
};

export type CtrBatch = {
  /** N: total candidates over all users. */
  readonly rows: number;
  /** L: the model's history length. */
  readonly historyLength: number;
  /** int32 [N, L], row-major; oldest id first, newest in the last column, 0 = padding. */
  readonly history: Int32Array;
  /** int32 [N]. */
  readonly candidate: Int32Array;
  /** users + 1 entries: user u owns rows offsets[u] .. offsets[u+1]. */
  readonly offsets: Int32Array;
  /** int32 [users, L]: each user's history once (buildCtrBatch sets it; `history` repeats its rows). */
  readonly userHistory?: Int32Array;
};

/**
 * The history layout shared by serving and training: the newest `length` ids, oldest first, left-padded with 0,
 * written at `out[offset .. offset + length)`: [5, 17, 230] with length 5 → [0, 0, 5, 17, 230].
 */
export function padHistoryInto(ids: ArrayLike<number>, length: number, out: Int32Array, offset = 0): void {
  const n = Math.min(ids.length, length);
  out.fill(0, offset, offset + length - n);
  for (let j = 0; j < n; j++) out[offset + length - n + j] = ids[ids.length - n + j]!;
}

/** padHistoryInto into a new array. */
export function padHistory(history: ArrayLike<number>, length: number): Int32Array {
  const out = new Int32Array(length);
  padHistoryInto(history, length, out);
  return out;
}

/**
 * Builds the model's input rows from validated requests (see validateCtrRequests). Each user's padded history is
 * written once (`userHistory`); the per-row `history` is made from it on first read (an own enumerable getter,
 * so spreads and structured clones see it): the shared-history path never needs it, and for 1 user × 1000 it
 * is 200 KB per request.
 */
export function buildCtrBatch(requests: readonly CtrUserRequest[], historyLength: number): CtrBatch {
  const offsets = new Int32Array(requests.length + 1);
  for (let u = 0; u < requests.length; u++) offsets[u + 1] = offsets[u]! + requests[u]!.candidates.length;
  const rows = offsets[requests.length]!;
  const userHistory = new Int32Array(requests.length * historyLength);
  const candidate = new Int32Array(rows);
  for (let u = 0; u < requests.length; u++) {
    padHistoryInto(requests[u]!.history, historyLength, userHistory, u * historyLength);
    candidate.set(requests[u]!.candidates, offsets[u]!);
  }
  let history: Int32Array | undefined;
  return {
    rows,
    historyLength,
    get history() {
      return (history ??= repeatUserRows(userHistory, offsets, historyLength));
    },
    candidate,
    offsets,
    userHistory,
  };
}

/** Row r of the result is its user's history: user u's row repeated offsets[u + 1] − offsets[u] times. */
function repeatUserRows(userHistory: Int32Array, offsets: Int32Array, L: number): Int32Array {
  const rows = offsets[offsets.length - 1]!;
  const out = new Int32Array(rows * L);
  for (let u = 0; u + 1 < offsets.length; u++) {
    const start = offsets[u]!;
    const count = offsets[u + 1]! - start;
    if (count === 0) continue;
    out.set(userHistory.subarray(u * L, (u + 1) * L), start * L);
    // Copies of the rows written so far: log2(count) copies instead of one per row.
    for (let done = 1; done < count;) {
      const n = Math.min(done, count - done);
      out.copyWithin((start + done) * L, start * L, (start + n) * L);
      done += n;
    }
  }
  return out;
}

export function ctrBatchInputs(
  batch: CtrBatch,
  dtypes: { history: HostTensor['dtype']; candidate: HostTensor['dtype'] } = {
    history: 'DT_INT32',
    candidate: 'DT_INT32',
  },
): Record<'history' | 'candidate', HostTensor> {
  return {
    history: {
      dtype: dtypes.history,
      shape: [batch.rows, batch.historyLength],
      values: asDtype(batch.history, dtypes.history),
    },
    candidate: {
      dtype: dtypes.candidate,
      shape: [batch.rows],
      values: asDtype(batch.candidate, dtypes.candidate),
    },
  };
}

const asDtype = (values: Int32Array, dtype: HostTensor['dtype']) =>
  dtype === 'DT_INT64' ? Array.from(values) : values;

/**
 * The inputs of a CTR-shaped variant (shared-history-variant.ts): each user's history once,
 * [U, L] (the first row of the user's rows in the batch), the candidates [N], and `user_index` int32 [N] mapping
 * each row to its user, from `batch.offsets`.
 */
export function ctrSharedHistoryInputs(
  batch: CtrBatch,
  dtypes: { history: HostTensor['dtype']; candidate: HostTensor['dtype'] },
): Record<'history' | 'candidate' | 'user_index', HostTensor> {
  const users = batch.offsets.length - 1;
  const L = batch.historyLength;
  const history = batch.userHistory ?? new Int32Array(users * L);
  const userIndex = new Int32Array(batch.rows);
  for (let u = 0; u < users; u++) {
    const start = batch.offsets[u]!;
    const end = batch.offsets[u + 1]!;
    if (!batch.userHistory) history.set(batch.history.subarray(start * L, (start + 1) * L), u * L);
    userIndex.fill(u, start, end);
  }
  return {
    history: { dtype: dtypes.history, shape: [users, L], values: asDtype(history, dtypes.history) },
    candidate: {
      dtype: dtypes.candidate,
      shape: [batch.rows],
      values: asDtype(batch.candidate, dtypes.candidate),
    },
    user_index: { dtype: 'DT_INT32', shape: [batch.rows], values: userIndex },
  };
}

/**
 * The CTR signature (docs/api.md, CTR batch API): inputs `history` [batch, L] and `candidate` [batch] of int32 (int64 accepted),
 * output `ctr` (and usually `logit`). Returns L, or -1 when the model takes any L.
 */
export function ctrHistoryLength(signature: SignatureSpec): number {
  const { history, candidate } = signature.inputs;
  const ints = ['DT_INT32', 'DT_INT64'];
  const ok =
    history !== undefined &&
    candidate !== undefined &&
    signature.outputs.ctr !== undefined &&
    ints.includes(history.dtype) &&
    ints.includes(candidate.dtype) &&
    (history.shape === null || history.shape.length === 2) &&
    (candidate.shape === null || candidate.shape.length === 1);
  if (!ok) {
    throw new CtrError(
      'CTR_ERR_NOT_CTR_MODEL',
      `signature "${signature.name}" is not a CTR signature (needs inputs history [batch, L] and candidate ` +
        `[batch] of int32, output ctr); it has inputs ${Object.keys(signature.inputs).join(', ')} and ` +
        `outputs ${Object.keys(signature.outputs).join(', ')}`,
    );
  }
  return history.shape?.[1] ?? -1;
}

/** Indices of the k highest scores, highest first; ties keep the lower index first; NaN ranks last. */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]!);
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => key(b) - key(a) || a - b);
  return idx.slice(0, Math.max(0, k));
}

/** Each user's slice of the batch's scores, in candidate order. */
export function splitByUser(batch: CtrBatch, scores: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let u = 0; u + 1 < batch.offsets.length; u++) {
    out.push(scores.subarray(batch.offsets[u], batch.offsets[u + 1]));
  }
  return out;
}
