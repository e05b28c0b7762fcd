import type { HostTensor, SignatureSpec } from '../graph/model.ts';
import { concatRows, rowsOf, sliceRows } from './host-rows.ts';

export type Tensors = Readonly<Record<string, HostTensor>>;

/**
 * What the batcher queues: a task in the sense of TF Serving's BatchScheduler<TaskType>
 * (tensorflow_serving/batching/batch_scheduler.h), which asks a task only for its size. The batcher knows
 * nothing of what rows mean: merging tasks of one `mergeKey` into one model call, and splitting the call's
 * outputs back, belong to whoever made the task — `rowTask` below for TF Serving's dim-0 rows, src/ctr for
 * CTR-shaped calls. Tasks hold host arrays only; outputs are owned by the task's caller.
 */
export type BatchTask = {
  readonly signatureName: string;
  readonly inputs: Tensors;
  /** The task's size: rows it adds to a batch (bounded by maxBatchSize) and its cost for admission control. */
  readonly rows: number;
  /** Tasks with equal keys may share one model call; undefined: the task runs alone. */
  readonly mergeKey: string | undefined;
  /** One model call's inputs for tasks of one mergeKey, in queue order. */
  merge(parts: readonly Tensors[]): Record<string, HostTensor>;
  /** This task's rows [offset, offset + rows) of a merged call's outputs. */
  split(outputs: Tensors, offset: number, rows: number): Record<string, HostTensor>;
};

/**
 * TF Serving's batching: inputs that share dim 0 are stacked along it, outputs sliced along it. Mergeable only
 * when dim 0 of every input and output of the signature is a free batch dim, and with tasks of the same trailing
 * input shapes; otherwise the task runs alone.
 */
export function rowTask(
  signature: SignatureSpec | undefined,
  signatureName: string,
  inputs: Tensors,
): BatchTask {
  const rows = rowsOf(inputs);
  const mergeable = rows !== undefined && signature !== undefined && batchable(signature);
  return {
    signatureName,
    inputs,
    rows: rows ?? 1,
    mergeKey: mergeable ? shapeKey(signatureName, inputs) : undefined,
    merge: concatRows,
    split: sliceRows,
  };
}

/** Queue key of tasks whose inputs can be stacked: signature, input names, dtypes and trailing dims. */
export function shapeKey(signatureName: string, inputs: Tensors): string {
  const parts = Object.keys(inputs)
    .sort()
    .map((k) => `${k}:${inputs[k]!.dtype}:${inputs[k]!.shape.slice(1).join('x')}`);
  return `${signatureName}|${parts.join(',')}`;
}

/** Merging is safe only when dim 0 of every input and output is a free batch dim. */
function batchable(signature: SignatureSpec): boolean {
  const free = (shape: readonly number[] | null) => shape !== null && shape.length >= 1 && shape[0]! < 0;
  return (
    Object.values(signature.inputs).every((s) => free(s.shape)) &&
    Object.values(signature.outputs).every((s) => s.shape === null || free(s.shape))
  );
}
