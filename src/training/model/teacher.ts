import type { ParamSpec } from './params.ts';
import { type Ops, dense, gelu, layerNorm } from './ops.ts';

/**
 * The teacher: a small BERT-style encoder over the click history (BERT4Rec-like). Tokens are the history
 * (left-padded, newest last) followed by one [MASK] slot; item + position embeddings, embedding layer norm, then
 * post-LN Transformer layers (multi-head self-attention with padding masked out, GELU feed-forward).
 *
 * Pretraining (masked-item prediction) asks the encoder to fill masked slots, the last slot always: i.e. to
 * predict the next click. Fine-tuning keeps that encoder (learning rate ~100× lower) and adds a new head on the
 * [MASK] slot's output h, the candidate's embedding c and a target attention u over the history's outputs:
 * [h, c, h⊙c, u, u⊙c, next-item score of c] → MLP → logit, plus a per-candidate bias. Written against `Ops` so the same code trains (tfjs) and exports (TensorFlow graph).
 */
export type TeacherConfig = {
  readonly vocabSize: number;
  readonly historyLength: number;
  readonly dim: number;
  readonly heads: number;
  readonly layers: number;
  readonly ffnDim: number;
  readonly headDim: number;
  /**
   * Adds the pretrained next-item score of the candidate to the logit, scaled by a head weight that starts at 1
   * (click sequences: fine-tuning starts from the pretrained ranking instead of learning it back through the MLP).
   */
  readonly nextResidual?: boolean;
  /**
   * Encoder kernels drawn with std √(1/fan-in) instead of BERT's 0.02 (click sequences: at dim 64 BERT's 0.02 gives
   * the attention and feed-forward branches ~1/6 of the residual's scale, and the [MASK] slot starts blind to the
   * history).
   */
  readonly fanInInit?: boolean;
  /**
   * An item-to-item transition term from the newest history item `l` to the candidate `c`: from(l)·to(c), two
   * item tables factorising the transition matrix as FPMC's item-item term does (Rendle et al., WWW 2010). It is
   * part of every masked slot's next-item score in pretraining (with the slot's preceding token as `l`) and of
   * the fine-tuned logit. docs/training.md ("The transition term") says why the encoder alone does not learn it.
   */
  readonly transitions?: boolean;
  /** A per-candidate bias learnt in fine-tuning (default true); docs/training.md ("The transition term"). */
  readonly candidateBias?: boolean;
};

const P = 'teacher';

export function teacherSpecs(c: TeacherConfig): ParamSpec[] {
  const d = c.dim;
  const enc = (name: string, shape: number[], init: ParamSpec['init'] = 'normal'): ParamSpec => ({
    name: `${P}/${name}`,
    shape,
    init,
    group: 'encoder',
    ...(c.fanInInit && init === 'normal' && name.endsWith('/kernel')
      ? { scale: Math.sqrt(1 / shape[0]!) }
      : {}),
  });
  const specs: ParamSpec[] = [
    // row vocabSize is the [MASK] token
    enc('embeddings/item', [c.vocabSize + 1, d]),
    enc('embeddings/position', [c.historyLength + 1, d]),
    enc('embeddings/ln/gamma', [d], 'ones'),
    enc('embeddings/ln/beta', [d], 'zeros'),
  ];
  for (let l = 0; l < c.layers; l++) {
    const p = `layer_${l}`;
    for (const m of ['query', 'key', 'value', 'output']) {
      specs.push(enc(`${p}/attention/${m}/kernel`, [d, d]), enc(`${p}/attention/${m}/bias`, [d], 'zeros'));
    }
    specs.push(
      enc(`${p}/attention/ln/gamma`, [d], 'ones'),
      enc(`${p}/attention/ln/beta`, [d], 'zeros'),
      enc(`${p}/ffn/in/kernel`, [d, c.ffnDim]),
      enc(`${p}/ffn/in/bias`, [c.ffnDim], 'zeros'),
      enc(`${p}/ffn/out/kernel`, [c.ffnDim, d]),
      enc(`${p}/ffn/out/bias`, [d], 'zeros'),
      enc(`${p}/ffn/ln/gamma`, [d], 'ones'),
      enc(`${p}/ffn/ln/beta`, [d], 'zeros'),
    );
  }
  specs.push(
    enc('mlm/transform/kernel', [d, d]),
    enc('mlm/transform/bias', [d], 'zeros'),
    enc('mlm/ln/gamma', [d], 'ones'),
    enc('mlm/ln/beta', [d], 'zeros'),
    enc('mlm/output_bias', [c.vocabSize + 1], 'zeros'),
  );
  if (c.transitions) {
    // from starts at 0 (no transition known), to at rows of norm ~1: the first gradients move from(l) towards
    // the rows of the items that followed l.
    specs.push(enc('transition/from', [c.vocabSize + 1, d], 'zeros'), {
      ...enc('transition/to', [c.vocabSize + 1, d]),
      scale: Math.sqrt(1 / d),
    });
  }
  const features = 5 * d + 1 + (c.transitions ? 1 : 0);
  const head = (name: string, shape: number[], init: ParamSpec['init'], scale?: number): ParamSpec => ({
    name: `${P}/head/${name}`,
    shape,
    init,
    scale,
    group: 'head',
  });
  specs.push(
    head('target_attention/query/kernel', [d, d], 'normal', Math.sqrt(1 / d)),
    head('target_attention/recency', [c.historyLength], 'zeros'),
    head('dense/kernel', [features, c.headDim], 'normal', Math.sqrt(2 / features)),
    head('dense/bias', [c.headDim], 'zeros'),
    head('logit/kernel', [c.headDim, 1], 'normal', Math.sqrt(1 / c.headDim)),
    head('logit/bias', [1], 'zeros'),
  );
  if (c.candidateBias !== false) specs.push(head('candidate_bias', [c.vocabSize + 1], 'zeros'));
  if (c.nextResidual) specs.push(head('next_weight', [1], 'ones'));
  if (c.transitions) specs.push(head('transition_weight', [1], 'zeros'));
  return specs;
}

