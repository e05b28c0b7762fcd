import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeGraphDef } from '../../src/graph/proto/decode.ts';
import { tensorProtoToValues } from '../../src/graph/tensor/tensor-values.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

// docs/api.md's CTR example answer is the bundled student's (models/ctr-student/1), recomputed here from the
// frozen graph's stored weights in plain float64 JavaScript: the pooled student of src/training/model/student.ts
// written out by hand (masked mean, [h, c, h⊙c, |h−c|], the newest-item parts when the graph has them, ReLU MLP,
// sigmoid), without tfjs, the graph executor or its rewrites.

type Weights = Map<string, { shape: number[]; values: Float64Array }>;

function studentWeights(): Weights {
  const path = join(REPO_ROOT, 'models/ctr-student/1/frozen_graph.pb');
  const graph = decodeGraphDef(readFileSync(path), path);
  const out: Weights = new Map();
  for (const n of graph.node) {
    const t = n.attr.value?.tensor;
    if (n.op !== 'Const' || !t || !n.name.startsWith('student/')) continue;
    const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size));
    if (shape.length === 0 && !n.name.endsWith('/weight')) continue;
    out.set(n.name, {
      shape,
      values: Float64Array.from(tensorProtoToValues(t, n.name).values as Float32Array),
    });
  }
  return out;
}

const row = (w: Weights, name: string, i: number) => {
  const t = w.get(name)!;
  const d = t.shape[1]!;
  return Array.from(t.values.subarray(i * d, (i + 1) * d));
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** x [n] · kernel [n, m] (+ bias [m]). */
function affine(w: Weights, x: number[], kernel: string, bias?: string): number[] {
  const k = w.get(kernel)!;
  const m = k.shape[1]!;
  const out = bias ? Array.from(w.get(bias)!.values) : new Array<number>(m).fill(0);
  x.forEach((xi, i) => {
    for (let j = 0; j < m; j++) out[j]! += xi * k.values[i * m + j]!;
  });
  return out;
}

function studentCtr(w: Weights, history: number[], candidate: number): number {
  const items = history.filter((id) => id !== 0);
  const E = 'student/embeddings/item';
  const rows = items.map((id) => row(w, E, id));
  const h = rows[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
  const c = row(w, E, candidate);
  const features = [...h, ...c, ...h.map((x, j) => x * c[j]!), ...h.map((x, j) => Math.abs(x - c[j]!))];
  let x = affine(w, features, 'student/mlp_0/kernel', 'student/mlp_0/bias');
  const last = items[items.length - 1]!;
  if (w.has('student/mlp_0/last/kernel')) {
    const l = row(w, E, last);
    const a = affine(w, l, 'student/mlp_0/last/kernel');
    const b = affine(
      w,
      l.map((v, j) => v * c[j]!),
      'student/mlp_0/last_candidate/kernel',
    );
    x = x.map((v, j) => v + a[j]! + b[j]!);
  }
  let t = 0;
  if (w.has('student/transition/from')) {
    t = dot(row(w, 'student/transition/from', last), row(w, 'student/transition/to', candidate));
    const k = w.get('student/mlp_0/transition/kernel')!.values;
    x = x.map((v, j) => v + t * k[j]!);
  }
  x = x.map((v) => Math.max(0, v));
  for (let i = 1; w.has(`student/mlp_${i}/kernel`); i++)
    x = affine(w, x, `student/mlp_${i}/kernel`, `student/mlp_${i}/bias`).map((v) => Math.max(0, v));
  let logit = affine(w, x, 'student/logit/kernel', 'student/logit/bias')[0]!;
  if (w.has('student/transition/weight')) logit += t * w.get('student/transition/weight')!.values[0]!;
  return 1 / (1 + Math.exp(-logit));
}

test("docs/api.md's CTR example scores are the bundled student's, computed from its stored weights", () => {
  const api = readFileSync(join(REPO_ROOT, 'docs/api.md'), 'utf8');
  const request = /"history": \[([\d, ]+)\], "candidates": \[([\d, ]+)\]/.exec(api);
  const answer = /"scores":\[([\d.,]+)\]/.exec(api);
  assert.ok(request && answer, 'docs/api.md has a CTR example request and answer');
  const ids = (s: string) => s.split(',').map(Number);
  const w = studentWeights();
  const want = ids(request[2]!).map((cand) => studentCtr(w, ids(request[1]!), cand));
  const got = ids(answer[1]!);
  assert.equal(got.length, want.length);
  // float32 serving against float64 here: 1e-6 on a probability
  got.forEach((g, i) =>
    assert.ok(Math.abs(g - want[i]!) < 1e-6, `candidate ${i}: docs ${g}, weights ${want[i]}`),
  );
});
