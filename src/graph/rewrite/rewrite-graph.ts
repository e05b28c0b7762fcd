import type { GraphDef } from '../proto/types.ts';
import { runPhase, type PassContext, type RewritePass } from './rewrite-passes.ts';
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

/**
 * Load-time speed rewrites of a frozen GraphDef (docs/architecture.md, rewrite), applied by loadModel before
 * tfjs sees the graph: the passes of REWRITE_PASSES (rewrite-passes.ts) in order — constant folding (evaluated
 * with tfjs, so the backend must be initialised), gather variants → GatherV2, embedding bags →
 * SparseSegmentMean/Sum, other embedding lookups → SparseSegmentSum, MatMul+BiasAdd(+activation) → _FusedMatMul. Each pass computes the same values as the graph it was given (tests run both through tfjs and
 * compare within 1e-5), keeps the names of nodes others read, and leaves whatever it does not recognise alone.
 *
 * Pure: the result is a new GraphDef; the argument is not mutated (large tensor bytes are shared, read-only).
 * Throws nothing for an unknown pattern; a graph that is malformed is reported later by the loader.
 */
export function rewriteGraph(graph: GraphDef, options: RewriteOptions = {}): GraphDef {
  return afterSharing(beforeSharing(graph, options), options);
}

function beforeSharing(graph: GraphDef, options: RewriteOptions): GraphDef {
  return runPhase(graph, 'normalize', contextOf(options), enabledIn(options));
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
  return runPhase(graph, 'lower', contextOf(options), enabledIn(options));
}

function contextOf(options: RewriteOptions): PassContext {
  return { keep: new Set(options.keepNodes ?? []), feedSegmentRows: options.feedSegmentRows ?? false };
}

function enabledIn(options: RewriteOptions): (pass: RewritePass) => boolean {
  return (pass) => options.passes?.[pass] ?? true;
}
