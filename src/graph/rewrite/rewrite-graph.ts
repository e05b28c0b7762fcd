import type { GraphDef } from '../proto/types.ts';

/**
 * Load-time speed rewrites of a frozen GraphDef (DESIGN §3). Pure: returns a new GraphDef and never mutates its
 * argument. First version: identity, so the loader can compile against the hook while the passes land.
 */
export function rewriteGraph(graph: GraphDef): GraphDef {
  return { ...graph, node: graph.node.map((n) => ({ ...n, input: [...n.input], attr: { ...n.attr } })) };
}