/** Encodes tokens [B, L+1] (int32) into hidden states [B·(L+1), d]. */
export function teacherEncode<T>(o: Ops<T>, w: Record<string, T>, c: TeacherConfig, tokens: T): T {
  const d = c.dim;
  const S = c.historyLength + 1;
  const dh = d / c.heads;
  let x = o.add(o.gather(w[`${P}/embeddings/item`]!, tokens), w[`${P}/embeddings/position`]!);
  x = layerNorm(o, o.reshape(x, [-1, d]), w[`${P}/embeddings/ln/gamma`]!, w[`${P}/embeddings/ln/beta`]!);
  // Padding keys get -10000 added to their scores (BERT's additive mask).
  const keyBias = o.mul(
    o.sub(o.reshape(o.nonPaddingMask(tokens), [-1, 1, 1, S]), o.scalar(1)),
    o.scalar(10000),
  );
  const splitHeads = (t: T) => o.transpose(o.reshape(t, [-1, S, c.heads, dh]), [0, 2, 1, 3]);
  for (let l = 0; l < c.layers; l++) {
    const p = `${P}/layer_${l}`;
    const proj = (m: string) => dense(o, x, w[`${p}/attention/${m}/kernel`]!, w[`${p}/attention/${m}/bias`]!);
    const q = splitHeads(proj('query'));
    const k = splitHeads(proj('key'));
    const v = splitHeads(proj('value'));
    const scores = o.add(o.mul(o.batchMatMul(q, k, true), o.scalar(1 / Math.sqrt(dh))), keyBias);
    const ctx = o.reshape(o.transpose(o.batchMatMul(o.softmax(scores), v), [0, 2, 1, 3]), [-1, d]);
    const attn = dense(o, ctx, w[`${p}/attention/output/kernel`]!, w[`${p}/attention/output/bias`]!);
    x = layerNorm(o, o.add(x, attn), w[`${p}/attention/ln/gamma`]!, w[`${p}/attention/ln/beta`]!);
    const ffn = dense(
      o,
      gelu(o, dense(o, x, w[`${p}/ffn/in/kernel`]!, w[`${p}/ffn/in/bias`]!)),
      w[`${p}/ffn/out/kernel`]!,
      w[`${p}/ffn/out/bias`]!,
    );
    x = layerNorm(o, o.add(x, ffn), w[`${p}/ffn/ln/gamma`]!, w[`${p}/ffn/ln/beta`]!);
  }
  return x;
}

/** BERT's MLM transform of hidden states [N, d] → [N, d]. */
export function mlmTransform<T>(o: Ops<T>, w: Record<string, T>, h: T): T {
  const t = gelu(o, dense(o, h, w[`${P}/mlm/transform/kernel`]!, w[`${P}/mlm/transform/bias`]!));
  return layerNorm(o, t, w[`${P}/mlm/ln/gamma`]!, w[`${P}/mlm/ln/beta`]!);
}

/** Scores of every vocabulary item (tied output embedding) for transformed states [N, d] → [N, V+1]. */
export function mlmLogits<T>(o: Ops<T>, w: Record<string, T>, t: T): T {
  return o.add(o.matMul(t, w[`${P}/embeddings/item`]!, true), w[`${P}/mlm/output_bias`]!);
}

