import * as tf from '@tensorflow/tfjs-core';
import { GraphBuilder, type Dtype } from '../../src/graph/builder/graph-builder.ts';
import type { AttrValue } from '../../src/graph/proto/types.ts';
import { compileGraph } from '../../src/graph/tfjs/graph-model.ts';

export type OpInput = {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly values: tf.TensorLike;
};

/**
 * Builds a one-op graph (each input a Placeholder), compiles it as the server does and runs it; returns each
 * output's dtype, shape and values (string outputs as raw bytes), and disposes every tensor it made.
 */
export async function runOp(
  op: string,
  inputs: readonly OpInput[],
  attrs: Record<string, AttrValue>,
  outputs = 1,
): Promise<{ dtype: string; shape: number[]; values: unknown[] }[]> {
  const g = new GraphBuilder();
  const names = inputs.map((x, i) => g.placeholder(`in${i}`, x.dtype, null));
  g.op(op, names, attrs, { name: 'op', outDtypes: Array.from({ length: outputs }, () => 0) });
  const { model, needsAsync } = compileGraph(g.toGraphDef(), 'op.pb');
  const feed: tf.NamedTensorMap = {};
  inputs.forEach((x, i) => {
    const dtype =
      x.dtype === 'DT_STRING'
        ? 'string'
        : x.dtype === 'DT_FLOAT'
          ? 'float32'
          : x.dtype === 'DT_BOOL'
            ? 'bool'
            : 'int32';
    feed[`in${i}:0`] = tf.tensor(x.values as never, [...x.shape], dtype);
  });
  try {
    const fetches = Array.from({ length: outputs }, (_, i) => `op:${i}`);
    const out = needsAsync ? await model.executeAsync(feed, fetches) : model.execute(feed, fetches);
    const list = Array.isArray(out) ? out : [out];
    const result = await Promise.all(
      list.map(async (t) => ({
        dtype: t.dtype as string,
        shape: [...t.shape],
        values: t.dtype === 'string' ? ((await t.bytes()) as Uint8Array[]) : Array.from(await t.data()),
      })),
    );
    tf.dispose(list);
    return result;
  } finally {
    tf.dispose(Object.values(feed));
    model.dispose();
  }
}

export const text = (values: unknown[]): string[] =>
  values.map((v) => new TextDecoder().decode(v as Uint8Array));
