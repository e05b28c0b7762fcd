import { json as arithmetic } from '@tensorflow/tfjs-converter/dist/operations/op_list/arithmetic.js';
import { json as basicMath } from '@tensorflow/tfjs-converter/dist/operations/op_list/basic_math.js';
import { json as control } from '@tensorflow/tfjs-converter/dist/operations/op_list/control.js';
import { json as convolution } from '@tensorflow/tfjs-converter/dist/operations/op_list/convolution.js';
import { json as creation } from '@tensorflow/tfjs-converter/dist/operations/op_list/creation.js';
import { json as dynamic } from '@tensorflow/tfjs-converter/dist/operations/op_list/dynamic.js';
import { json as evaluation } from '@tensorflow/tfjs-converter/dist/operations/op_list/evaluation.js';
import { json as graph } from '@tensorflow/tfjs-converter/dist/operations/op_list/graph.js';
import { json as hashTable } from '@tensorflow/tfjs-converter/dist/operations/op_list/hash_table.js';
import { json as image } from '@tensorflow/tfjs-converter/dist/operations/op_list/image.js';
import { json as logical } from '@tensorflow/tfjs-converter/dist/operations/op_list/logical.js';
import { json as matrices } from '@tensorflow/tfjs-converter/dist/operations/op_list/matrices.js';
import { json as normalization } from '@tensorflow/tfjs-converter/dist/operations/op_list/normalization.js';
import { json as reduction } from '@tensorflow/tfjs-converter/dist/operations/op_list/reduction.js';
import { json as sliceJoin } from '@tensorflow/tfjs-converter/dist/operations/op_list/slice_join.js';
import { json as sparse } from '@tensorflow/tfjs-converter/dist/operations/op_list/sparse.js';
import { json as spectral } from '@tensorflow/tfjs-converter/dist/operations/op_list/spectral.js';
import { json as string } from '@tensorflow/tfjs-converter/dist/operations/op_list/string.js';
import { json as transformation } from '@tensorflow/tfjs-converter/dist/operations/op_list/transformation.js';
import { calledFunctions, FUNCTIONAL_OPS, reachableLibrary } from '../freeze/function-library.ts';
import { KERNEL_OPS } from '../op/op-registry.ts';
import type { GraphDef, NodeDef } from '../proto/types.ts';

/**
 * The TensorFlow ops tfjs-converter's GraphModel can execute: the converter's own op catalogue (the same lists
 * its OperationMapper loads), read rather than copied so it follows the installed tfjs version.
 */
export const TFJS_OPS: ReadonlySet<string> = new Set(
  [
    arithmetic,
    basicMath,
    control,
    convolution,
    creation,
    dynamic,
    evaluation,
    graph,
    hashTable,
    image,
    logical,
    matrices,
    normalization,
    reduction,
    sliceJoin,
    sparse,
    spectral,
    string,
    transformation,
  ].flatMap((list) => list.map((op) => op.tfOpName)),
);

/** Ops GraphModel.execute refuses (control flow, dynamic shapes, tables): such graphs need executeAsync. */
export const ASYNC_OPS: ReadonlySet<string> = new Set(
  [control, dynamic, hashTable].flatMap((l) => l.map((op) => op.tfOpName)),
);

/**
 * Ops that run here: tfjs-converter's own, and those with a kernel in the op registry (../op/op-registry.ts),
 * which also replaces tfjs's lookup tables (tfjs cannot run the SavedModel's table initializers).
 */
const runnable = (op: string) => KERNEL_OPS.has(op) || TFJS_OPS.has(op);

/**
 * Each op of `g` that cannot run here, with the nodes that use it, sorted by op name; nodes inside the library
 * functions that While/If run are checked too and named "<function>/<node>". A node calling functions is
 * runnable only if it is a functional op tfjs executes (FUNCTIONAL_OPS) and every function is in the library.
 */
export function unsupportedOps(g: GraphDef): { op: string; nodes: string[] }[] {
  const byOp = new Map<string, string[]>();
  const functions = new Set((g.library?.function ?? []).map((f) => f.signature.name));
  const check = (n: NodeDef, name: string) => {
    const called = calledFunctions(n);
    const callsOk =
      called.length === 0 || (FUNCTIONAL_OPS.has(n.op) && called.every((f) => functions.has(f)));
    if (runnable(n.op) && callsOk) return;
    byOp.set(n.op, [...(byOp.get(n.op) ?? []), name]);
  };
  for (const n of g.node) check(n, n.name);
  for (const f of reachableLibrary(g.node, g.library)?.function ?? []) {
    for (const n of f.nodeDef) check(n, `${f.signature.name}/${n.name}`);
  }
  return [...byOp].sort(([a], [b]) => a.localeCompare(b)).map(([op, nodes]) => ({ op, nodes }));
}

/** "ParseExampleV2 (ParseExample/ParseExampleV2), Foo (a, b, +3 more)" */
export function describeUnsupported(list: { op: string; nodes: string[] }[]): string {
  return list
    .map(
      ({ op, nodes }) =>
        `${op} (${nodes.slice(0, 3).join(', ')}${nodes.length > 3 ? `, +${nodes.length - 3} more` : ''})`,
    )
    .join(', ');
}
