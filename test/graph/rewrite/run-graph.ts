import * as tf from '@tensorflow/tfjs';
import { readConst } from '../../../src/graph/rewrite/const-nodes.ts';
import { DataType, type AttrValue, type GraphDef } from '../../../src/graph/proto/types.ts';

/**
 * Test-only: runs a GraphDef through tfjs-converter's GraphModel, handing it the GraphDef in the JSON form
 * tfjs's model.json uses (Const values as weights). The rewrite tests compare the same graph before and after a
 * pass on this one executor; only float32/int32/int64 Consts are supported, which is all these graphs hold.
 */
export function toGraphModel(graph: GraphDef): tf.GraphModel<tf.io.IOHandlerSync> {
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  const node = graph.node.map((n) => {
    if (n.op === 'Const') {
      const c = readConst(n);
      if (!c) throw new Error(`test runner: unsupported Const ${n.name}`);
      weightSpecs.push({
        name: n.name,
        shape: [...c.shape],
        dtype: c.dtype === DataType.DT_FLOAT ? 'float32' : 'int32',
      });
      buffers.push(new Uint8Array(c.values.buffer.slice(0)));
    }
    const attr: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n.attr)) attr[k] = jsonAttr(v);
    return { name: n.name, op: n.op, input: n.input, attr };
  });
  const total = buffers.reduce((s, b) => s + b.length, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    weightData.set(b, at);
    at += b.length;
  }
  return tf.loadGraphModelSync({
    modelTopology: { node, versions: { producer: 1205 } },
    weightSpecs,
    weightData: weightData.buffer,
    format: 'graph-model',
  });
}

function jsonAttr(v: AttrValue): unknown {
  if (v.s) return { s: Array.from(v.s) };
  if (v.list?.s) return { list: { ...v.list, s: v.list.s.map((x) => Array.from(x)) } };
  if (v.tensor) return { tensor: { dtype: v.tensor.dtype, tensorShape: v.tensor.tensorShape } };
  return v;
}

/** Runs `graph` on host inputs and returns host outputs (values with their shape); every tensor is disposed. */
export async function runGraph(
  graph: GraphDef,
  feeds: Record<string, { values: Int32Array | Float32Array; shape: number[] }>,
  outputs: string[],
): Promise<(Float32Array & { shape: number[] })[]> {
  const model = toGraphModel(graph);
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
