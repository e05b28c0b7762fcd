import { CtrError } from '../errors/registry.ts';
import type { HostTensor, IndexRange, SignatureSpec } from '../graph/model.ts';

/**
 * CTR request rows ↔ model tensors (DESIGN §4–§5), shared by serving and training so both pad and trim
 * histories identically. Pure functions over host arrays: no tensors are created here.
 *
 * A CtrBatch is what one CTR call feeds the model: each user's history, padded/trimmed to the model's L and
 * repeated once per candidate, so row r is (history of its user, candidate r). `offsets[u]..offsets[u+1]` are the
 * rows of user u. The shadow scorer replays the same batch on the teacher.
 *
 * Failures: CTR_ERR_EMPTY_REQUEST, CTR_ERR_INVALID_ID, CTR_ERR_PAYLOAD_TOO_LARGE, CTR_ERR_BAD_REQUEST (malformed
 * rows), CTR_ERR_NOT_CTR_MODEL (signature without history/candidate → ctr).
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
};

/**
 * Ids ≥ vocabSize map to oovId when it is set, else they are refused (model.json's vocab_size/oov_id). `idRanges`
 * are the model's index guards on its history and candidate inputs (src/graph/guard): an id at or beyond the
 * table it indexes is CTR_ERR_INDEX_OUT_OF_RANGE (after the OOV mapping).
 */
export type Vocab = {
  readonly vocabSize?: number;
  readonly oovId?: number;
  readonly idRanges?: { readonly history?: IndexRange; readonly candidate?: IndexRange };
};

export type CtrLimits = { readonly maxUsers: number; readonly maxCandidates: number };

export const PADDING_ID = 0;
const INT32_MAX = 2 ** 31 - 1;

/** Newest `length` ids, left-padded with 0: [5, 17, 230] with length 5 → [0, 0, 5, 17, 230]. */
export function padHistory(history: readonly number[], length: number): Int32Array {
  const out = new Int32Array(length);
  const take = Math.min(history.length, length);
  out.set(history.slice(history.length - take), length - take);
  return out;
}

/**
 * Checks the shape and ids of raw (JSON-parsed) user requests, maps out-of-vocabulary ids, and returns clean
 * requests. Ids must be JSON integers ≥ 0: strings, booleans, null and floats are refused, not coerced.
 */
export function validateCtrRequests(raw: unknown, vocab: Vocab, limits: CtrLimits): CtrUserRequest[] {
  if (!Array.isArray(raw)) throw new CtrError('CTR_ERR_BAD_REQUEST', '"requests" must be a list of users');
  if (raw.length === 0) throw new CtrError('CTR_ERR_EMPTY_REQUEST', '"requests" is empty');
  if (raw.length > limits.maxUsers) {
    throw new CtrError(
      'CTR_ERR_PAYLOAD_TOO_LARGE',
      `${raw.length} users in one request; the limit is ${limits.maxUsers}`,
    );
  }
  let total = 0;
  for (const user of raw) {
    const n = isRecord(user) && Array.isArray(user.candidates) ? user.candidates.length : 0;
    total += n;
  }
  if (total > limits.maxCandidates) {
    throw new CtrError(
      'CTR_ERR_PAYLOAD_TOO_LARGE',
      `${total} candidates in one request; the limit is ${limits.maxCandidates}`,
    );
  }
  return raw.map((user, u) => {
    const where = `requests[${u}]`;
    if (!isRecord(user)) throw new CtrError('CTR_ERR_BAD_REQUEST', `${where} must be an object`);
    const { id, history = [], candidates } = user;
    if (id !== undefined && typeof id !== 'string') {
      throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}.id must be a string`);
    }
    if (!Array.isArray(history)) throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}.history must be a list`);
    if (!Array.isArray(candidates)) {
      throw new CtrError('CTR_ERR_BAD_REQUEST', `${where}.candidates must be a list`);
    }
    if (candidates.length === 0) throw new CtrError('CTR_ERR_EMPTY_REQUEST', `${where}.candidates is empty`);
    return {
      ...(id === undefined ? {} : { id }),
      history: history.map((v, i) => checkId(v, where, 'history', i, vocab)),
      candidates: candidates.map((v, i) => checkId(v, where, 'candidates', i, vocab)),
    };
  });
}

