import * as tf from '@tensorflow/tfjs-core';
import type { GraphDef } from '../proto/types.ts';
import { SEGMENT_ROWS_AXIS, SEGMENT_ROWS_OF } from '../rewrite/index.ts';

/** A Placeholder the runtime feeds with the segment row of every id of the fed tensor `of` (a node name). */
export type SegmentFeed = {
  readonly placeholder: string;
  readonly of: string;
  /** Ids per segment: the product of the ids' dims from this axis on. */
  readonly axis: number;
};

/** The fed segment-row Placeholders a rewritten graph declares (rewriteGraph's feedSegmentRows). */
export function segmentFeedsOf(g: GraphDef): SegmentFeed[] {
  const dec = new TextDecoder();
  return g.node.flatMap((n) => {
    const of = n.attr[SEGMENT_ROWS_OF]?.s;
    if (n.op !== 'Placeholder' || !of) return [];
    return [{ placeholder: n.name, of: dec.decode(of), axis: n.attr[SEGMENT_ROWS_AXIS]?.i ?? 1 }];
  });
}

const MAX_CACHED = 16;

/**
 * Host arrays [0]*k ++ [1]*k ++ … for `count` ids in groups of `k`, cached per (count, k): a serving process sees
 * few batch shapes. Only host memory is cached; each call makes its own tensor (the caller disposes it), so no
 * tensor outlives a predict. The oldest entry goes when the cache is full.
 */
export class SegmentRowsCache {
  readonly #rows = new Map<string, Int32Array>();

  tensorFor(ids: tf.Tensor, axis: number): tf.Tensor {
    const per = ids.shape.slice(axis).reduce((a, b) => a * b, 1);
    const count = ids.size;
    const key = `${count}/${per}`;
    let rows = this.#rows.get(key);
    if (!rows) {
      rows = new Int32Array(count);
      for (let i = 0, row = 0; i < count; row++) for (let j = 0; j < per && i < count; j++) rows[i++] = row;
      if (this.#rows.size >= MAX_CACHED) this.#rows.delete(this.#rows.keys().next().value!);
      this.#rows.set(key, rows);
    }
    return tf.tensor1d(rows, 'int32');
  }
}
