import type { ParamSpec } from './params.ts';
import { type Ops, dense } from './ops.ts';

/**
 * The student (Tang et al. 2019, adapted to CTR): encode the history to h and the candidate to c with one item
 * embedding table, feed [h, c, h⊙c, |h−c|] to an MLP, output a logit. Three encoders:
 * - 'pooled' (default, fast): h = masked mean of the history's embeddings (padding excluded);
 * - 'bilstm' (Tang's): a forward and a backward LSTM (dim/2 units each) over the history that skip padding steps,
 *   each direction's outputs mean-pooled over the non-padding steps, the two concatenated;
 * - 'gru': a GRU over the history, oldest to newest, that skips padding steps; h = its last state.
 * The recurrent encoders run through Ops.scan, so they train as a loop and export as a While loop over the time
 * axis (not unrolled). Written against `Ops` so the same code trains (tfjs) and exports (TensorFlow graph).
 */
export type StudentKind = 'pooled' | 'gru' | 'bilstm';
export type StudentConfig = {
  readonly kind: StudentKind;
  readonly vocabSize: number;
  readonly historyLength: number;
  readonly dim: number;
  readonly hidden: readonly number[];
  /**
   * The newest history item `l` next to the pooled history: [last, last⊙c] join the MLP's features. A mean of
   * embeddings cannot tell which item came last (docs/training.md, "Students").
   */
  readonly lastItem?: boolean;
  /**
   * FPMC's item-to-item term from the newest history item (Rendle et al., WWW 2010), as the teacher's
   * (model/teacher.ts, TeacherConfig.transitions): t = from(l)·to(c) joins the MLP's features and the logit
   * (t · weight), from two [vocabSize, dim] tables.
   */
  readonly transitions?: boolean;
};

export function studentSpecs(c: StudentConfig, prefix = 'student'): ParamSpec[] {
  const d = c.dim;
  const specs: ParamSpec[] = [
    { name: `${prefix}/embeddings/item`, shape: [c.vocabSize, d], init: 'normal', scale: 0.05 },
  ];
  if (c.kind === 'bilstm') {
    const u = d / 2;
    for (const dir of ['forward', 'backward'])
      for (const g of ['input', 'forget', 'cell', 'output']) {
        specs.push(
          {
            name: `${prefix}/bilstm/${dir}/${g}/input_kernel`,
            shape: [d, u],
            init: 'normal',
            scale: Math.sqrt(1 / d),
          },
          {
            name: `${prefix}/bilstm/${dir}/${g}/recurrent_kernel`,
            shape: [u, u],
            init: 'normal',
            scale: Math.sqrt(1 / u),
          },
          // Jozefowicz et al.'s forget-gate bias of 1, as Keras's unit_forget_bias.
          { name: `${prefix}/bilstm/${dir}/${g}/bias`, shape: [u], init: g === 'forget' ? 'ones' : 'zeros' },
        );
      }
  }
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
  if (c.transitions) {
    // As the teacher's: from at 0 (no transition known), to at rows of norm ~1 (or both copied from the teacher).
    specs.push(
      { name: `${prefix}/transition/from`, shape: [c.vocabSize, d], init: 'zeros' },
      { name: `${prefix}/transition/to`, shape: [c.vocabSize, d], init: 'normal', scale: Math.sqrt(1 / d) },
      { name: `${prefix}/transition/weight`, shape: [1], init: 'ones' },
    );
  }
  const layer = (name: string, fanIn: number, units: number, gain: number): ParamSpec[] => [
    { name: `${name}/kernel`, shape: [fanIn, units], init: 'normal', scale: Math.sqrt(gain / fanIn) },
    { name: `${name}/bias`, shape: [units], init: 'zeros' },
  ];
  let fanIn = 4 * d;
  c.hidden.forEach((units, i) => {
    specs.push(...layer(`${prefix}/mlp_${i}`, i === 0 ? inputWidth(c) : fanIn, units, 2));
    fanIn = units;
  });
  specs.push(...layer(`${prefix}/logit`, c.hidden.length ? fanIn : inputWidth(c), 1, 1));
  // The newest-item features' rows of the first layer, kept apart from its kernel (studentForward says why).
  const first = firstLayer(c, prefix);
  const units = c.hidden[0] ?? 1;
  const scale = Math.sqrt((c.hidden.length ? 2 : 1) / inputWidth(c));
  if (c.lastItem)
    for (const part of ['last', 'last_candidate'])
      specs.push({ name: `${first}/${part}/kernel`, shape: [d, units], init: 'normal', scale });
  if (c.transitions)
    specs.push({ name: `${first}/transition/kernel`, shape: [units], init: 'normal', scale });
  return specs.map((s) => (s.name === `${first}/kernel` ? { ...s, shape: [4 * d, units] } : s));
}

