import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AgreementTracker, agreementReport } from '../../src/shadow/agreement.ts';
import { averageRanks, spearman, topKOverlap } from '../../src/shadow/rank-stats.ts';
import { assertClose } from '../helpers/fixtures.ts';
import { rng } from '../helpers/random.ts';

// Straightforward reference computations, written independently of src/shadow (sums, O(n²) ranks, full sorts).
const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length;
function refPearson(x: number[], y: number[]): number {
  const n = x.length;
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0; // prettier-ignore
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    syy += y[i] * y[i];
    sxy += x[i] * y[i];
  }
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}
function refRanks(x: number[]): number[] {
  return x.map((v) => {
    const less = x.filter((w) => w < v).length;
    const equal = x.filter((w) => w === v).length;
    return less + (equal + 1) / 2;
  });
}
const refSpearman = (x: number[], y: number[]): number => refPearson(refRanks(x), refRanks(y));
function refKl(t: number[], s: number[]): number {
  const c = (p: number): number => Math.min(1 - 1e-7, Math.max(1e-7, p));
  return mean(
    t.map((ti, i) => c(ti) * Math.log(c(ti) / c(s[i])) + (1 - c(ti)) * Math.log((1 - c(ti)) / (1 - c(s[i])))),
  );
}
function refTopK(s: number[], t: number[], k: number): number {
  const kk = Math.min(k, s.length);
  const top = (x: number[]): number[] =>
    x
      .map((v, i) => [v, i])
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, kk)
      .map((p) => p[1]);
  const ts = new Set(top(t));
  return top(s).filter((i) => ts.has(i)).length / kk;
}

/** Users with random candidate counts; teacher probabilities, and a student that is the teacher perturbed. */
function traffic(seed: number, users: number, noise: number) {
  const r = rng(seed);
  const offsets = [0];
  const teacher: number[] = [];
  const student: number[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + Math.floor(r() * 30);
    for (let i = 0; i < n; i++) {
      const logit = (r() - 0.5) * 8;
      teacher.push(1 / (1 + Math.exp(-logit)));
      student.push(1 / (1 + Math.exp(-(logit + (r() - 0.5) * noise))));
    }
    offsets.push(teacher.length);
  }
  return { offsets, teacher, student };
}

function expected(student: number[], teacher: number[], offsets: number[], k: number) {
  const overlaps: number[] = [];
  for (let u = 0; u + 1 < offsets.length; u++) {
    const a = offsets[u];
    const b = offsets[u + 1];
    overlaps.push(refTopK(student.slice(a, b), teacher.slice(a, b), k));
  }
  return {
    mae: mean(student.map((s, i) => Math.abs(s - teacher[i]))),
    kl: refKl(teacher, student),
    pearson: refPearson(student, teacher),
    spearman: refSpearman(student, teacher),
    topk_overlap: mean(overlaps),
    mean_ctr_student: mean(student),
    mean_ctr_teacher: mean(teacher),
  };
}

function assertStats(actual: Record<string, number | null>, want: Record<string, number>, tol = 1e-9): void {
  for (const [key, value] of Object.entries(want)) {
    assert.notEqual(actual[key], null, `${key} is null`);
    assertClose([actual[key] as number], [value], tol, tol);
  }
}

function assertSameStats(actual: object, want: object): void {
  for (const [key, value] of Object.entries(want)) {
    const got = (actual as Record<string, number | null>)[key];
    if (value === null) assert.equal(got, null, key);
    else assertClose([got as number], [value as number], 1e-9, 1e-9);
  }
}

test('a student equal to its teacher shows perfect agreement in every statistic', () => {
  const { offsets, teacher } = traffic(1, 40, 0);
  const tracker = new AgreementTracker({ windowSize: 100, topK: 5 });
  tracker.record(Float32Array.from(teacher), Float32Array.from(teacher), offsets);
  const report = agreementReport([tracker.snapshot()]);
  for (const stats of [report.cumulative, report.window]) {
    assert.equal(stats.mae, 0);
    assert.ok(Math.abs(stats.kl as number) < 1e-12);
    assert.equal(stats.pearson, 1);
    if (stats === report.window) assert.equal(stats.spearman, 1);
    assert.equal(stats.topk_overlap, 1);
    assert.equal(stats.mean_ctr_student, stats.mean_ctr_teacher);
  }
});

