import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { padHistory } from '../../src/ctr/ctr-batch.ts';
import { EVAL_SEED, leaveLastOut } from '../../src/training/data/leave-last-out.ts';
import { PopularitySampler } from '../../src/training/data/popularity-sampler.ts';
import { parseSequenceLines, readSequences, userItems } from '../../src/training/data/sequence-reader.ts';

const BEAUTY = new URL('../../../shared/datasets/amazon-beauty.txt', import.meta.url).pathname;
const dataFormat = (where: string) => (e: Error & { code?: string }) =>
  e.code === 'CTR_ERR_DATA_FORMAT' && e.message.includes(where);

test('sequences read as `user item` in file order, or `user item timestamp` in time order', async () => {
  const plain = await parseSequenceLines(['1 5', '1 3', '', '2 7', '1 9', '3 5'], 'a.txt');
  assert.equal(plain.users, 3);
  assert.deepEqual(Array.from(plain.userIds), [1, 2, 3]);
  assert.deepEqual(Array.from(userItems(plain, 0)), [5, 3, 9]);
  assert.deepEqual(Array.from(userItems(plain, 1)), [7]);
  assert.equal(plain.maxItem, 9);
  const timed = await parseSequenceLines(['4 10 300', '4 11 100', '4 12 200', '4 13 100'], 'b.txt');
  // time order; the two items at t=100 keep their file order
  assert.deepEqual(Array.from(userItems(timed, 0)), [11, 13, 12, 10]);
  const slice = await parseSequenceLines(['1 5', '2 6', '2 7', '3 8'], 'c.txt', { maxUsers: 2 });
  assert.equal(slice.users, 2);
  assert.deepEqual(Array.from(slice.items), [5, 6, 7]);
});

test('malformed sequence files fail with CTR_ERR_DATA_FORMAT naming the file and line', async () => {
  await assert.rejects(parseSequenceLines(['1 2 3 4'], 'x.txt'), dataFormat('x.txt:1'));
  await assert.rejects(parseSequenceLines(['1 2', '1 2 3'], 'x.txt'), dataFormat('x.txt:2'));
  await assert.rejects(parseSequenceLines(['1 2', '1 abc'], 'x.txt'), dataFormat('x.txt:2: item id "abc"'));
  await assert.rejects(parseSequenceLines(['1 0'], 'x.txt'), dataFormat('x.txt:1: item id 0'));
  await assert.rejects(parseSequenceLines(['-1 4'], 'x.txt'), dataFormat('x.txt:1: user id'));
  await assert.rejects(parseSequenceLines(['1 2 soon'], 'x.txt'), dataFormat('x.txt:1: timestamp'));
  await assert.rejects(parseSequenceLines(['', ' '], 'x.txt'), dataFormat('no interactions'));
  await assert.rejects(readSequences('/nonexistent/seq.txt'), dataFormat('cannot read /nonexistent/seq.txt'));
  const dir = mkdtempSync(join(tmpdir(), 'seq-'));
  writeFileSync(join(dir, 'bad.txt'), '1 2\n1 3\n2 4.5\n');
  await assert.rejects(readSequences(join(dir, 'bad.txt')), dataFormat('bad.txt:3'));
});

/** Exact inclusion probabilities of successive sampling without replacement (enumerated, no sampler code). */
function inclusion(weights: Map<number, number>, n: number): Map<number, number> {
  const out = new Map<number, number>([...weights.keys()].map((k) => [k, 0]));
  const walk = (left: Map<number, number>, depth: number, prob: number) => {
    if (depth === n) return;
    const total = [...left.values()].reduce((a, b) => a + b, 0);
    for (const [id, w] of left) {
      const p = (prob * w) / total;
      out.set(id, out.get(id)! + p);
      const rest = new Map(left);
      rest.delete(id);
      walk(rest, depth + 1, p);
    }
  };
  walk(weights, 0, 1);
  return out;
}

test('negatives: never seen, never repeated, popularity-weighted without replacement (vs exact enumeration)', () => {
  const counts = [0, 9, 1, 4, 2, 7, 3, 5];
  const seen = new Set([2, 5]);
  const n = 3;
  const sampler = new PopularitySampler(counts, 7);
  const trials = 20000;
  const freq = new Map<number, number>();
  for (let t = 0; t < trials; t++) {
    const got = Array.from(sampler.sample(seen, n));
    assert.equal(got.length, n);
    assert.equal(new Set(got).size, n, `duplicates in ${got}`);
    for (const id of got) {
      assert.ok(!seen.has(id) && id !== 0, `seen or padding item ${id}`);
      freq.set(id, (freq.get(id) ?? 0) + 1);
    }
  }
  const unseen = new Map(counts.map((w, id) => [id, w] as const).filter(([id, w]) => w > 0 && !seen.has(id)));
  for (const [id, p] of inclusion(unseen, n)) {
    const observed = (freq.get(id) ?? 0) / trials;
    assert.ok(
      Math.abs(observed - p) < 0.015,
      `item ${id}: observed ${observed.toFixed(4)}, exact ${p.toFixed(4)}`,
    );
  }
  assert.throws(() => sampler.sample(new Set([1, 2, 3, 4, 5]), 3), dataFormat('cannot draw 3 negatives'));
});

