import { padHistoryInto } from '../../ctr/ctr-batch.ts';
import type { ClickLog } from './click-log.ts';
import { Prng, cumulative } from './prng.ts';

/**
 * The ground-truth click model behind synthetic logs (docs/training.md states it as formulas).
 *
 * Items 1..V-1 each belong to one of K topics; an item's topic vector is its topic's unit vector plus noise,
 * normalised; its popularity is Gaussian. Each item has a few successors (item-to-item transitions: what people
 * click next after it). A user has an interest mixture over a few topics.
 *
 * A history is sampled step by step: with probability `transitionProb` the next click is a successor of the
 * previous one; otherwise it comes from the current session topic (drawn from the user's interests, switched
 * with probability `sessionSwitchProb` per step), by popularity within the topic.
 *
 * The click probability of candidate c after history h (newest last) depends on the ORDER of h:
 *   s        = Σ_j γ^age(j) · t(h_j) / Σ_j γ^age(j)            (recency-weighted interest; age 0 = newest)
 *   logit    = a · s·t(c) + β · [c ∈ successors(h_last)] + pop(c) + bias
 *   p(click) = sigmoid(logit)
 * A bag of embeddings sees neither γ nor which item is last; self-attention with positions can see both.
 */
export type ClickModelConfig = {
  readonly vocabSize: number;
  readonly historyLength: number;
  readonly minHistory: number;
  readonly users: number;
  readonly topics: number;
  readonly topicsPerUser: number;
  readonly topicNoise: number;
  readonly popularitySd: number;
  readonly successors: number;
  readonly transitionProb: number;
  readonly sessionSwitchProb: number;
  readonly recencyDecay: number;
  readonly affinityWeight: number;
  readonly transitionWeight: number;
  readonly bias: number;
  /** Share of candidates drawn as the user's likely next click (the rest: random by popularity). */
  readonly candidateFromSessionProb: number;
};

export const DEFAULT_CLICK_MODEL: ClickModelConfig = {
  vocabSize: 10000,
  historyLength: 12,
  minHistory: 3,
  users: 2000,
  topics: 8,
  topicsPerUser: 3,
  topicNoise: 0,
  popularitySd: 0.6,
  successors: 2,
  transitionProb: 0.25,
  sessionSwitchProb: 0.15,
  recencyDecay: 0.7,
  affinityWeight: 6,
  transitionWeight: 1.5,
  bias: -2.2,
  candidateFromSessionProb: 0.5,
};

export class ClickWorld {
  readonly config: ClickModelConfig;
  /** vocabSize × topics; row 0 (padding) is zero. */
  readonly topicVector: Float64Array;
  readonly itemTopic: Int32Array;
  readonly popularity: Float64Array;
  /** vocabSize × successors. */
  readonly successor: Int32Array;
  readonly #byTopic: { items: Int32Array; cum: Float64Array }[];
  readonly #allCum: Float64Array;
  readonly #userTopics: Int32Array;
  readonly #userCum: Float64Array[];

