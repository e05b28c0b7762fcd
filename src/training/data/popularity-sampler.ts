import { CtrError } from '../../errors/registry.ts';
import { Prng, cumulative } from './prng.ts';

/**
 * Negative items drawn the way the BERT4Rec authors' evaluation loop draws them (docs/training.md, "Real click
 * sequences"): item probabilities are the items' interaction counts over the whole file, normalised; while fewer
 * than `n` negatives are collected, draw a batch of n + 1 distinct items (popularity-weighted, without
 * replacement), drop those the user has seen and those already collected, and append the rest in draw order;
 * finally keep the first n. A fixed seed makes the negatives the same for every model and run.
 *
 * Hand-written: no installed package samples weighted items without replacement from a seeded generator. A batch
 * is drawn by successive weighted draws with already-drawn items redrawn — the same distribution as numpy's
 * `choice(replace=False, p=…)`, which removes drawn items and renormalises.
 */
export class PopularitySampler {
  readonly #cum: Float64Array;
  readonly #rng: Prng;
  readonly #positive: number;

  /** counts[i]: interactions of item i (index 0, padding, should be 0). */
  constructor(counts: ArrayLike<number>, seed: number) {
    this.#cum = cumulative(counts);
    this.#rng = new Prng(seed);
    let positive = 0;
    for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) positive++;
    this.#positive = positive;
  }

  /** `n` distinct items with positive count, none in `seen`, in the order the loop collects them. */
  sample(seen: ReadonlySet<number>, n: number): Int32Array {
    let unseenPositive = this.#positive;
    for (const id of seen) if (id > 0 && id < this.#cum.length && this.#weight(id) > 0) unseenPositive--;
    if (unseenPositive < n) {
      throw new CtrError(
        'CTR_ERR_DATA_FORMAT',
        `cannot draw ${n} negatives: only ${unseenPositive} items with interactions are unseen by this user`,
      );
    }
    const batch = Math.min(n + 1, this.#positive);
    const picked: number[] = [];
    const inPicked = new Set<number>();
    while (picked.length < n) {
      for (const id of this.#drawDistinct(batch)) {
        if (!seen.has(id) && !inPicked.has(id)) {
          picked.push(id);
          inPicked.add(id);
        }
      }
    }
    return Int32Array.from(picked.slice(0, n));
  }

  #weight(id: number): number {
    return this.#cum[id]! - (id > 0 ? this.#cum[id - 1]! : 0);
  }

  /** `k` distinct ids, popularity-weighted, without replacement (successive draws). */
  #drawDistinct(k: number): number[] {
    const out: number[] = [];
    const drawn = new Set<number>();
    while (out.length < k) {
      const id = this.#rng.pickCumulative(this.#cum);
      if (!drawn.has(id)) {
        drawn.add(id);
        out.push(id);
      }
    }
    return out;
  }
}

/** Interaction counts per item id (length maxItem + 1) over `items`. */
export function itemCounts(items: ArrayLike<number>, maxItem: number): Float64Array {
  const counts = new Float64Array(maxItem + 1);
  for (let i = 0; i < items.length; i++) counts[items[i]!]!++;
  return counts;
}