test('leave-last-out: last item is the test target, second to last the validation target, rest trains', async () => {
  const lines = [
    '1 1',
    '1 2',
    '1 3',
    '1 4',
    '1 5',
    '2 6',
    '2 7',
    '3 8',
    '3 9',
    '3 10',
    '4 2',
    '4 6',
    '4 8',
    '4 11',
  ];
  for (let i = 12; i <= 40; i++) lines.push(`5 ${i}`); // a long user, and enough items to draw negatives from
  const seqs = await parseSequenceLines(lines, 'p.txt');
  const d = leaveLastOut(seqs, { historyLength: 3, negatives: 5, trainNegatives: 2, seed: 1 });
  assert.equal(d.test.users, 4); // user 2 has two items: training only
  const users = [0, 2, 3, 4].map((u) => Array.from(userItems(seqs, u)));
  users.forEach((items, r) => {
    const C = d.test.candidatesPerUser;
    assert.equal(d.test.candidates[r * C], items.at(-1));
    assert.equal(d.valid.candidates[r * C], items.at(-2));
    assert.deepEqual(
      Array.from(d.test.history.subarray(r * 3, r * 3 + 3)),
      Array.from(padHistory(items.slice(0, -1), 3)),
    );
    assert.deepEqual(
      Array.from(d.valid.history.subarray(r * 3, r * 3 + 3)),
      Array.from(padHistory(items.slice(0, -2), 3)),
    );
    const negatives = Array.from(d.test.candidates.subarray(r * C + 1, (r + 1) * C));
    assert.equal(new Set(negatives).size, 5);
    for (const c of negatives) assert.ok(!items.includes(c), `negative ${c} was seen by user ${r}`);
  });
  // training rows: every training item after a user's first, each with 2 negatives
  const positives = [3 - 1, 2 - 1, 1 - 1, 2 - 1, 27 - 1].reduce((a, b) => a + b, 0);
  assert.equal(d.train.rows, positives * 3);
  assert.equal(d.train.candidate[0], 2);
  assert.deepEqual(Array.from(d.train.clicked.subarray(0, 3)), [1, 0, 0]);
  // pretraining rows: each training part cut into windows of historyLength + 1 items from its end (BERT4Rec's
  // gen_data_fin.py), left-padded; a part of one item gives none
  const windows = Array.from({ length: d.sequences.length / 4 }, (_, r) =>
    Array.from(d.sequences.subarray(r * 4, r * 4 + 4)),
  );
  const long = Array.from({ length: 27 }, (_, i) => 12 + i); // user 5's training part: 12..38
  assert.deepEqual(windows, [
    [0, 1, 2, 3],
    [0, 0, 6, 7],
    [0, 0, 2, 6],
    ...[23, 19, 15, 11, 7, 3].map((from) => long.slice(from, from + 4)),
    [0, 12, 13, 14],
  ]);
  // the popularity baseline's counts leave the validation and test items out
  assert.equal(d.trainCounts[5], 0);
  assert.equal(d.counts[5], 1);
  // evaluation negatives come from the fixed seed: the same for any training seed
  const again = leaveLastOut(seqs, { historyLength: 3, negatives: 5, trainNegatives: 2, seed: 99 });
  assert.deepEqual(again.test.candidates, d.test.candidates);
  assert.equal(EVAL_SEED, 12345);
});

test('amazon-beauty: the whole file streams in with the README’s counts; a slice keeps file order', async (t) => {
  if (!existsSync(BEAUTY)) return t.skip(`../shared/datasets/amazon-beauty.txt is absent`);
  const all = await readSequences(BEAUTY);
  assert.equal(all.users, 40226);
  assert.equal(all.maxItem, 54542);
  assert.equal(all.items.length, 353962);
  const slice = await readSequences(BEAUTY, { maxUsers: 50 });
  const head = readFileSync(BEAUTY, 'utf8').split('\n').slice(0, slice.items.length);
  assert.deepEqual(
    Array.from(slice.items),
    head.map((l) => Number(l.split(' ')[1])),
  );
});