  constructor(config: ClickModelConfig, rng: Prng) {
    this.config = config;
    const { vocabSize: V, topics: K } = config;
    this.topicVector = new Float64Array(V * K);
    this.itemTopic = new Int32Array(V);
    this.popularity = new Float64Array(V);
    for (let i = 1; i < V; i++) {
      const k = (this.itemTopic[i] = rng.int(K));
      let norm = 0;
      for (let j = 0; j < K; j++) {
        const x = (j === k ? 1 : 0) + config.topicNoise * rng.normal();
        this.topicVector[i * K + j] = x;
        norm += x * x;
      }
      for (let j = 0; j < K; j++) this.topicVector[i * K + j]! /= Math.sqrt(norm);
      this.popularity[i] = config.popularitySd * rng.normal();
    }
    this.successor = new Int32Array(V * config.successors);
    for (let i = 1; i < V; i++) {
      for (let s = 0; s < config.successors; s++)
        this.successor[i * config.successors + s] = 1 + rng.int(V - 1);
    }
    const weight = (i: number) => Math.exp(this.popularity[i]!);
    this.#byTopic = Array.from({ length: K }, (_, k) => {
      const items = Int32Array.from({ length: V }, (_, i) => i).filter(
        (i) => i > 0 && this.itemTopic[i] === k,
      );
      return { items, cum: cumulative(Array.from(items, weight)) };
    });
    this.#allCum = cumulative(Array.from({ length: V }, (_, i) => (i === 0 ? 0 : weight(i))));
    this.#userTopics = new Int32Array(config.users * config.topicsPerUser);
    this.#userCum = [];
    for (let u = 0; u < config.users; u++) {
      const w: number[] = [];
      for (let t = 0; t < config.topicsPerUser; t++) {
        this.#userTopics[u * config.topicsPerUser + t] = rng.int(K);
        w.push(Math.exp(rng.normal()));
      }
      this.#userCum.push(cumulative(w));
    }
  }

  #itemOfTopic(k: number, rng: Prng): number {
    const t = this.#byTopic[k]!;
    return t.items.length === 0 ? this.randomItem(rng) : t.items[rng.pickCumulative(t.cum)]!;
  }

  randomItem(rng: Prng): number {
    return rng.pickCumulative(this.#allCum);
  }

  #userTopic(u: number, rng: Prng): number {
    return this.#userTopics[u * this.config.topicsPerUser + rng.pickCumulative(this.#userCum[u]!)]!;
  }

  /** Samples `length` clicks of user u in order (oldest first) into out[offset..]. */
  sampleSequence(u: number, length: number, rng: Prng, out: Int32Array, offset: number): void {
    const { successors, transitionProb, sessionSwitchProb } = this.config;
    let topic = this.#userTopic(u, rng);
    for (let j = 0; j < length; j++) {
      const prev = j > 0 ? out[offset + j - 1]! : 0;
      if (prev !== 0 && rng.next() < transitionProb) {
        out[offset + j] = this.successor[prev * successors + rng.int(successors)]!;
        continue;
      }
      if (rng.next() < sessionSwitchProb) topic = this.#userTopic(u, rng);
      out[offset + j] = this.#itemOfTopic(topic, rng);
    }
  }

  /** Ground-truth logit of clicking `c` after the history h[offset..offset+L) (left-padded, newest last). */
  trueLogit(h: Int32Array, offset: number, c: number): number {
    const { historyLength: L, topics: K, recencyDecay, successors } = this.config;
    const s = new Float64Array(K);
    let total = 0;
    let w = 1;
    for (let j = L - 1; j >= 0; j--, w *= recencyDecay) {
      const item = h[offset + j]!;
      if (item === 0) break;
      total += w;
      for (let k = 0; k < K; k++) s[k]! += w * this.topicVector[item * K + k]!;
    }
    let affinity = 0;
    if (total > 0) for (let k = 0; k < K; k++) affinity += (s[k]! / total) * this.topicVector[c * K + k]!;
    const last = h[offset + L - 1]!;
    let transition = 0;
    for (let q = 0; q < successors && last !== 0; q++) {
      if (this.successor[last * successors + q] === c) transition = 1;
    }
    return (
      this.config.affinityWeight * affinity +
      this.config.transitionWeight * transition +
      this.popularity[c]! +
      this.config.bias
    );
  }
}

/** A synthetic click log of `rows` impressions with its true click probabilities. */
export function sampleClickLog(world: ClickWorld, rows: number, rng: Prng): ClickLog {
  const { historyLength: L, minHistory, users, vocabSize, candidateFromSessionProb } = world.config;
  const history = new Int32Array(rows * L);
  const user = new Int32Array(rows);
  const candidate = new Int32Array(rows);
  const clicked = new Uint8Array(rows);
  const trueProb = new Float32Array(rows);
  const seq = new Int32Array(L + 1);
  for (let r = 0; r < rows; r++) {
    const u = (user[r] = rng.int(users));
    const n = minHistory + rng.int(L - minHistory + 1);
    world.sampleSequence(u, n + 1, rng, seq, 0);
    padHistoryInto(seq.subarray(0, n), L, history, r * L);
    const c = (candidate[r] = rng.next() < candidateFromSessionProb ? seq[n]! : world.randomItem(rng));
    const p = 1 / (1 + Math.exp(-world.trueLogit(history, r * L, c)));
    trueProb[r] = p;
    clicked[r] = rng.next() < p ? 1 : 0;
  }
  return { vocabSize, historyLength: L, rows, user, history, candidate, clicked, trueProb };
}

/**
 * Unlabelled click sequences for masked-item pretraining: rows × (L+1), each a user's clicks left-padded, the
 * last column being the click after an L-long history window.
 */
export function sampleSequences(world: ClickWorld, rows: number, rng: Prng): Int32Array {
  const { historyLength: L, minHistory, users } = world.config;
  const out = new Int32Array(rows * (L + 1));
  for (let r = 0; r < rows; r++) {
    const n = minHistory + 1 + rng.int(L - minHistory + 1);
    world.sampleSequence(rng.int(users), n, rng, out, r * (L + 1) + L + 1 - n);
  }
  return out;
}
