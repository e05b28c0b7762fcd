import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ClickWorld,
  DEFAULT_CLICK_MODEL,
  sampleClickLog,
  sampleSequences,
} from '../../../src/training/data/click-model.ts';
import { Prng } from '../../../src/training/data/prng.ts';
import { auc } from '../../../src/training/eval/metrics.ts';

const small = { ...DEFAULT_CLICK_MODEL, vocabSize: 50, historyLength: 8, users: 100, topics: 4 };

function make(seed: number, rows = 2000) {
  const rng = new Prng(seed);
  const world = new ClickWorld(small, rng);
  return { world, log: sampleClickLog(world, rows, rng) };
}

test('the PRNG gives the same stream for a seed and a different one for another seed', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 5 }, () => c.next()),
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('a seed fixes the whole synthetic log; another seed changes it', () => {
  const a = make(7).log;
  const b = make(7).log;
  const c = make(8).log;
  assert.deepEqual(a.history, b.history);
  assert.deepEqual(a.candidate, b.candidate);
  assert.deepEqual(a.clicked, b.clicked);
  assert.deepEqual(a.trueProb, b.trueProb);
  assert.notDeepEqual(a.history, c.history);
});

test('histories are left-padded with 0 and hold item ids 1..V-1, newest in the last column', () => {
  const { log } = make(1);
  const L = log.historyLength;
  for (let r = 0; r < log.rows; r++) {
    const h = log.history.subarray(r * L, (r + 1) * L);
    const first = h.findIndex((id) => id !== 0);
    assert.ok(first >= 0 && first <= L - small.minHistory, `row ${r} has ${L - first} items`);
    for (let j = first; j < L; j++) assert.ok(h[j]! >= 1 && h[j]! < small.vocabSize);
    assert.ok(log.candidate[r]! >= 1 && log.candidate[r]! < small.vocabSize);
  }
});

test('the true probability is sigmoid(a·s·t(c) + β·[c follows the last click] + pop(c) + bias) as documented', () => {
  const { world, log } = make(3, 300);
  const { historyLength: L, topics: K, recencyDecay: g, successors: S } = small;
  for (let r = 0; r < log.rows; r++) {
    const h = log.history.subarray(r * L, (r + 1) * L);
    const c = log.candidate[r]!;
    const s = new Array<number>(K).fill(0);
    let total = 0;
    for (let j = 0; j < L; j++) {
      if (h[j] === 0) continue;
      const w = g ** (L - 1 - j);
      total += w;
      for (let k = 0; k < K; k++) s[k]! += w * world.topicVector[h[j]! * K + k]!;
    }
    let aff = 0;
    for (let k = 0; k < K; k++) aff += (s[k]! / total) * world.topicVector[c * K + k]!;
    const last = h[L - 1]!;
    const follows = Array.from(world.successor.subarray(last * S, last * S + S)).includes(c) ? 1 : 0;
    const z =
      small.affinityWeight * aff + small.transitionWeight * follows + world.popularity[c]! + small.bias;
    assert.ok(Math.abs(log.trueProb![r]! - 1 / (1 + Math.exp(-z))) < 1e-6, `row ${r}`);
  }
});

test('clicks are drawn from the true probability: the click rate matches its mean within 4 standard errors', () => {
  const { log } = make(5, 20000);
  let clicks = 0;
  let p = 0;
  let v = 0;
  for (let r = 0; r < log.rows; r++) {
    clicks += log.clicked[r]!;
    p += log.trueProb![r]!;
    v += log.trueProb![r]! * (1 - log.trueProb![r]!);
  }
  assert.ok(Math.abs(clicks - p) < 4 * Math.sqrt(v), `${clicks} clicks, expected ${p.toFixed(0)}`);
  assert.ok(auc(log.trueProb!, log.clicked) > 0.7, 'the Bayes AUC of the default world is informative');
});

test('order matters: reversing a history changes the true logit while its bag of items stays the same', () => {
  const { world, log } = make(9, 200);
  const L = small.historyLength;
  let changed = 0;
  for (let r = 0; r < log.rows; r++) {
    const h = log.history.slice(r * L, (r + 1) * L);
    const first = h.findIndex((id) => id !== 0);
    const rev = h.slice();
    rev.set(h.slice(first).reverse(), first);
    if (
      Math.abs(world.trueLogit(h, 0, log.candidate[r]!) - world.trueLogit(rev, 0, log.candidate[r]!)) > 1e-6
    ) {
      changed++;
    }
  }
  // Rows whose clicks all share one topic and whose candidate follows no click do not depend on order; in the
  // default world about half of the rows do.
  assert.ok(changed > log.rows * 0.3, `${changed} of ${log.rows} rows depend on order`);
});

test('the next click follows one of the previous item’s successors about transitionProb of the time', () => {
  const rng = new Prng(11);
  const world = new ClickWorld(small, rng);
  const seqs = sampleSequences(world, 3000, rng);
  const S = small.successors;
  let steps = 0;
  let follows = 0;
  for (let i = 0; i + 1 < seqs.length; i++) {
    if ((i + 1) % (small.historyLength + 1) === 0 || seqs[i] === 0) continue;
    steps++;
    if (Array.from(world.successor.subarray(seqs[i]! * S, seqs[i]! * S + S)).includes(seqs[i + 1]!))
      follows++;
  }
  // transitions plus chance hits from topic draws: at least transitionProb, not far above
  assert.ok(follows / steps > small.transitionProb - 0.03 && follows / steps < small.transitionProb + 0.1);
});
