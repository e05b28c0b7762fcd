export {
  rewriteGraph,
  rewriteSharedHistoryGraph,
  type RewriteOptions,
  type RewritePass,
} from './rewrite-graph.ts';
export type { ShareHistoryOptions, SharedHistoryGraph } from './share-history.ts';
