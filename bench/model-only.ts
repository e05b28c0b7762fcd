import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../src/errors/registry.ts';
import { loadModel } from '../src/graph/load-model.ts';
import { loadCtrModel, sharedHistorySpec } from '../src/ctr/shared-history-variant.ts';
import type { LoadedModel } from '../src/graph/model.ts';
import type { BenchReference } from './reference.ts';
import { median, timeLoop } from './timing.ts';

export type ModelRow = {
  readonly variant: string;
  readonly batch: string;
  /** Predictions per second of wall time (median over repeats). */
  readonly predPerSec: number;
  readonly msPerCall: number;
  /** Predictions per second of this process's CPU time: steadier when other processes share the cores. */
  readonly predPerCpuSec: number;
};

export type ModelOnlyOptions = {
  readonly repeats: number;
  readonly minMs: number;
  readonly batches: readonly number[];
};

const TOLERANCE = 1e-5;

/**
 * Model-only throughput of the reference student through the normal frozen-graph path (loadModel of the .pb
 * written by model-repo.ts), with and without the load-time rewrites, in one process and interleaved so that
 * load from other processes hits both alike. Every variant's predictions are first checked against
 * expected.f32 (CTR_ERR_BENCH_CHECK_FAILED otherwise, before any timing). Also times the CTR-shaped graph
 * (one user's history shared by 1000 candidates) against the per-row graph on the same request.
 */
export async function runModelOnly(
  ref: BenchReference,
  modelPath: string,
  opts: ModelOnlyOptions,
): Promise<ModelRow[]> {
  const models: Record<string, LoadedModel> = {
    unrewritten: await loadModel(modelPath, { rewrite: false }),
    rewritten: await loadCtrModel(modelPath, { rewrite: true }),
  };
  try {
    for (const [name, model] of Object.entries(models)) await checkReference(name, model, ref);
    const samples = new Map<string, { batch: number; wall: number[]; cpu: number[] }>();
    for (let rep = 0; rep < opts.repeats; rep++) {
      for (const batch of opts.batches) {
        const inputs = referenceInputs(ref, batch);
        try {
          for (const [name, model] of Object.entries(models)) {
            const t = await timeLoop(() => predictOnce(model, inputs), {
              minMs: opts.minMs,
              minCalls: 3,
              warmup: rep === 0 ? 2 : 1,
            });
            const key = `${name}@${batch}`;
            const s = samples.get(key) ?? { batch, wall: [], cpu: [] };
            s.wall.push(t.wallMs / t.calls);
            s.cpu.push(t.cpuMs / t.calls);
            samples.set(key, s);
          }
        } finally {
          tf.dispose(Object.values(inputs));
        }
      }
    }
    const rows: ModelRow[] = [...samples].map(([key, s]) =>
      row(key.split('@')[0], String(s.batch), s.batch, s),
    );
    rows.push(...(await ctrShaped(ref, models.rewritten, opts)));
    return rows;
  } finally {
    for (const m of Object.values(models)) m.dispose();
  }
}

function row(
  variant: string,
  batch: string,
  predictions: number,
  s: { wall: number[]; cpu: number[] },
): ModelRow {
  const ms = median(s.wall);
  return {
    variant,
    batch,
    predPerSec: (predictions * 1000) / ms,
    msPerCall: ms,
    predPerCpuSec: (predictions * 1000) / median(s.cpu),
  };
}

async function checkReference(name: string, model: LoadedModel, ref: BenchReference): Promise<void> {
  const out = await model.predictHost({
    history: { dtype: 'DT_INT32', shape: [ref.rows, ref.historyLength], values: ref.history },
    candidate: { dtype: 'DT_INT32', shape: [ref.rows], values: ref.candidate },
  });
  const ctr = out.ctr.values as Float32Array;
  let worst = 0;
  for (let i = 0; i < ref.rows; i++) worst = Math.max(worst, Math.abs(ctr[i] - ref.expected[i]));
  if (!(worst <= TOLERANCE) || ctr.length !== ref.rows) {
    throw new CtrError(
      'CTR_ERR_BENCH_CHECK_FAILED',
      `${name} graph: predictions differ from expected.f32 by up to ${worst} (allowed ${TOLERANCE}); no timings taken`,
    );
  }
}

function referenceInputs(ref: BenchReference, batch: number): Record<string, tf.Tensor> {
  const L = ref.historyLength;
  const rows = Array.from({ length: batch }, (_, i) => i % ref.rows);
  const history = new Int32Array(batch * L);
  rows.forEach((r, i) => history.set(ref.history.subarray(r * L, (r + 1) * L), i * L));
  return {
    history: tf.tensor2d(history, [batch, L], 'int32'),
    candidate: tf.tensor1d(
      Int32Array.from(rows, (r) => ref.candidate[r]),
      'int32',
    ),
  };
}

