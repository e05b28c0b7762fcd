import type { ParamSpec } from './params.ts';
import { type Ops, dense } from './ops.ts';

/**
 * The student (Tang et al. 2019, adapted to CTR): encode the history to h and the candidate to c with one item
 * embedding table, feed [h, c, h⊙c, |h−c|] to an MLP, output a logit. Two encoders:
 * - 'pooled' (default, fast): h = masked mean of the history's embeddings (padding excluded);
 * - 'gru': a GRU over the history, oldest to newest, that skips padding steps (Tang used a BiLSTM; a GRU keeps
 *   the same idea — an order-aware recurrent encoder — with fewer ops).
 * Written against `Ops` so the same code trains (tfjs) and exports (TensorFlow graph).
 */
export type StudentConfig = {
  readonly kind: 'pooled' | 'gru';
  readonly vocabSize: number;
  readonly historyLength: number;
  readonly dim: number;
  readonly hidden: readonly number[];
};

export function studentSpecs(c: StudentConfig, prefix = 'student'): ParamSpec[] {
  const d = c.dim;
  const specs: ParamSpec[] = [
    { name: `${prefix}/embeddings/item`, shape: [c.vocabSize, d], init: 'normal', scale: 0.05 },
  ];
  if (c.kind === 'gru') {
    for (const g of ['update', 'reset', 'candidate']) {
      specs.push(
        { name: `${prefix}/gru/${g}/input_kernel`, shape: [d, d], init: 'normal', scale: Math.sqrt(1 / d) },
        {
          name: `${prefix}/gru/${g}/recurrent_kernel`,
          shape: [d, d],
          init: 'normal',
          scale: Math.sqrt(1 / d),
        },
        { name: `${prefix}/gru/${g}/bias`, shape: [d], init: 'zeros' },
      );
    }
  }
  let fanIn = 4 * d;
  c.hidden.forEach((units, i) => {
    specs.push(
      {
        name: `${prefix}/mlp_${i}/kernel`,
        shape: [fanIn, units],
        init: 'normal',
        scale: Math.sqrt(2 / fanIn),
      },
      { name: `${prefix}/mlp_${i}/bias`, shape: [units], init: 'zeros' },
    );
    fanIn = units;
  });
  specs.push(
    { name: `${prefix}/logit/kernel`, shape: [fanIn, 1], init: 'normal', scale: Math.sqrt(1 / fanIn) },
    { name: `${prefix}/logit/bias`, shape: [1], init: 'zeros' },
  );
  return specs;
}

function pooled<T>(o: Ops<T>, table: T, history: T, mask: T): T {
  const sum = o.sum(o.mul(o.gather(table, history), o.expandDims(mask, 2)), 1, false);
  return o.div(sum, o.maximum(o.sum(mask, 1, true), o.scalar(1)));
}

function gru<T>(o: Ops<T>, w: Record<string, T>, p: string, c: StudentConfig, history: T, mask: T): T {
  const x = o.gather(w[`${p}/embeddings/item`]!, history);
  const gate = (g: string, xt: T, h: T) =>
    o.add(
      o.add(
        o.matMul(xt, w[`${p}/gru/${g}/input_kernel`]!),
        o.matMul(h, w[`${p}/gru/${g}/recurrent_kernel`]!),
      ),
      w[`${p}/gru/${g}/bias`]!,
    );
  // h0 = 0 shaped [B, d] without a Shape op.
  let h = o.mul(o.reshape(o.gather(x, o.int32([0]), 1), [-1, c.dim]), o.scalar(0));
  for (let t = 0; t < c.historyLength; t++) {
    const xt = o.reshape(o.gather(x, o.int32([t]), 1), [-1, c.dim]);
    const m = o.gather(mask, o.int32([t]), 1);
    const z = o.sigmoid(gate('update', xt, h));
    const r = o.sigmoid(gate('reset', xt, h));
    const n = o.tanh(
      o.add(
        o.add(
          o.matMul(xt, w[`${p}/gru/candidate/input_kernel`]!),
          o.mul(r, o.matMul(h, w[`${p}/gru/candidate/recurrent_kernel`]!)),
        ),
        w[`${p}/gru/candidate/bias`]!,
      ),
    );
    const next = o.add(o.mul(o.sub(o.scalar(1), z), n), o.mul(z, h));
    h = o.add(o.mul(m, next), o.mul(o.sub(o.scalar(1), m), h));
  }
  return h;
}

/** history [B, L] int32, candidate [B] int32 → logit [B], ctr [B]. */
export function studentForward<T>(
  o: Ops<T>,
  w: Record<string, T>,
  c: StudentConfig,
  history: T,
  candidate: T,
  prefix = 'student',
): { logit: T; ctr: T } {
  const table = w[`${prefix}/embeddings/item`]!;
  const mask = o.nonPaddingMask(history);
  const h = c.kind === 'gru' ? gru(o, w, prefix, c, history, mask) : pooled(o, table, history, mask);
  const cand = o.gather(table, candidate);
  let x = o.concat([h, cand, o.mul(h, cand), o.abs(o.sub(h, cand))], 1);
  c.hidden.forEach((_, i) => {
    x = o.relu(dense(o, x, w[`${prefix}/mlp_${i}/kernel`]!, w[`${prefix}/mlp_${i}/bias`]!));
  });
  const logit = o.named(
    o.reshape(dense(o, x, w[`${prefix}/logit/kernel`]!, w[`${prefix}/logit/bias`]!), [-1]),
    `${prefix}/logit`,
  );
  return { logit, ctr: o.named(o.sigmoid(logit), `${prefix}/ctr`) };
}
