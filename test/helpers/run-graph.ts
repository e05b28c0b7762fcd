import * as tf from '@tensorflow/tfjs-core';
import type { GraphDef } from '../../src/graph/proto/types.ts';
import { compileGraph } from '../../src/graph/tfjs/graph-model.ts';

/**
 * Runs `graph` through the same GraphDef → tfjs GraphModel path loadModel uses, on host inputs, and returns host
 * outputs (values with their shape). The rewrite tests run a graph before and after a pass with it. Every tensor
 * made here is disposed.
 */
export async function runGraph(
  graph: GraphDef,
  feeds: Record<string, { values: Int32Array | Float32Array; shape: number[] }>,
  outputs: string[],
): Promise<(Float32Array & { shape: number[] })[]> {
  const { model } = compileGraph(graph, 'rewrite test');
  try {
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      inputs[name] = tf.tensor(f.values, f.shape, f.values instanceof Int32Array ? 'int32' : 'float32');
    }
    try {
      const out = model.execute(inputs, outputs);
      const list = Array.isArray(out) ? out : [out];
      try {
        return await Promise.all(
          list.map(async (t) => Object.assign(Float32Array.from(await t.data()), { shape: t.shape })),
        );
      } finally {
        tf.dispose(list);
      }
    } finally {
      tf.dispose(Object.values(inputs));
    }
  } finally {
    model.dispose();
  }
}