test('a perturbed student gets the statistics computed independently from both predictions', () => {
  const { offsets, teacher, student } = traffic(2, 50, 2);
  const tracker = new AgreementTracker({ windowSize: 100_000, topK: 3 });
  tracker.record(student, teacher, offsets);
  const report = agreementReport([tracker.snapshot()]);
  const want = expected(student, teacher, offsets, 3);
  const { spearman: _s, ...cumulativeWant } = want;
  assertStats(report.cumulative, cumulativeWant);
  assert.equal(report.cumulative.spearman, null, 'Spearman is reported over the window only');
  assertStats(report.window, want);
  assert.equal(report.predictions, teacher.length);
  assert.ok((report.window.pearson as number) < 0.999 && (report.window.mae as number) > 0.01);
});

test('the window holds only the last N predictions and the requests they came from', () => {
  const tracker = new AgreementTracker({ windowSize: 25, topK: 2 });
  const all = traffic(3, 12, 3);
  tracker.record(all.student, all.teacher, all.offsets);
  const report = agreementReport([tracker.snapshot()]);
  const n = all.teacher.length;
  const from = n - 25;
  const firstUser = all.offsets.findIndex((o, u) => all.offsets[u + 1] > from);
  const overlaps: number[] = [];
  for (let u = firstUser; u + 1 < all.offsets.length; u++) {
    const a = all.offsets[u];
    const b = all.offsets[u + 1];
    overlaps.push(refTopK(all.student.slice(a, b), all.teacher.slice(a, b), 2));
  }
  const s = all.student.slice(from);
  const t = all.teacher.slice(from);
  assert.equal(report.window.predictions, 25);
  assertStats(report.window, {
    mae: mean(s.map((x, i) => Math.abs(x - t[i]))),
    pearson: refPearson(s, t),
    spearman: refSpearman(s, t),
    topk_overlap: mean(overlaps),
    mean_ctr_student: mean(s),
    mean_ctr_teacher: mean(t),
  });
  assertStats(report.cumulative, { mae: expected(all.student, all.teacher, all.offsets, 2).mae });
});

test('merging workers gives the cumulative stats of one tracker over all their traffic', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 5 }), (seed, workers) => {
      const whole = new AgreementTracker({ windowSize: 10_000, topK: 4 });
      const parts = Array.from(
        { length: workers },
        () => new AgreementTracker({ windowSize: 10_000, topK: 4 }),
      );
      for (let b = 0; b < 8; b++) {
        const batch = traffic(seed + b, 3, 2);
        whole.record(batch.student, batch.teacher, batch.offsets, b);
        parts[b % workers].record(batch.student, batch.teacher, batch.offsets, b);
      }
      const merged = agreementReport(parts.map((p) => p.snapshot()));
      const single = agreementReport([whole.snapshot()]);
      assert.equal(merged.predictions, single.predictions);
      assertSameStats(merged.cumulative, single.cumulative);
      assertSameStats(merged.window, single.window);
    }),
    { numRuns: 30 },
  );
});

test('the merged window keeps the newest predictions across workers by time', () => {
  const a = new AgreementTracker({ windowSize: 4, topK: 1 });
  const b = new AgreementTracker({ windowSize: 4, topK: 1 });
  a.record([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0, 3], 1000);
  b.record([0.9, 0.8], [0.5, 0.5], [0, 2], 2000);
  a.record([0.4], [0.4], [0, 1], 3000);
  const report = agreementReport([a.snapshot(), b.snapshot()]);
  // Newest four: 0.3 (t=1000), 0.9 and 0.8 (t=2000), 0.4 (t=3000).
  assert.equal(report.window.predictions, 4);
  assertClose([report.window.mean_ctr_student as number], [(0.3 + 0.9 + 0.8 + 0.4) / 4]);
  assertClose([report.window.mae as number], [(0 + 0.4 + 0.3 + 0) / 4]);
});

test('streamed moments stay accurate when predictions barely vary around a large mean', () => {
  const tracker = new AgreementTracker({ windowSize: 10, topK: 1 });
  const r = rng(9);
  const s: number[] = [];
  const t: number[] = [];
  for (let b = 0; b < 200; b++) {
    const bs: number[] = [];
    const bt: number[] = [];
    for (let i = 0; i < 50; i++) {
      const x = r() - 0.5;
      bs.push(0.9 + 1e-6 * x);
      bt.push(0.9 + 1e-6 * (x + 0.1 * (r() - 0.5)));
    }
    tracker.record(bs, bt, [0, 50]);
    s.push(...bs);
    t.push(...bt);
  }
  // Reference: two passes over all 10,000 values with centred sums.
  const ms = mean(s);
  const mt = mean(t);
  let sxx = 0, syy = 0, sxy = 0; // prettier-ignore
  for (let i = 0; i < s.length; i++) {
    sxx += (s[i] - ms) ** 2;
    syy += (t[i] - mt) ** 2;
    sxy += (s[i] - ms) * (t[i] - mt);
  }
  const cumulative = agreementReport([tracker.snapshot()]).cumulative;
  assertClose([cumulative.pearson as number], [sxy / Math.sqrt(sxx * syy)], 1e-6, 0);
});