async function predictOnce(model: LoadedModel, inputs: Record<string, tf.Tensor>): Promise<void> {
  const out = await model.predict(inputs);
  try {
    await out.ctr.data();
  } finally {
    tf.dispose(Object.values(out));
  }
}

/**
 * One user, 1000 candidates: the per-row graph (history repeated) against the shared-history variant that
 * loadCtrModel compiled beside it (src/ctr/shared-history-variant.ts, what /v1/ctr:predict runs).
 */
async function ctrShaped(
  ref: BenchReference,
  perRow: LoadedModel,
  opts: ModelOnlyOptions,
): Promise<ModelRow[]> {
  const variant = sharedHistorySpec(perRow.info, perRow.info.defaultSignature);
  if (!variant)
    throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', 'the reference student did not share its history');
  const N = 1000;
  const L = ref.historyLength;
  const repeated = new Int32Array(N * L);
  for (let i = 0; i < N; i++) repeated.set(ref.history.subarray(0, L), i * L);
  const candidate = tf.tensor1d(ref.candidate.subarray(0, N), 'int32');
  const perRowInputs = { history: tf.tensor2d(repeated, [N, L], 'int32'), candidate };
  const sharedFeeds = {
    history: tf.tensor2d(ref.history.subarray(0, L), [1, L], 'int32'),
    candidate,
    user_index: tf.zeros([N], 'int32'),
  };
  // The same 1000 rows as two users of 500 (both with user 0's history): the shared-history graph without the
  // one-user fold (fold-user-dense.ts), which only a one-user call takes.
  const twoUsers = {
    history: tf.tensor2d(
      Int32Array.from([...ref.history.subarray(0, L), ...ref.history.subarray(0, L)]),
      [2, L],
      'int32',
    ),
    candidate,
    user_index: tf.tensor1d(
      Int32Array.from({ length: N }, (_, i) => (i < N / 2 ? 0 : 1)),
      'int32',
    ),
  };
  const runShared = async (feeds = sharedFeeds) => {
    const out = await perRow.predict(feeds, variant.name);
    try {
      return (await out.ctr!.data()) as Float32Array;
    } finally {
      tf.dispose(Object.values(out));
    }
  };
  try {
    const want = (await perRow.predict(perRowInputs)) as Record<string, tf.Tensor>;
    const wantValues = (await want.ctr.data()) as Float32Array;
    tf.dispose(Object.values(want));
    const got = await runShared();
    const unfolded = await runShared(twoUsers);
    let worst = 0;
    for (let i = 0; i < N; i++) {
      worst = Math.max(worst, Math.abs(got[i] - wantValues[i]), Math.abs(unfolded[i] - wantValues[i]));
    }
    if (!(worst <= TOLERANCE)) {
      throw new CtrError(
        'CTR_ERR_BENCH_CHECK_FAILED',
        `shared-history graph differs by ${worst}; no timings taken`,
      );
    }
    const perRowS = { wall: [] as number[], cpu: [] as number[] };
    const sharedS = { wall: [] as number[], cpu: [] as number[] };
    const twoS = { wall: [] as number[], cpu: [] as number[] };
    for (let rep = 0; rep < opts.repeats; rep++) {
      const a = await timeLoop(() => predictOnce(perRow, perRowInputs), {
        minMs: opts.minMs,
        minCalls: 3,
        warmup: 1,
      });
      const b = await timeLoop(async () => void (await runShared()), {
        minMs: opts.minMs,
        minCalls: 3,
        warmup: 1,
      });
      const c = await timeLoop(async () => void (await runShared(twoUsers)), {
        minMs: opts.minMs,
        minCalls: 3,
        warmup: 1,
      });
      twoS.wall.push(c.wallMs / c.calls);
      twoS.cpu.push(c.cpuMs / c.calls);
      perRowS.wall.push(a.wallMs / a.calls);
      perRowS.cpu.push(a.cpuMs / a.calls);
      sharedS.wall.push(b.wallMs / b.calls);
      sharedS.cpu.push(b.cpuMs / b.calls);
    }
    return [
      row('rewritten, per row', '1 user × 1000', N, perRowS),
      row('rewritten, shared history', '2 users × 500', N, twoS),
      row('rewritten, shared history', '1 user × 1000', N, sharedS),
    ];
  } finally {
    tf.dispose([perRowInputs.history, candidate, sharedFeeds.history, sharedFeeds.user_index]);
    tf.dispose([twoUsers.history, twoUsers.user_index]);
  }
}
