export {
  rewriteGraph,
  rewriteSharedHistoryGraph,
  type RewriteOptions,
  type RewritePass,
} from './rewrite-graph.ts';
export type { ShareHistoryOptions, SharedHistoryGraph } from './share-history.ts';
export { SEGMENT_ROWS_AXIS, SEGMENT_ROWS_OF } from './segment-rows.ts';
