import { DataType, type GraphDef, type NodeDef } from '../proto/types.ts';
import { constIntList, constScalarInt, float32Const, int32Const, readConst } from './const-nodes.ts';
import { GraphIndex, parseInput, sameTensor } from './graph-index.ts';
import { segmentRows } from './segment-rows.ts';
import { resolveAxis, staticShape } from './static-shape.ts';

/**
 * Embedding bags: `Mean|Sum(GatherV2(E, ids[B,L], axis 0), axis 1)` → `SparseSegmentMean|Sum(E, flat ids, row of
 * each id)`. tfjs runs the gather-then-reduce form as a [B,L,D] gather plus a reduction over a middle axis (a
 * transpose and a copy in the wasm backend), the segment form as one pass over the ids; both sum the same L rows
 * per output row. The mean stays over all L positions, padding included, as the original graph does.
 *
 * Masked bags, `Sum|Mean(GatherV2(E, ids) * ExpandDims(Cast(NotEqual(ids, p)), -1), 1)` with E a Const of rank
 * 2: padding positions must add exactly zero, so E gets one extra all-zero row V and padding ids are sent there
 * (`SelectV2(ids != p, ids, V)`); the division by the count that usually follows is left as it is.
 *
 * Segment ids are computed in the graph from the runtime shape of ids (segment-rows.ts), so any batch size and
 * any L work. Nodes left without readers are removed, except those in `keep` (signature outputs).
 */
export function rewriteEmbeddingBags(
  graph: GraphDef,
  keep: ReadonlySet<string> = new Set(),
  feedRows = false,
): GraphDef {
  const g = new GraphIndex(graph);
  const rowsCache = new Map<string, string>();
  const paddedCache = new Map<string, { ref: string; zeroRow: number }>();
  let changed = false;
  for (const reduce of g.nodes()) {
    if ((reduce.op !== 'Mean' && reduce.op !== 'Sum') || reduce.attr.T?.type !== DataType.DT_FLOAT) continue;
    const bag = matchBag(g, reduce);
    if (!bag) continue;
    const scope = `${reduce.name}/embedding_bag`;
    let params = bag.params;
    let ids = bag.ids;
    if (bag.mask) {
      const padded = paddedEmbedding(g, bag.params, paddedCache);
      if (!padded) continue;
      params = padded.ref;
      const zeroRow = g.add(int32Const(g.freshName(`${scope}/zero_row`), [padded.zeroRow], []));
      ids = g.add(
        op(g.freshName(`${scope}/masked_ids`), 'SelectV2', [bag.mask, bag.ids, zeroRow], bag.idsType),
      );
    }
    const shapeOfFlat = g.add(int32Const(g.freshName(`${scope}/flat_shape`), [-1], [1]));
    const flat = g.add({
      ...op(g.freshName(`${scope}/flat_ids`), 'Reshape', [ids, shapeOfFlat], bag.idsType),
      attr: { T: { type: bag.idsType }, Tshape: { type: DataType.DT_INT32 } },
    });
    const rows = segmentRows(g, bag.ids, bag.idsLength, rowsCache, feedRows);
    const name = bag.keepDims ? g.freshName(`${scope}/segment_reduce`) : reduce.name;
    const segment: NodeDef = {
      name,
      op: reduce.op === 'Mean' ? 'SparseSegmentMean' : 'SparseSegmentSum',
      input: [params, flat, rows],
      device: reduce.device,
      attr: {
        T: { type: DataType.DT_FLOAT },
        Tidx: { type: bag.idsType },
        Tsegmentids: { type: DataType.DT_INT32 },
      },
    };
    if (bag.keepDims) {
      g.add(segment);
      const axis = g.add(int32Const(g.freshName(`${scope}/keep_dim`), [1], []));
      g.replace({
        name: reduce.name,
        op: 'ExpandDims',
        input: [name, axis],
        device: reduce.device,
        attr: { T: { type: DataType.DT_FLOAT }, Tdim: { type: DataType.DT_INT32 } },
      });
    } else {
      g.replace(segment);
    }
    changed = true;
  }
  if (!changed) return graph;
  g.pruneOrphans(keep);
  return g.build();
}

type Bag = {
  params: string;
  ids: string;
  idsType: number;
  /** Static L, or -1 when only known at run time. */
  idsLength: number;
  keepDims: boolean;
  /** A bool [B,L] tensor, true where the id is not padding. */
  mask?: string;
};

