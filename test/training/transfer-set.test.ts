import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickLog } from '../../src/training/data/click-log.ts';
import { Prng } from '../../src/training/data/prng.ts';
import { buildTransferSet, dropItems, maskItems, shuffleSpan } from '../../src/training/transfer-set.ts';

const nonZero = (h: Int32Array) => Array.from(h).filter((x) => x !== 0);

test('masking turns items into padding in place and never adds items', () => {
  const h = Int32Array.from([0, 0, 3, 4, 5, 6, 7, 8]);
  maskItems(h, 0.5, new Prng(1));
  assert.equal(h.length, 8);
  for (let j = 0; j < 8; j++) assert.ok(h[j] === 0 || h[j] === [0, 0, 3, 4, 5, 6, 7, 8][j]);
});

test('dropping keeps the surviving items in order and left-pads again', () => {
  const h = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  dropItems(h, 0.5, new Prng(3));
  const kept = nonZero(h);
  assert.deepEqual(
    kept,
    [...kept].sort((a, b) => a - b),
    'order kept',
  );
  assert.deepEqual(
    Array.from(h.subarray(0, 8 - kept.length)),
    new Array(8 - kept.length).fill(0),
    'padding on the left',
  );
});

test('span shuffling permutes items inside the history and keeps the padding', () => {
  const orig = [0, 0, 1, 2, 3, 4, 5, 6];
  let changed = false;
  for (let seed = 0; seed < 20; seed++) {
    const h = Int32Array.from(orig);
    shuffleSpan(h, 4, new Prng(seed));
    assert.deepEqual(nonZero(h).sort(), orig.filter((x) => x).sort());
    assert.deepEqual(Array.from(h.subarray(0, 2)), [0, 0]);
    changed ||= h.join() !== orig.join();
  }
  assert.ok(changed, 'some seed reorders the span');
});

test('the transfer set keeps labelled rows first and adds unlabelled copies and sequences', () => {
  const L = 4;
  const log: ClickLog = {
    vocabSize: 20,
    historyLength: L,
    rows: 3,
    user: Int32Array.from([0, 1, 2]),
    history: Int32Array.from([0, 1, 2, 3, 0, 0, 4, 5, 6, 7, 8, 9]),
    candidate: Int32Array.from([10, 11, 12]),
    clicked: Uint8Array.from([1, 0, 1]),
  };
  const sequences = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // 2 rows of L + 1
  const set = buildTransferSet(
    log,
    sequences,
    { copies: 2, maskProb: 0.3, spanMax: 3, unlabelledRows: 5 },
    new Prng(4),
  );
  assert.equal(set.rows, 3 * 3 + 2);
  assert.deepEqual(Array.from(set.history.subarray(0, 3 * L)), Array.from(log.history));
  assert.deepEqual(Array.from(set.label.subarray(0, 3)), [1, 0, 1]);
  assert.deepEqual(Array.from(set.labelWeight), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    Array.from(set.history.subarray(9 * L, 10 * L)),
    [0, 1, 2, 3],
    'a sequence row: its first L items',
  );
  for (const c of set.candidate) assert.ok(c >= 1 && c < 20);
});
