import type { GraphDef } from '../proto/types.ts';
import { rewriteEmbeddingBags } from './embedding-bag.ts';
import { rewriteEmbeddingLookups } from './embedding-lookup.ts';
import { foldConstants } from './fold-constants.ts';
import { fuseMatMul } from './fuse-matmul.ts';
import { normalizeGather } from './normalize-gather.ts';
import { shareHistory, type ShareHistoryOptions, type SharedHistoryGraph } from './share-history.ts';

export type RewriteOptions = {
  /**
   * Nodes that must keep their name and value: the signature's input and output nodes ("logit" of "logit:0").
   * A pass never fuses such a node into another. Sinks of the graph are always kept.
   */
  readonly keepNodes?: readonly string[];
  /** Turn single passes off (all on by default), for A/B checks and tests. */
  readonly passes?: Partial<Record<RewritePass, boolean>>;
  /**
   * Segment ids of embedding bags and lookups over fed ids become Placeholders marked with SEGMENT_ROWS_OF
   * (segment-rows.ts) instead of in-graph ops; whoever runs the graph must feed them (loadModel does). Off by
   * default: the graph then runs on its own inputs alone.
   */
  readonly feedSegmentRows?: boolean;
};

export type RewritePass =
  'foldConstants' | 'normalizeGather' | 'embeddingBag' | 'embeddingLookup' | 'fuseMatMul';

/**
 * Load-time speed rewrites of a frozen GraphDef (DESIGN §3), applied by loadModel before tfjs sees the graph:
 * constant folding (evaluated with tfjs, so the backend must be initialised), gather variants → GatherV2,
 * embedding bags → SparseSegmentMean/Sum, other embedding lookups → SparseSegmentSum, MatMul+BiasAdd(+activation)
 * → _FusedMatMul. Each pass computes the same values as the graph it was given (tests run both through tfjs and
 * compare within 1e-5), keeps the names of nodes others read, and leaves whatever it does not recognise alone.
 *
 * Pure: the result is a new GraphDef; the argument is not mutated (large tensor bytes are shared, read-only).
 * Throws nothing for an unknown pattern; a graph that is malformed is reported later by the loader.
 */
export function rewriteGraph(graph: GraphDef, options: RewriteOptions = {}): GraphDef {
  return afterSharing(beforeSharing(graph, options), options);
}

function beforeSharing(graph: GraphDef, options: RewriteOptions): GraphDef {
  const on = (p: RewritePass) => options.passes?.[p] ?? true;
  let g = graph;
  if (on('foldConstants')) g = foldConstants(g, new Set(options.keepNodes ?? []));
  if (on('normalizeGather')) g = normalizeGather(g);
  return g;
}

/**
 * The CTR-shaped variant (share-history.ts): the graph computing the history branch once per user, fed
 * `history` [U, L] and `userIndex` [N], with the same rewrites applied after the split; undefined when the graph's
 * history branch cannot be shared.
 */
export function rewriteSharedHistoryGraph(
  graph: GraphDef,
  share: Omit<ShareHistoryOptions, 'keepNodes'>,
  options: RewriteOptions = {},
): SharedHistoryGraph | undefined {
  const shared = shareHistory(beforeSharing(graph, options), { ...share, keepNodes: options.keepNodes });
  if (!shared) return undefined;
  const keepNodes = [...(options.keepNodes ?? []), share.userIndex];
  return { ...shared, graph: afterSharing(shared.graph, { ...options, keepNodes }) };
}

function afterSharing(graph: GraphDef, options: RewriteOptions): GraphDef {
  const on = (p: RewritePass) => options.passes?.[p] ?? true;
  const keep = new Set(options.keepNodes ?? []);
  let g = graph;
  const fed = options.feedSegmentRows ?? false;
  if (on('embeddingBag')) g = rewriteEmbeddingBags(g, keep, fed);
  if (on('embeddingLookup')) g = rewriteEmbeddingLookups(g, fed);
  if (on('fuseMatMul')) g = fuseMatMul(g, keep);
  return g;
}