/** The transition term from(prev)·to(item) for ids prev [N] and item [N] → [N, 1] (TeacherConfig.transitions). */
export function transitionScore<T>(o: Ops<T>, w: Record<string, T>, prev: T, item: T): T {
  const from = o.gather(w[`${P}/transition/from`]!, prev);
  return o.sum(o.mul(from, o.gather(w[`${P}/transition/to`]!, item)), 1, true);
}

/** history [B, L] int32, candidate [B] int32 → logit [B], ctr [B]. */
export function teacherForward<T>(
  o: Ops<T>,
  w: Record<string, T>,
  c: TeacherConfig,
  history: T,
  candidate: T,
): { logit: T; ctr: T } {
  // A [B, 1] column of [MASK] ids shaped like the batch without a Shape op: candidate·0 + V.
  const maskColumn = o.add(o.mul(o.expandDims(candidate, 1), o.int32([0])), o.int32([c.vocabSize]));
  const hidden = teacherEncode(o, w, c, o.concat([history, maskColumn], 1));
  return teacherHead(o, w, c, hidden, history, candidate);
}

/**
 * The fine-tuning head on encoder states `hidden` [B·(L+1), d] of `history` [B, L] (+ the MASK slot) for
 * `candidate` [B]. teacherForward is teacherEncode then this; the evaluation reuses one history's states for all
 * its candidates (pipeline-teacher.ts), which computes the same numbers.
 */
export function teacherHead<T>(
  o: Ops<T>,
  w: Record<string, T>,
  c: TeacherConfig,
  hidden: T,
  history: T,
  candidate: T,
): { logit: T; ctr: T } {
  const d = c.dim;
  const L = c.historyLength;
  const h = o.gather(o.reshape(hidden, [-1, L + 1, d]), o.int32([L]), 1);
  const slot = o.reshape(h, [-1, d]);
  const cand = o.gather(w[`${P}/embeddings/item`]!, candidate);
  let next = o.add(
    o.sum(o.mul(mlmTransform(o, w, slot), cand), 1, true),
    o.expandDims(o.gather(w[`${P}/mlm/output_bias`]!, candidate), 1),
  );
  // The MASK slot's preceding token is the newest history item: the pretrained next-item score includes the
  // transition from it, and the head also gets the transition alone (feature and linear weight).
  const trans = c.transitions
    ? transitionScore(o, w, o.reshape(o.gather(history, o.int32([L - 1]), 1), [-1]), candidate)
    : undefined;
  if (trans) next = o.add(next, trans);
  // Target attention (DIN-style) over the history's encoder outputs: candidate-dependent weights plus a learned
  // per-position (recency) bias, both new head parameters.
  const states = o.gather(
    o.reshape(hidden, [-1, L + 1, d]),
    o.int32(Array.from({ length: L }, (_, j) => j)),
    1,
  );
  const query = o.expandDims(o.matMul(cand, w[`${P}/head/target_attention/query/kernel`]!), 1);
  const historyBias = o.mul(o.sub(o.nonPaddingMask(history), o.scalar(1)), o.scalar(10000));
  const scores = o.add(
    o.add(
      o.mul(o.sum(o.mul(states, query), 2, false), o.scalar(1 / Math.sqrt(d))),
      w[`${P}/head/target_attention/recency`]!,
    ),
    historyBias,
  );
  const pooled = o.sum(o.mul(states, o.expandDims(o.softmax(scores), 2)), 1, false);
  const parts = [slot, cand, o.mul(slot, cand), pooled, o.mul(pooled, cand), next];
  const features = o.concat(trans ? [...parts, trans] : parts, 1);
  const hid = gelu(o, dense(o, features, w[`${P}/head/dense/kernel`]!, w[`${P}/head/dense/bias`]!));
  let out = dense(o, hid, w[`${P}/head/logit/kernel`]!, w[`${P}/head/logit/bias`]!);
  if (c.candidateBias !== false)
    out = o.add(out, o.expandDims(o.gather(w[`${P}/head/candidate_bias`]!, candidate), 1));
  if (c.nextResidual) out = o.add(out, o.mul(next, w[`${P}/head/next_weight`]!));
  if (trans) out = o.add(out, o.mul(trans, w[`${P}/head/transition_weight`]!));
  const logit = o.named(o.reshape(out, [-1]), `${P}/logit`);
  return { logit, ctr: o.named(o.sigmoid(logit), `${P}/ctr`) };
}
