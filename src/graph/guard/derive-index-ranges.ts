import type { IndexRange } from '../model.ts';
import type { GraphDef, NodeDef } from '../proto/types.ts';
import { constIntList, constScalarInt } from '../rewrite/const-nodes.ts';
import { GraphIndex, parseInput } from '../rewrite/graph-index.ts';
import { resolveAxis, staticShape } from '../rewrite/static-shape.ts';

/**
 * Index guards, derived once per compiled graph (the rewritten one that runs): for every op that reads a table
 * at positions given by a tensor, the positions must lie in [0, rows) — TensorFlow's kernels check it and answer
 * INVALID_ARGUMENT ("indices[0] = 150 is not in [0, 100)", tensorflow/core/kernels/gather_op.cc,
 * segment_reduction_ops_impl.h), tfjs-backend-wasm's do not and read outside the table. Where such a position
 * tensor is a fed input, directly or through ops that only move, subset or merge its values (casts, reshapes,
 * slices, concatenations, selects), the input gets the table's static dim as its limit; with several tables the
 * smallest wins. A table whose size is not static, or positions computed inside the graph (a hash, a lookup
 * table, arithmetic), give no guard: the gather-like kernels of the op registry check those at run time, before
 * tfjs's kernel reads (../op/gather.ts, ../op/scatter-gather-nd.ts); mark-proven-gathers.ts lets the gathers these
 * guards already bound skip that check.
 */
export function deriveIndexRanges(
  graph: GraphDef,
  inputs: ReadonlyMap<string, string>,
): Record<string, IndexRange> {
  const g = new GraphIndex(graph);
  const ranges: Record<string, IndexRange> = {};
  for (const node of graph.node) {
    const read = tableRead(g, node);
    if (!read) continue;
    for (const source of fedSources(g, read.positions)) {
      const alias = inputs.get(source);
      if (alias === undefined) continue;
      const known = ranges[alias];
      if (!known || read.limit < known.limit) {
        ranges[alias] = { limit: read.limit, op: node.op, node: node.name };
      }
    }
  }
  return ranges;
}

const SEGMENT_READS = /^SparseSegment(Sum|Mean|SqrtN)(WithNumSegments)?$/;
const UNSORTED_SEGMENTS = /^UnsortedSegment(Sum|Max|Min|Prod)$/;

/** The position tensor of a table-reading op and the number of positions its table has, when static. */
export function tableRead(g: GraphIndex, node: NodeDef): { positions: string; limit: number } | undefined {
  const [first, second, third] = node.input;
  if (!first || !second) return undefined;
  const table = first;
  let axis = 0;
  if (node.op === 'GatherV2') {
    if ((node.attr.batch_dims?.i ?? 0) !== 0 || !third) return undefined;
    const a = constScalarInt(g.producer(third));
    const resolved = a === undefined ? null : resolveAxis(a, tableShape(g, first)?.length ?? null);
    if (resolved === null) return undefined;
    axis = resolved;
  } else if (node.op === 'Gather' || node.op === 'ResourceGather') {
    if ((node.attr.batch_dims?.i ?? 0) !== 0) return undefined;
  } else if (UNSORTED_SEGMENTS.test(node.op)) {
    const segments = third ? constScalarInt(g.producer(third)) : undefined;
    return segments === undefined ? undefined : { positions: second, limit: segments };
  } else if (!SEGMENT_READS.test(node.op)) {
    return undefined;
  }
  const rows = tableShape(g, table)?.[axis];
  return rows === undefined || rows < 0 ? undefined : { positions: second, limit: rows };
}

/** staticShape, plus a Transpose by a constant permutation (a table stored [D, V] read on axis 1). */
function tableShape(g: GraphIndex, ref: string): number[] | null {
  const node = g.producer(ref);
  if (node?.op === 'Transpose' && node.input[0] && node.input[1]) {
    const perm = constIntList(g.producer(node.input[1]));
    const shape = staticShape(g, node.input[0]);
    if (perm && shape && perm.length === shape.length) return perm.map((p) => shape[p] ?? -1);
  }
  return staticShape(g, ref);
}

/** For each op whose output values are some of its inputs' values: the inputs that carry them. */
function valueInputs(node: NodeDef): readonly string[] {
  const data = node.input.filter((i) => !i.startsWith('^'));
  switch (node.op) {
    case 'Identity':
    case 'IdentityN':
    case 'Snapshot':
    case 'StopGradient':
    case 'PreventGradient':
      return node.op === 'IdentityN' ? data : data.slice(0, 1);
    case 'Cast':
    case 'Reshape':
    case 'ExpandDims':
    case 'Squeeze':
    case 'Transpose':
    case 'Tile':
    case 'Reverse':
    case 'ReverseV2':
    case 'Slice':
    case 'StridedSlice':
    case 'BroadcastTo':
    case 'Unpack':
    case 'SplitV':
    case 'Gather':
    case 'GatherV2':
    case 'ResourceGather':
    case 'PlaceholderWithDefault':
      return data.slice(0, 1);
    case 'Split':
      return data.slice(1, 2);
    case 'Pack':
      return data;
    case 'ConcatV2':
      return data.slice(0, -1);
    case 'Concat':
      return data.slice(1);
    case 'Select':
    case 'SelectV2':
      return data.slice(1, 3);
    default:
      return [];
  }
}

/**
 * The nodes where the values of `ref` come from: those of fedSources that are not themselves value-carrying ops
 * (Placeholders, Consts, and every op that computes new values). Every value of `ref` is a value of one of them.
 */
export function valueLeaves(g: GraphIndex, ref: string): NodeDef[] {
  return fedSources(g, ref).flatMap((name) => {
    const node = g.get(name)!;
    return valueInputs(node).length === 0 ? [node] : [];
  });
}

/** The nodes whose values reach `ref` through value-carrying ops only (an explicit stack, no recursion). */
function fedSources(g: GraphIndex, ref: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const todo = [parseInput(ref).node];
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const node = g.get(name);
    if (!node) continue;
    found.push(name);
    for (const input of valueInputs(node)) todo.push(parseInput(input).node);
  }
  return found;
}
