import * as tf from '@tensorflow/tfjs-core';
import { isCtrError } from '../errors/registry.ts';
import { parseRef } from '../graph/freeze/tensor-ref.ts';
import type { TensorSpec } from '../graph/model.ts';
import type { GraphDef } from '../graph/proto/types.ts';
import { foldUserDense, userDenseProbes } from '../graph/rewrite/fold-user-dense.ts';
import { SegmentRowsCache } from '../graph/tfjs/segment-feeds.ts';
import { executeRuntime, type SignatureRuntime } from '../graph/tfjs/tfjs-model.ts';
import { tfjsDtypeOf } from '../graph/tfjs/host-tensors.ts';

/** Folded and unfolded outputs may differ by float rounding only; anything beyond this is a bug: no fold. */
const FOLD_TOLERANCE = 1e-4;

/**
 * Adds the one-user path of src/graph/rewrite/fold-user-dense.ts to a shared-history runtime (the extra fetches
 * of a variant, SignatureRuntime.oneRow): probes the shapes the fold needs by
 * running `rt` on a one-user, two-row probe input, recompiles the graph with the folded layers beside it
 * (`compile`), and checks on the same input that both paths agree before returning the new runtime, whose
 * `oneRow` fetches predict uses when `history` has one row. Returns `rt` unchanged when nothing folds or the
 * check fails (a missed speed-up, never a wrong answer); the runtime not returned is disposed here.
 */
export async function withSingleUserFold(
  rt: SignatureRuntime,
  graph: GraphDef,
  frontier: readonly string[],
  compile: (g: GraphDef) => SignatureRuntime,
): Promise<SignatureRuntime> {
  const probes = userDenseProbes(graph, frontier);
  if (probes.length === 0 || !rt.spec.inputs.history) return rt;
  const cache = new SegmentRowsCache();
  const inputs = probeInputs(rt.spec.inputs);
  let folded: SignatureRuntime | undefined;
  try {
    const measured = await executeRuntime(rt, inputs, probes, cache);
    const shapes = new Map(probes.map((p, i) => [p, measured[i]!.shape]));
    tf.dispose(measured);
    const outputs = Object.values(rt.fetches).map((t) => parseRef(t).node);
    const fold = foldUserDense(graph, { frontier, shapes, outputs });
    if (!fold) return rt;
    folded = compile(fold.graph);
    const fetches = Object.fromEntries(
      Object.entries(rt.fetches).map(([alias, t]) => {
        const ref = parseRef(t);
        return [alias, `${fold.outputs.get(ref.node)}:${ref.index}`];
      }),
    );
    const aliases = Object.keys(rt.fetches);
    const plain = await executeRuntime(
      folded,
      inputs,
      aliases.map((a) => rt.fetches[a]!),
      cache,
    );
    const single = await executeRuntime(
      folded,
      inputs,
      aliases.map((a) => fetches[a]!),
      cache,
    );
    const agree = plain.every((t, i) => close(t, single[i]!));
    tf.dispose([...plain, ...single]);
    if (!agree) return rt;
    const result = { ...folded, oneRow: { alias: 'history', fetches } };
    folded = undefined;
    rt.compiled.model.dispose();
    return result;
  } catch (err) {
    if (!isCtrError(err)) throw err;
    return rt;
  } finally {
    folded?.compiled.model.dispose();
    tf.dispose(Object.values(inputs));
  }
}

/**
 * One user (history [1, L]) and two rows; open dims are 1 for the user and 2 for the rows. Ids are 1 (0 is often
 * padding, whose embedding may be all zeros and would hide a wrong user term from the check), the rows' 1 and 0.
 */
function probeInputs(specs: Readonly<Record<string, TensorSpec>>): Record<string, tf.Tensor> {
  return Object.fromEntries(
    Object.entries(specs).map(([alias, spec]) => {
      const shape =
        alias === 'history'
          ? [1, ...(spec.shape ?? [-1, 1]).slice(1).map((d) => (d < 0 ? 1 : d))]
          : (spec.shape ?? [-1]).map((d, i) => (i === 0 ? 2 : d < 0 ? 1 : d));
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: size }, (_, i) => (alias === 'history' || i % 2 === 0 ? 1 : 0));
      return [
        alias,
        alias === 'user_index' ? tf.zeros(shape, 'int32') : tf.tensor(values, shape, tfjsDtypeOf(spec.dtype)),
      ];
    }),
  );
}

function close(a: tf.Tensor, b: tf.Tensor): boolean {
  if (a.dtype !== b.dtype || a.size !== b.size) return false;
  const [x, y] = [a.dataSync(), b.dataSync()];
  for (let i = 0; i < x.length; i++) {
    const [u, v] = [Number(x[i]), Number(y[i])];
    if (!(Math.abs(u - v) <= FOLD_TOLERANCE * Math.max(1, Math.abs(u)))) return false;
  }
  return true;
}