test('ties share their average rank and Spearman matches the O(n²) ranking', () => {
  assert.deepEqual(Array.from(averageRanks([1, 2, 2, 3, 0.5, 2])), [2, 4, 4, 6, 1, 4]);
  const x = [0.1, 0.2, 0.2, 0.5, 0.5, 0.5, 0.9, 0.3];
  const y = [0.3, 0.1, 0.2, 0.2, 0.7, 0.6, 0.9, 0.3];
  assertClose([spearman(x, y) as number], [refSpearman(x, y)], 1e-12, 1e-12);
});

test('top-k overlap uses min(k, candidates) and is null for an empty request', () => {
  assert.equal(topKOverlap([0.9, 0.1], [0.1, 0.9], 10), 1);
  assert.equal(topKOverlap([0.9, 0.1, 0.5], [0.1, 0.9, 0.5], 1), 0);
  assert.equal(topKOverlap([0.9, 0.1, 0.5, 0.2], [0.8, 0.1, 0.2, 0.5], 2), 0.5);
  assert.equal(topKOverlap([], [], 10), null);
});

test('KL clips probabilities so certain disagreement stays finite', () => {
  const tracker = new AgreementTracker({ windowSize: 4 });
  tracker.record([1, 0], [0, 1], [0, 2]);
  const kl = agreementReport([tracker.snapshot()]).cumulative.kl as number;
  const e = 1e-7;
  const one = e * Math.log(e / (1 - e)) + (1 - e) * Math.log((1 - e) / e);
  assertClose([kl], [one], 1e-9);
  assert.ok(Number.isFinite(kl));
});

test('statistics are null, not NaN, before any prediction and for a constant side', () => {
  const tracker = new AgreementTracker({ windowSize: 4 });
  let report = agreementReport([tracker.snapshot()]);
  assert.equal(report.predictions, 0);
  assert.deepEqual(Object.values(report.cumulative), Array(7).fill(null));
  tracker.record([0.5, 0.5], [0.2, 0.7], [0, 2]);
  report = agreementReport([tracker.snapshot()]);
  assert.equal(report.cumulative.pearson, null);
  assert.equal(report.window.spearman, null);
  assertClose([report.cumulative.mae as number], [0.25]);
});

test('the ring buffer window equals the last N predictions for any batch sizes and window size', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1e6 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 6 }),
      (seed, size, batches) => {
        const tracker = new AgreementTracker({ windowSize: size, topK: 3 });
        const s: number[] = [];
        const t: number[] = [];
        const users: { from: number; to: number }[] = [];
        for (let b = 0; b < batches; b++) {
          const batch = traffic(seed + b, 1 + (b % 3), 2);
          tracker.record(batch.student, batch.teacher, batch.offsets);
          for (let u = 0; u + 1 < batch.offsets.length; u++) {
            users.push({ from: s.length + batch.offsets[u], to: s.length + batch.offsets[u + 1] });
          }
          s.push(...batch.student);
          t.push(...batch.teacher);
        }
        const from = Math.max(0, s.length - size);
        const ws = s.slice(from);
        const wt = t.slice(from);
        const inWindow = users.filter((u) => u.to > from);
        const report = agreementReport([tracker.snapshot()]);
        assert.equal(report.window.predictions, ws.length);
        assertClose(
          [report.window.mae as number],
          [mean(ws.map((x, i) => Math.abs(x - wt[i])))],
          1e-9,
          1e-12,
        );
        assertClose([report.window.mean_ctr_teacher as number], [mean(wt)], 1e-9, 1e-12);
        assertClose(
          [report.window.topk_overlap as number],
          [mean(inWindow.map((u) => refTopK(s.slice(u.from, u.to), t.slice(u.from, u.to), 3)))],
          1e-9,
          1e-12,
        );
        if (ws.length > 1 && new Set(ws).size > 1 && new Set(wt).size > 1) {
          assertClose([report.window.spearman as number], [refSpearman(ws, wt)], 1e-9, 1e-9);
        }
      },
    ),
    { numRuns: 50 },
  );
});