/** Width of the first layer's input: [h, c, h⊙c, |h−c|], then [last, last⊙c] and the transition score. */
function inputWidth(c: StudentConfig): number {
  return (c.lastItem ? 6 : 4) * c.dim + (c.transitions ? 1 : 0);
}

const firstLayer = (c: StudentConfig, prefix: string) => `${prefix}/${c.hidden.length ? 'mlp_0' : 'logit'}`;

/**
 * The newest history item's id, [B] int32: the history times a one-hot over positions, summed. Not GatherV2 on
 * axis 1: Mul and Sum with a constant are row-wise, so the serving loader's shared-history rewrite
 * (src/graph/rewrite/share-history.ts) still computes it, and the rows gathered at it, once per user. Being
 * computed, the ids are checked at run time by the loader's index guard (src/graph/guard), as any computed index.
 */
function newestId<T>(o: Ops<T>, history: T, L: number): T {
  return o.sum(o.mul(history, o.int32(Array.from({ length: L }, (_, j) => +(j === L - 1)))), 1, false);
}

function pooled<T>(o: Ops<T>, table: T, history: T, mask: T): T {
  const sum = o.sum(o.mul(o.gather(table, history), o.expandDims(mask, 2)), 1, false);
  return o.div(sum, o.maximum(o.sum(mask, 1, true), o.scalar(1)));
}

const GRU_GATES = ['update', 'reset', 'candidate'] as const;
const LSTM_GATES = ['input', 'forget', 'cell', 'output'] as const;

/** Per-gate [input_kernel, recurrent_kernel, bias] of one recurrent layer, in `gates` order. */
function gateWeights<T>(w: Record<string, T>, scope: string, gates: readonly string[]): T[] {
  return gates.flatMap((g) =>
    ['input_kernel', 'recurrent_kernel', 'bias'].map((k) => w[`${scope}/${g}/${k}`]!),
  );
}

/** A state that is all zeros, shaped [B, units] from x [B, L, d] without a Shape op. */
function zeros<T>(o: Ops<T>, x: T, d: number, units: number): T {
  const first = o.reshape(o.gather(x, o.int32([0]), 1), [-1, d]);
  return o.mul(units === d ? first : o.gather(first, o.int32([...Array(units).keys()]), 1), o.scalar(0));
}

/** m·next + (1−m)·prev: a padding step (m = 0) leaves the state as it was. */
function keepOnPadding<U>(o: Ops<U>, m: U, next: U, prev: U): U {
  return o.add(o.mul(m, next), o.mul(o.sub(o.scalar(1), m), prev));
}

function gateOf<U>(o: Ops<U>, ws: readonly U[], k: number, x: U, h: U): U {
  return o.add(o.add(o.matMul(x, ws[3 * k]!), o.matMul(h, ws[3 * k + 1]!)), ws[3 * k + 2]!);
}

function gru<T>(o: Ops<T>, w: Record<string, T>, p: string, c: StudentConfig, history: T, mask: T): T {
  const x = o.gather(w[`${p}/embeddings/item`]!, history);
  const [h] = o.scan({
    name: 'gru',
    sequences: [
      { tensor: x, stepShape: [-1, c.dim] },
      { tensor: mask, stepShape: [-1] },
    ],
    initial: [zeros(o, x, c.dim, c.dim)],
    captures: gateWeights(w, `${p}/gru`, GRU_GATES),
    step: (q, [xt, mt], [prev], ws) => {
      const z = q.sigmoid(gateOf(q, ws, 0, xt!, prev!));
      const r = q.sigmoid(gateOf(q, ws, 1, xt!, prev!));
      const n = q.tanh(q.add(q.add(q.matMul(xt!, ws[6]!), q.mul(r, q.matMul(prev!, ws[7]!))), ws[8]!));
      const next = q.add(q.mul(q.sub(q.scalar(1), z), n), q.mul(z, prev!));
      return [keepOnPadding(q, q.expandDims(mt!, 1), next, prev!)];
    },
  });
  return h!;
}

