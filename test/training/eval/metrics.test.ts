import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auc, calibration, logLoss, rocCurve } from '../../../src/training/eval/metrics.ts';

// Worked examples from scikit-learn's documentation (roc_auc_score, log_loss), checked by hand.
test('AUC of the scikit-learn example is 0.75 (3 of 4 positive–negative pairs ordered right)', () => {
  assert.equal(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
});

test('AUC counts a tied positive–negative pair as half', () => {
  // pairs: (p=0.5 vs n=0.5) tie → 0.5; (p=0.5 vs n=0.2) → 1; so (0.5 + 1) / 2
  assert.equal(auc([0.5, 0.5, 0.2], [1, 0, 0]), 0.75);
});

test('AUC is 1 for a perfect ranking, 0 for a reversed one, NaN with one class only', () => {
  assert.equal(auc([0.1, 0.2, 0.9], [0, 0, 1]), 1);
  assert.equal(auc([0.9, 0.2, 0.1], [0, 0, 1]), 0);
  assert.ok(Number.isNaN(auc([0.3, 0.4], [1, 1])));
});

test('log-loss of the scikit-learn example is 0.21616…', () => {
  // log_loss(["spam","ham","ham","spam"], [[.1,.9],[.9,.1],[.8,.2],[.35,.65]]) = 0.21616187468057912
  const ll = logLoss([0.9, 0.1, 0.2, 0.65], [1, 0, 0, 1]);
  assert.ok(Math.abs(ll - 0.21616187468057912) < 1e-12, String(ll));
});

test('log-loss clips probabilities so a confident mistake is finite', () => {
  const ll = logLoss([0], [1]);
  assert.ok(Math.abs(ll - -Math.log(1e-7)) < 1e-9);
});

test('ROC curve starts at (0,0), ends at (1,1) and never decreases', () => {
  const pts = rocCurve([0.1, 0.4, 0.35, 0.8, 0.6], [0, 0, 1, 1, 0]);
  assert.deepEqual(pts[0], [0, 0]);
  assert.deepEqual(pts.at(-1), [1, 1]);
  for (let i = 1; i < pts.length; i++) {
    assert.ok(pts[i]![0] >= pts[i - 1]![0] && pts[i]![1] >= pts[i - 1]![1]);
  }
});

test('calibration bins hold equal counts and report mean prediction and observed rate', () => {
  const bins = calibration([0.1, 0.2, 0.7, 0.9], [0, 1, 1, 1], 2);
  assert.deepEqual(
    bins.map((b) => b.count),
    [2, 2],
  );
  assert.ok(Math.abs(bins[0]!.predicted - 0.15) < 1e-12 && bins[0]!.observed === 0.5);
  assert.ok(Math.abs(bins[1]!.predicted - 0.8) < 1e-12 && bins[1]!.observed === 1);
});
