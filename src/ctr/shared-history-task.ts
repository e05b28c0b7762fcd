import type { HostTensor } from '../graph/model.ts';
import { shapeKey, type BatchTask, type Tensors } from '../serving/batch-task.ts';
import { concatRows, sliceRows } from '../serving/host-rows.ts';

/**
 * The batch task of a call to a CTR-shaped variant (shared-history-variant.ts): its size is its N rows
 * (`user_index`), not its U history rows, so batches are bounded by candidates as the per-row signature's are.
 * Outputs have one row per candidate and are sliced as TF Serving's rows.
 */
export function sharedHistoryTask(variantName: string, inputs: Tensors): BatchTask {
  return {
    signatureName: variantName,
    inputs,
    rows: inputs.user_index!.shape[0]!,
    mergeKey: shapeKey(variantName, inputs),
    merge: concatSharedHistory,
    split: sliceRows,
  };
}

/**
 * Merges calls of a CTR-shaped variant: `history` stacks the users of every part, the other inputs their rows,
 * and each part's `user_index` moves past the users of the parts before it.
 */
export function concatSharedHistory(parts: readonly Tensors[]): Record<string, HostTensor> {
  const out = concatRows(parts);
  const index = out.user_index!.values as Int32Array;
  let at = 0;
  let users = 0;
  for (const part of parts) {
    const rows = part.user_index!.shape[0]!;
    for (let i = at; i < at + rows; i++) index[i]! += users;
    at += rows;
    users += part.history!.shape[0]!;
  }
  return out;
}