function matchBag(g: GraphIndex, reduce: NodeDef): Bag | undefined {
  const [data, axisRef, ...rest] = reduce.input;
  if (!data || !axisRef || rest.some((r) => !r.startsWith('^'))) return undefined;
  const axes = constIntList(g.producer(axisRef));
  if (!axes || axes.length !== 1 || parseInput(data).index !== 0) return undefined;
  let gather = g.producer(data);
  let mask: string | undefined;
  if (gather?.op === 'Mul') {
    const [a, b] = gather.input;
    const ga = g.producer(a);
    const [gatherNode, maskRef] = ga?.op === 'GatherV2' ? [ga, b] : [g.producer(b), a];
    if (gatherNode?.op !== 'GatherV2' || !maskRef) return undefined;
    mask = matchMask(g, maskRef, gatherNode.input[1]);
    if (!mask) return undefined;
    gather = gatherNode;
  }
  if (gather?.op !== 'GatherV2' || (gather.attr.batch_dims?.i ?? 0) !== 0) return undefined;
  const [params, ids, gatherAxis] = gather.input;
  if (!params || !ids || !gatherAxis || constScalarInt(g.producer(gatherAxis)) !== 0) return undefined;
  const idsShape = staticShape(g, ids);
  if (!idsShape || idsShape.length !== 2 || idsShape[1] === 0) return undefined;
  const paramsShape = staticShape(g, params);
  const gatheredRank = paramsShape ? paramsShape.length + 1 : null;
  if (resolveAxis(axes[0], gatheredRank) !== 1) return undefined;
  const idsType = gather.attr.Tindices?.type ?? DataType.DT_INT32;
  return {
    params,
    ids,
    idsType,
    idsLength: idsShape[1],
    keepDims: reduce.attr.keep_dims?.b ?? false,
    mask,
  };
}

/** Matches ExpandDims(Cast(NotEqual(ids, p)), -1|2) in either nesting order; returns the bool tensor. */
function matchMask(g: GraphIndex, ref: string, ids: string | undefined): string | undefined {
  if (!ids) return undefined;
  let node = g.producer(ref);
  let expanded = false;
  let cast = false;
  for (let depth = 0; node && depth < 3; depth++) {
    if (node.op === 'ExpandDims' && !expanded) {
      const axis = constScalarInt(g.producer(node.input[1]));
      if (axis !== -1 && axis !== 2) return undefined;
      expanded = true;
    } else if (node.op === 'Cast' && !cast) {
      if (node.attr.DstT?.type !== DataType.DT_FLOAT) return undefined;
      cast = true;
    } else {
      break;
    }
    node = g.producer(node.input[0]);
  }
  if (!expanded || !cast || !node) return undefined;
  const [a, b] = node.input;
  if (node.op === 'NotEqual') {
    const other = sameTensor(a, ids) ? b : sameTensor(b, ids) ? a : undefined;
    const p = other === undefined ? undefined : constScalarInt(g.producer(other));
    return p === undefined ? undefined : node.name;
  }
  // ids > 0 equals ids != 0 for the ids a gather accepts (TensorFlow rejects negative ids).
  if (node.op === 'Greater' && sameTensor(a, ids) && constScalarInt(g.producer(b)) === 0) return node.name;
  return undefined;
}

/** E with one zero row appended, as a new Const (E itself may have other readers). */
function paddedEmbedding(
  g: GraphIndex,
  params: string,
  cache: Map<string, { ref: string; zeroRow: number }>,
): { ref: string; zeroRow: number } | undefined {
  const hit = cache.get(params);
  if (hit) return hit;
  let producer = g.producer(params);
  while (producer?.op === 'Identity') producer = g.producer(producer.input[0]);
  const value = readConst(producer);
  if (!producer || !value || value.dtype !== DataType.DT_FLOAT || value.shape.length !== 2) return undefined;
  const [rows, dim] = value.shape;
  const data = new Float32Array((rows + 1) * dim);
  data.set(value.values);
  const ref = g.add(float32Const(g.freshName(`${producer.name}/padded`), data, [rows + 1, dim]));
  const out = { ref, zeroRow: rows };
  cache.set(params, out);
  return out;
}

function op(name: string, opName: string, input: string[], type: number): NodeDef {
  return { name, op: opName, input, attr: { T: { type } } };
}
