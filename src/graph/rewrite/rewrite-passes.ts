import type { GraphDef } from '../proto/types.ts';
import { rewriteEmbeddingBags } from './embedding-bag.ts';
import { rewriteEmbeddingLookups } from './embedding-lookup.ts';
import { foldConstants } from './fold-constants.ts';
import { fuseMatMul } from './fuse-matmul.ts';
import { normalizeGather } from './normalize-gather.ts';

/** What every pass is given besides the graph. */
export type PassContext = {
  /** Nodes that keep their name and value (signature inputs and outputs); no pass fuses them away. */
  readonly keep: ReadonlySet<string>;
  /** Segment ids of embedding bags and lookups become fed Placeholders (segment-rows.ts). */
  readonly feedSegmentRows: boolean;
};

/**
 * One load-time rewrite, as data (the way tfjs-converter keeps its op catalogue in op_list/*.ts):
 * - `phase`: `normalize` passes run on the frozen graph, `lower` passes after it (and after the shared-history
 *   split, rewrite-graph.ts, so that the variant is lowered too);
 * - `applies`: a cheap test on op types, so a graph without the pattern is not walked;
 * - `run`: pure, returns the graph unchanged (the same object) when nothing matched;
 * - `check`: what the pass guarantees of its result, run by `verifyPasses` (tests): problems, one per line.
 * Every pass keeps the values of the graph it was given (test/graph/rewrite compares through tfjs within 1e-5).
 */
export type RewritePassSpec = {
  readonly name: string;
  readonly phase: 'normalize' | 'lower';
  readonly applies: (graph: GraphDef) => boolean;
  readonly run: (graph: GraphDef, ctx: PassContext) => GraphDef;
  readonly check?: (result: GraphDef, ctx: PassContext) => string[];
};

const hasOp = (...ops: string[]) => {
  const wanted = new Set(ops);
  return (g: GraphDef) => g.node.some((n) => wanted.has(n.op));
};

/** In the order they run within a phase. */
export const REWRITE_PASSES = [
  {
    name: 'foldConstants',
    phase: 'normalize',
    applies: () => true,
    run: (g, ctx) => foldConstants(g, ctx.keep),
  },
  {
    name: 'normalizeGather',
    phase: 'normalize',
    applies: hasOp('Gather', 'ResourceGather'),
    run: (g) => normalizeGather(g),
    // A ResourceGather still reading a variable handle is left for the loader to refuse.
    check: (g) => g.node.filter((n) => n.op === 'Gather').map((n) => `${n.name}: Gather left`),
  },
  {
    name: 'embeddingBag',
    phase: 'lower',
    applies: hasOp('GatherV2'),
    run: (g, ctx) => rewriteEmbeddingBags(g, ctx.keep, ctx.feedSegmentRows),
  },
  {
    name: 'embeddingLookup',
    phase: 'lower',
    applies: hasOp('GatherV2'),
    run: (g, ctx) => rewriteEmbeddingLookups(g, ctx.feedSegmentRows),
  },
  {
    name: 'fuseMatMul',
    phase: 'lower',
    applies: hasOp('MatMul'),
    run: (g, ctx) => fuseMatMul(g, ctx.keep),
  },
] as const satisfies readonly RewritePassSpec[];

export type RewritePass = (typeof REWRITE_PASSES)[number]['name'];

/** Runs the enabled passes of `phase` in registry order. */
export function runPhase(
  graph: GraphDef,
  phase: RewritePassSpec['phase'],
  ctx: PassContext,
  enabled: (pass: RewritePass) => boolean,
): GraphDef {
  let g = graph;
  for (const pass of REWRITE_PASSES as readonly RewritePassSpec[]) {
    if (pass.phase === phase && enabled(pass.name as RewritePass) && pass.applies(g)) g = pass.run(g, ctx);
  }
  return g;
}

/**
 * The checks every pass must pass on its result: kept nodes still exist, every input names a node of the graph,
 * and the pass's own `check`. Returns the problems (empty when the result is sound); tests call it per pass.
 */
export function verifyPass(pass: RewritePassSpec, result: GraphDef, ctx: PassContext): string[] {
  const names = new Set(result.node.map((n) => n.name));
  const problems = [...ctx.keep].filter((k) => !names.has(k)).map((k) => `kept node ${k} is gone`);
  for (const n of result.node) {
    for (const input of n.input) {
      const node = input.replace(/^\^/, '').split(':')[0]!;
      if (!names.has(node)) problems.push(`${n.name} reads ${input}, which no node produces`);
    }
  }
  return [...problems, ...(pass.check?.(result, ctx) ?? [])].map((p) => `${pass.name}: ${p}`);
}
