import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCtrError } from '../../src/errors/registry.ts';
import {
  buildCtrBatch,
  ctrBatchInputs,
  ctrHistoryLength,
  padHistory,
  splitByUser,
  topK,
} from '../../src/ctr/ctr-batch.ts';
import { validateCtrRequests } from '../../src/ctr/ctr-request.ts';
import type { SignatureSpec } from '../../src/graph/model.ts';

const limits = { maxUsers: 10, maxCandidates: 100 };

const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (err) => isCtrError(err) && err.code === code);

test('padHistory keeps the newest L ids and left-pads shorter histories with 0', () => {
  const table: [number[], number, number[]][] = [
    [[5, 17, 230], 5, [0, 0, 5, 17, 230]],
    [[5, 17, 230], 3, [5, 17, 230]],
    [[1, 2, 3, 4, 5], 3, [3, 4, 5]],
    [[], 4, [0, 0, 0, 0]],
    [[9], 1, [9]],
    [[1, 2], 0, []],
  ];
  for (const [history, L, expected] of table) {
    assert.deepEqual(Array.from(padHistory(history, L)), expected, `${history} with L=${L}`);
  }
});

test('padHistory always returns L ids ending with the newest ones (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { maxLength: 40 }), fc.nat(20), (h, L) => {
      const out = Array.from(padHistory(h, L));
      const take = Math.min(h.length, L);
      assert.equal(out.length, L);
      assert.deepEqual(out.slice(L - take), h.slice(h.length - take));
      assert.ok(out.slice(0, L - take).every((v) => v === 0));
    }),
  );
});

test('ids that are not JSON integers >= 0 are refused with CTR_ERR_INVALID_ID', () => {
  for (const bad of ['5', true, null, 1.5, -1, Number.NaN, [1], { id: 1 }]) {
    throwsCode(
      () => validateCtrRequests([{ history: [bad], candidates: [1] }], {}, limits),
      'CTR_ERR_INVALID_ID',
    );
    throwsCode(
      () => validateCtrRequests([{ history: [], candidates: [1, bad] }], {}, limits),
      'CTR_ERR_INVALID_ID',
    );
  }
});

test('ids at or above vocab_size map to oov_id when the model sets it and are refused otherwise', () => {
  const [user] = validateCtrRequests(
    [{ history: [3, 10, 99], candidates: [10, 9] }],
    { vocabSize: 10, oovId: 1 },
    limits,
  );
  assert.deepEqual(user!.history, [3, 1, 1]);
  assert.deepEqual(user!.candidates, [1, 9]);
  throwsCode(
    () => validateCtrRequests([{ history: [], candidates: [10] }], { vocabSize: 10 }, limits),
    'CTR_ERR_INVALID_ID',
  );
  throwsCode(
    () => validateCtrRequests([{ history: [], candidates: [2 ** 31] }], {}, limits),
    'CTR_ERR_INVALID_ID',
  );
});

test('empty requests or candidates are CTR_ERR_EMPTY_REQUEST and an empty or missing history is all padding', () => {
  throwsCode(() => validateCtrRequests([], {}, limits), 'CTR_ERR_EMPTY_REQUEST');
  throwsCode(
    () => validateCtrRequests([{ history: [1], candidates: [] }], {}, limits),
    'CTR_ERR_EMPTY_REQUEST',
  );
  const users = validateCtrRequests([{ candidates: [4] }, { history: [], candidates: [5] }], {}, limits);
  const batch = buildCtrBatch(users, 3);
  assert.deepEqual(Array.from(batch.history), [0, 0, 0, 0, 0, 0]);
});

test('malformed rows are CTR_ERR_BAD_REQUEST', () => {
  for (const raw of [
    {},
    'x',
    [1],
    [{ candidates: 3 }],
    [{ history: 'a', candidates: [1] }],
    [{ id: 7, candidates: [1] }],
  ]) {
    throwsCode(() => validateCtrRequests(raw, {}, limits), 'CTR_ERR_BAD_REQUEST');
  }
});

