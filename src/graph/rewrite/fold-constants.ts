import * as tf from '@tensorflow/tfjs-core';
import { DataType, type GraphDef, type NodeDef } from '../proto/types.ts';
import { valuesToTensorProto } from '../tensor/tensor-values.ts';
import { compileGraph } from '../tfjs/graph-model.ts';
import { ASYNC_OPS, TFJS_OPS } from '../tfjs/supported-ops.ts';
import { GraphIndex, parseInput } from './graph-index.ts';

/** Grappler's limit on a folded constant (constant_folding.cc, kMaxConstantSize): bigger results stay computed. */
const MAX_FOLDED_BYTES = 10 * 1024 * 1024;

/** Ops whose value is not a function of their inputs, or that may be fed: never folded. */
const NEVER_FOLD = new Set([
  'Placeholder',
  'PlaceholderWithDefault',
  'NoOp',
  'RandomUniform',
  'RandomUniformInt',
  'RandomStandardNormal',
  'TruncatedNormal',
  'Multinomial',
  'RandomShuffle',
  'StatelessRandomUniform',
  'StatelessRandomNormal',
]);

/**
 * Constant folding: every subgraph whose inputs are all Consts is computed once at load time with tfjs, on the
 * backend the model will run on, and replaced by Const nodes holding its results (named as the nodes they
 * replace, so readers and output names are unchanged). Typical catches in exported models: frozen batch-norm
 * arithmetic (gamma·rsqrt(var+ε)), Identity/Cast/Reshape/Transpose of weights, shape arithmetic on constants.
 *
 * Nodes read at an output index other than 0 are not folded (their inputs may be). A result larger than 10 MiB
 * stays computed, as grappler does. Folding is an optimisation: if tfjs cannot evaluate the constant subgraph
 * (no backend ready, a kernel failing), the graph is returned unchanged. Every tensor made here is disposed.
 */
export function foldConstants(graph: GraphDef, keep: ReadonlySet<string> = new Set()): GraphDef {
  const g = new GraphIndex(graph);
  const foldable = new Set<string>();
  const isConst = new Map<string, boolean>();
  const visit = (name: string, depth: number): boolean => {
    const hit = isConst.get(name);
    if (hit !== undefined) return hit;
    isConst.set(name, false);
    const node = g.get(name);
    let ok = !!node && depth < 10_000;
    if (node && node.op !== 'Const') {
      ok &&= !NEVER_FOLD.has(node.op) && TFJS_OPS.has(node.op) && !ASYNC_OPS.has(node.op);
      ok &&=
        node.input.length > 0 &&
        node.input.every((i) => !i.startsWith('^') && visit(parseInput(i).node, depth + 1));
      ok &&= g
        .consumers(name)
        .every((c) => c.input.every((i) => parseInput(i).node !== name || parseInput(i).index === 0));
      ok &&= !node.op.startsWith('Random') && !node.op.startsWith('Stateless');
      if (ok) foldable.add(name);
    }
    isConst.set(name, ok);
    return ok;
  };
  for (const n of g.nodes()) visit(n.name, 0);
  const targets = [...foldable].filter(
    (name) =>
      keep.has(name) ||
      g.consumers(name).some((c) => !foldable.has(c.name)) ||
      g.consumers(name).length === 0,
  );
  if (targets.length === 0) return graph;

  const needed = new Set<string>();
  const mark = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const i of g.get(name)?.input ?? []) mark(parseInput(i).node);
  };
  targets.forEach(mark);
  const subgraph: GraphDef = { ...graph, node: g.nodes().filter((n) => needed.has(n.name)) };
  const folded = evaluate(subgraph, targets);
  if (!folded) return graph;
  let changed = false;
  for (const [name, value] of folded) {
    const node = g.get(name)!;
    const dtype = outputDtype(node, value.dtype);
    if (dtype === undefined || value.bytes > MAX_FOLDED_BYTES) continue;
    const values =
      dtype === DataType.DT_INT64
        ? BigInt64Array.from(value.values as Int32Array, (v) => BigInt(v))
        : value.values;
    g.replace({
      name,
      op: 'Const',
      input: [],
      device: node.device,
      attr: {
        dtype: { type: dtype },
        value: { tensor: valuesToTensorProto({ dtype, shape: value.shape, values }) },
      },
    });
    changed = true;
  }
  if (!changed) return graph;
  g.pruneOrphans(keep);
  return g.build();
}

type Folded = {
  dtype: tf.DataType;
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
  bytes: number;
};

function evaluate(subgraph: GraphDef, targets: string[]): Map<string, Folded> | undefined {
  let compiled: ReturnType<typeof compileGraph> | undefined;
  try {
    compiled = compileGraph(subgraph, 'constant folding');
    const out = compiled.model.execute({}, targets);
    const list = Array.isArray(out) ? out : [out];
    try {
      const result = new Map<string, Folded>();
      list.forEach((t, i) => {
        if (t.dtype === 'string' || t.dtype === 'complex64') return;
        const values = t.dataSync() as Float32Array | Int32Array | Uint8Array;
        const copy = values.slice();
        result.set(targets[i], { dtype: t.dtype, shape: t.shape, values: copy, bytes: copy.byteLength });
      });
      return result;
    } finally {
      tf.dispose(list);
    }
  } catch {
    return undefined;
  } finally {
    compiled?.model.dispose();
  }
}

/** The TensorFlow dtype the folded node declared for its output, reconciled with what tfjs computed. */
function outputDtype(node: NodeDef, computed: tf.DataType): number | undefined {
  const a = node.attr;
  const declared =
    a.DstT?.type ?? a.out_type?.type ?? a.output_type?.type ?? a.dtype?.type ?? a.T?.type ?? a.Tparams?.type;
  if (computed === 'bool') return DataType.DT_BOOL;
  if (computed === 'float32') return declared === DataType.DT_DOUBLE ? undefined : DataType.DT_FLOAT;
  if (computed === 'int32') return declared === DataType.DT_INT64 ? DataType.DT_INT64 : DataType.DT_INT32;
  return undefined;
}
