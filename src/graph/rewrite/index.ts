export { rewriteGraph } from './rewrite-graph.ts';
