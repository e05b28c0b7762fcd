import { DataType, type GraphDef } from '../proto/types.ts';
import { int32Const } from './const-nodes.ts';
import { GraphIndex } from './graph-index.ts';

/**
 * Turns the gather variants a freeze can leave behind into GatherV2(params, indices, axis 0), the one form the
 * embedding-bag pass matches and tfjs-converter runs:
 * - `Gather` (TF1, no axis input; tfjs maps it, but its attrs are Tparams/Tindices/validate_indices),
 * - `ResourceGather` whose resource input was replaced by a value (a Const or an Identity of one) when the
 *   variables became constants — TensorFlow's convert_variables_to_constants does the same rewrite
 *   (`_convert_resource_gather`). A ResourceGather still reading a VarHandleOp is left for the loader to refuse.
 * Node names are kept, so consumers and output names are unchanged.
 */
export function normalizeGather(graph: GraphDef): GraphDef {
  const g = new GraphIndex(graph);
  let changed = false;
  for (const node of g.nodes()) {
    if (node.op !== 'Gather' && node.op !== 'ResourceGather') continue;
    const [params, indices, ...control] = node.input;
    if (!params || !indices || control.some((c) => !c.startsWith('^'))) continue;
    if (node.op === 'ResourceGather') {
      const producer = g.producer(params);
      if (!producer || producer.op === 'VarHandleOp' || producer.op === 'VarHandleOpV2') continue;
    }
    const dtype = node.op === 'Gather' ? node.attr.Tparams : node.attr.dtype;
    if (!dtype) continue;
    const axis = g.add(int32Const(g.freshName(`${node.name}/axis`), [0], []));
    g.replace({
      name: node.name,
      op: 'GatherV2',
      input: [params, indices, axis, ...control],
      device: node.device,
      attr: {
        Tparams: dtype,
        Tindices: node.attr.Tindices ?? { type: DataType.DT_INT32 },
        Taxis: { type: DataType.DT_INT32 },
        batch_dims: { i: node.attr.batch_dims?.i ?? 0 },
      },
    });
    changed = true;
  }
  return changed ? g.build() : graph;
}
