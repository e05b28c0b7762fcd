import { INDICES_PROVEN_ATTR } from '../op/gather.ts';
import type { GraphDef, NodeDef } from '../proto/types.ts';
import { readConst } from '../rewrite/const-nodes.ts';
import { GraphIndex } from '../rewrite/graph-index.ts';
import { SEGMENT_ROWS_OF } from '../rewrite/segment-rows.ts';
import { tableRead, valueLeaves } from './derive-index-ranges.ts';

const GATHERS: ReadonlySet<string> = new Set(['GatherV2', 'Gather', 'ResourceGather']);

/**
 * Marks (INDICES_PROVEN_ATTR, with the table's rows) each gather of `graph` whose indices are already bounded
 * before the graph runs, so that its kernel (../op/gather.ts) skips the per-index check on the hot path. A gather
 * is proven when its table has a static size (tableRead, as the index guards use) and every value its indices
 * can carry comes from
 * - a Placeholder in `guarded`: an input whose index guard (derive-index-ranges.ts, derived from the same graph
 *   and the same table) every predict applies first — its limit is at most this table's rows; or
 * - a Const whose values all lie in [0, rows).
 * Any other source (a lookup table, a hash, arithmetic, ArgMax, a segment-row feed) leaves the gather unmarked:
 * its kernel checks every index at run time. `guarded` is empty unless the caller applies the guards.
 */
export function markProvenGathers(graph: GraphDef, guarded: ReadonlySet<string>): GraphDef {
  const g = new GraphIndex(graph);
  let changed = false;
  const node = graph.node.map((n) => {
    if (!GATHERS.has(n.op) || n.attr[INDICES_PROVEN_ATTR]) return n;
    const read = tableRead(g, n);
    if (!read || !valueLeaves(g, read.positions).every((leaf) => bounded(leaf, read.limit, guarded)))
      return n;
    changed = true;
    return { ...n, attr: { ...n.attr, [INDICES_PROVEN_ATTR]: { i: read.limit } } };
  });
  return changed ? { ...graph, node } : graph;
}

function bounded(leaf: NodeDef, limit: number, guarded: ReadonlySet<string>): boolean {
  if (leaf.op === 'Placeholder') return guarded.has(leaf.name) && !leaf.attr[SEGMENT_ROWS_OF];
  const c = leaf.op === 'Const' ? readConst(leaf) : undefined;
  if (!c || c.values instanceof Float32Array) return false;
  return c.values.every((v) => v >= 0 && v < limit);
}