/** Tang et al.'s BiLSTM encoder, each direction mean-pooled over the non-padding steps. */
function bilstm<T>(o: Ops<T>, w: Record<string, T>, p: string, c: StudentConfig, history: T, mask: T): T {
  const x = o.gather(w[`${p}/embeddings/item`]!, history);
  const u = c.dim / 2;
  const count = o.maximum(o.sum(mask, 1, true), o.scalar(1));
  const direction = (dir: 'forward' | 'backward') => {
    const zero = zeros(o, x, c.dim, u);
    const [, , sum] = o.scan({
      name: `bilstm/${dir}`,
      sequences: [
        { tensor: x, stepShape: [-1, c.dim] },
        { tensor: mask, stepShape: [-1] },
      ],
      initial: [zero, zero, zero],
      captures: gateWeights(w, `${p}/bilstm/${dir}`, LSTM_GATES),
      reverse: dir === 'backward',
      step: (q, [xt, mt], [h, cell, acc], ws) => {
        const i = q.sigmoid(gateOf(q, ws, 0, xt!, h!));
        const f = q.sigmoid(gateOf(q, ws, 1, xt!, h!));
        const g = q.tanh(gateOf(q, ws, 2, xt!, h!));
        const out = q.sigmoid(gateOf(q, ws, 3, xt!, h!));
        const nextC = q.add(q.mul(f, cell!), q.mul(i, g));
        const nextH = q.mul(out, q.tanh(nextC));
        const m = q.expandDims(mt!, 1);
        return [
          keepOnPadding(q, m, nextH, h!),
          keepOnPadding(q, m, nextC, cell!),
          q.add(acc!, q.mul(m, nextH)),
        ];
      },
    });
    return o.div(sum!, count);
  };
  return o.concat([direction('forward'), direction('backward')], 1);
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
  const h =
    c.kind === 'gru'
      ? gru(o, w, prefix, c, history, mask)
      : c.kind === 'bilstm'
        ? bilstm(o, w, prefix, c, history, mask)
        : pooled(o, table, history, mask);
  const cand = o.gather(table, candidate);
  // The first layer is x·W for x = [h, c, h⊙c, |h−c|, last, last⊙c, t], computed as [h, c, h⊙c, |h−c|]·W₀ +
  // last·W₁ + (last⊙c)·W₂ + t·w₃: the same numbers without a wider ConcatV2, which costs more on tfjs-wasm than
  // the two small MatMuls, and the single-user fold (src/ctr/single-user-fold.ts) still sees its 4-part concat.
  const first = firstLayer(c, prefix);
  let x = dense(
    o,
    o.concat([h, cand, o.mul(h, cand), o.abs(o.sub(h, cand))], 1),
    w[`${first}/kernel`]!,
    w[`${first}/bias`]!,
  );
  const lastId = c.lastItem || c.transitions ? newestId(o, history, c.historyLength) : undefined;
  if (lastId !== undefined && c.lastItem) {
    const last = o.gather(table, lastId);
    x = o.add(x, o.matMul(last, w[`${first}/last/kernel`]!));
    x = o.add(x, o.matMul(o.mul(last, cand), w[`${first}/last_candidate/kernel`]!));
  }
  let trans: T | undefined;
  if (lastId !== undefined && c.transitions) {
    const from = o.gather(w[`${prefix}/transition/from`]!, lastId);
    trans = o.sum(o.mul(from, o.gather(w[`${prefix}/transition/to`]!, candidate)), 1, true);
    x = o.add(x, o.mul(trans, w[`${first}/transition/kernel`]!));
  }
  c.hidden.forEach((_, i) => {
    if (i > 0) x = dense(o, x, w[`${prefix}/mlp_${i}/kernel`]!, w[`${prefix}/mlp_${i}/bias`]!);
    x = o.relu(x);
  });
  let out = c.hidden.length ? dense(o, x, w[`${prefix}/logit/kernel`]!, w[`${prefix}/logit/bias`]!) : x;
  if (trans) out = o.add(out, o.mul(trans, w[`${prefix}/transition/weight`]!));
  const logit = o.named(o.reshape(out, [-1]), `${prefix}/logit`);
  return { logit, ctr: o.named(o.sigmoid(logit), `${prefix}/ctr`) };
}
