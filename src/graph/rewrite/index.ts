export { rewriteGraph, rewriteSharedHistoryGraph } from './rewrite-graph.ts';
export { SEGMENT_ROWS_AXIS, SEGMENT_ROWS_OF } from './segment-rows.ts';