test('too many users or candidates in one request is CTR_ERR_PAYLOAD_TOO_LARGE', () => {
  const user = { history: [], candidates: [1, 2, 3] };
  throwsCode(() => validateCtrRequests(Array(11).fill(user), {}, limits), 'CTR_ERR_PAYLOAD_TOO_LARGE');
  throwsCode(
    () => validateCtrRequests([{ candidates: Array(101).fill(1) }], {}, limits),
    'CTR_ERR_PAYLOAD_TOO_LARGE',
  );
  assert.equal(validateCtrRequests([{ candidates: Array(100).fill(1) }], {}, limits).length, 1);
});

test('buildCtrBatch repeats each user history per candidate and records user offsets', () => {
  const batch = buildCtrBatch(
    [
      { id: 'u1', history: [5, 17, 230], candidates: [11, 42] },
      { history: [8], candidates: [7] },
    ],
    2,
  );
  assert.equal(batch.rows, 3);
  assert.deepEqual(Array.from(batch.history), [17, 230, 17, 230, 0, 8]);
  assert.deepEqual(Array.from(batch.candidate), [11, 42, 7]);
  assert.deepEqual(Array.from(batch.offsets), [0, 2, 3]);
  const inputs = ctrBatchInputs(batch);
  assert.deepEqual(inputs.history.shape, [3, 2]);
  assert.deepEqual(inputs.candidate.shape, [3]);
  const perUser = splitByUser(batch, Float32Array.from([0.1, 0.2, 0.3]));
  assert.deepEqual(
    perUser.map((s) => s.length),
    [2, 1],
  );
});

test('topK lists indices by descending score, ties in candidate order, NaN last', () => {
  assert.deepEqual(topK([0.031, 0.112, 0.007], 2), [1, 0]);
  assert.deepEqual(topK([0.5, 0.7, 0.5, 0.7], 4), [1, 3, 0, 2]);
  assert.deepEqual(topK([Number.NaN, 0.1, 0.2], 3), [2, 1, 0]);
  assert.deepEqual(topK([0.3, 0.1], 10), [0, 1]);
  assert.deepEqual(topK([0.3, 0.1], 0), []);
});

const spec = (dtype: 'DT_INT32' | 'DT_FLOAT', shape: number[] | null) => ({
  tensorName: 't:0',
  dtype,
  shape,
});
const ctrSig = (inputs: SignatureSpec['inputs'], outputs: SignatureSpec['outputs']): SignatureSpec => ({
  name: 'serving_default',
  methodName: 'tensorflow/serving/predict',
  inputs,
  outputs,
});

test('ctrHistoryLength reads L from the history input and refuses signatures that are not CTR-shaped', () => {
  const ok = ctrSig(
    { history: spec('DT_INT32', [-1, 50]), candidate: spec('DT_INT32', [-1]) },
    { ctr: spec('DT_FLOAT', [-1]) },
  );
  assert.equal(ctrHistoryLength(ok), 50);
  const anyL = ctrSig(
    { history: spec('DT_INT32', [-1, -1]), candidate: spec('DT_INT32', [-1]) },
    { ctr: spec('DT_FLOAT', [-1]) },
  );
  assert.equal(ctrHistoryLength(anyL), -1);
  const bad = [
    ctrSig({ x: spec('DT_FLOAT', [-1, 1]) }, { y: spec('DT_FLOAT', [-1, 1]) }),
    ctrSig(
      { history: spec('DT_FLOAT', [-1, 5]), candidate: spec('DT_INT32', [-1]) },
      { ctr: spec('DT_FLOAT', [-1]) },
    ),
    ctrSig(
      { history: spec('DT_INT32', [-1]), candidate: spec('DT_INT32', [-1]) },
      { ctr: spec('DT_FLOAT', [-1]) },
    ),
    ctrSig(
      { history: spec('DT_INT32', [-1, 5]), candidate: spec('DT_INT32', [-1]) },
      { p: spec('DT_FLOAT', [-1]) },
    ),
  ];
  for (const s of bad) throwsCode(() => ctrHistoryLength(s), 'CTR_ERR_NOT_CTR_MODEL');
});
