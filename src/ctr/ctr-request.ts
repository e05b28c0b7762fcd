import { CtrError } from '../errors/registry.ts';
import type { IndexRange } from '../graph/model.ts';
import type { CtrUserRequest } from './ctr-batch.ts';

/**
 * Validation of `/v1/ctr:predict` request rows (docs/api.md). Failures: CTR_ERR_EMPTY_REQUEST,
 * CTR_ERR_INVALID_ID, CTR_ERR_PAYLOAD_TOO_LARGE, CTR_ERR_BAD_REQUEST (malformed rows).
 */

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

const INT32_MAX = 2 ** 31 - 1;

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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `top_k` of a CTR request: an integer ≥ 1 when given (docs/api.md, openapi.yaml). */
export function checkTopK(topK: unknown): void {
  if (topK !== undefined && !(Number.isInteger(topK) && (topK as number) >= 1)) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `top_k must be an integer >= 1, got ${JSON.stringify(topK)}`);
  }
}