/**
 * One id of `requests[u].{history,candidates}[i]`; the place is spelled out only when the id is refused. Ids are
 * int32 whatever the model (tfjs computes int64 as int32): beyond that range they are refused, never folded.
 */
function checkId(value: unknown, user: string, list: string, i: number, vocab: Vocab): number {
  const range = list === 'history' ? vocab.idRanges?.history : vocab.idRanges?.candidate;
  const limit = Math.min(vocab.vocabSize ?? INT32_MAX + 1, range?.limit ?? INT32_MAX + 1);
  if (typeof value === 'number' && value >= 0 && value < limit && Number.isInteger(value)) return value;
  const where = `${user}.${list}[${i}]`;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > INT32_MAX) {
    throw new CtrError(
      'CTR_ERR_INVALID_ID',
      `${where} is ${JSON.stringify(value)}, not an integer id in [0, ${INT32_MAX}] (int32)`,
    );
  }
  let id = value;
  if (vocab.vocabSize !== undefined && value >= vocab.vocabSize) {
    if (vocab.oovId === undefined) {
      throw new CtrError(
        'CTR_ERR_INVALID_ID',
        `${where} is ${value}, not below the model's vocab_size ${vocab.vocabSize} (it has no oov_id)`,
      );
    }
    id = vocab.oovId;
  }
  if (range && (id < 0 || id >= range.limit)) {
    throw new CtrError(
      'CTR_ERR_INDEX_OUT_OF_RANGE',
      `${where} is ${value}, not in [0, ${range.limit}): it indexes the ${range.limit} rows read by ` +
        `${range.op} "${range.node}"`,
    );
  }
  return id;
}

/** Builds the model's input rows from validated requests (see validateCtrRequests). */
export function buildCtrBatch(requests: readonly CtrUserRequest[], historyLength: number): CtrBatch {
  const offsets = new Int32Array(requests.length + 1);
  for (let u = 0; u < requests.length; u++) offsets[u + 1] = offsets[u]! + requests[u]!.candidates.length;
  const rows = offsets[requests.length]!;
  const history = new Int32Array(rows * historyLength);
  const candidate = new Int32Array(rows);
  for (let u = 0; u < requests.length; u++) {
    const { history: h, candidates } = requests[u]!;
    const padded = padHistory(h, historyLength);
    const start = offsets[u]!;
    candidate.set(candidates, start);
    for (let r = 0; r < candidates.length; r++) history.set(padded, (start + r) * historyLength);
  }
  return { rows, historyLength, history, candidate, offsets };
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
 * The inputs of a CTR-shaped variant (ModelInfo.sharedHistory in src/graph/model.ts): each user's history once,
 * [U, L] (the first row of the user's rows in the batch), the candidates [N], and `user_index` int32 [N] mapping
 * each row to its user, from `batch.offsets`.
 */
export function ctrSharedHistoryInputs(
  batch: CtrBatch,
  dtypes: { history: HostTensor['dtype']; candidate: HostTensor['dtype'] },
): Record<'history' | 'candidate' | 'user_index', HostTensor> {
  const users = batch.offsets.length - 1;
  const L = batch.historyLength;
  const history = new Int32Array(users * L);
  const userIndex = new Int32Array(batch.rows);
  for (let u = 0; u < users; u++) {
    const start = batch.offsets[u]!;
    const end = batch.offsets[u + 1]!;
    history.set(batch.history.subarray(start * L, (start + 1) * L), u * L);
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
 * The CTR signature of DESIGN §4: inputs `history` [batch, L] and `candidate` [batch] of int32 (int64 accepted),
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
