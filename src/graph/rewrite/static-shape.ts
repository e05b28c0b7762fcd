import type { GraphIndex } from './graph-index.ts';
import { parseInput } from './graph-index.ts';

const PASS_THROUGH = new Set(['Identity', 'Cast', 'StopGradient', 'Snapshot', 'PreventGradient']);

/**
 * The static shape of a tensor as far as the rewrites need it (-1 for an unknown dim, null for an unknown
 * rank): Placeholders and Consts declare theirs, and shape-preserving ops pass it through. Everything else is
 * unknown, which makes passes skip the pattern rather than guess.
 */
export function staticShape(g: GraphIndex, ref: string, depth = 0): number[] | null {
  const { node: name, index, control } = parseInput(ref);
  const node = g.get(name);
  if (!node || control || index !== 0 || depth > 64) return null;
  if (node.op === 'Placeholder' || node.op === 'PlaceholderWithDefault') {
    const shape = node.attr.shape?.shape;
    if (!shape || shape.unknownRank) {
      return node.op === 'PlaceholderWithDefault' ? staticShape(g, node.input[0], depth + 1) : null;
    }
    return shape.dim.map((d) => d.size);
  }
  if (node.op === 'Const') {
    const t = node.attr.value?.tensor;
    if (!t || t.tensorShape?.unknownRank) return null;
    return (t.tensorShape?.dim ?? []).map((d) => d.size);
  }
  if (PASS_THROUGH.has(node.op) && node.input[0]) return staticShape(g, node.input[0], depth + 1);
  return null;
}

/** Resolves a possibly negative axis against a known rank; null when the rank is needed but unknown. */
export function resolveAxis(axis: number, rank: number | null): number | null {
  if (axis >= 0) return rank === null || axis < rank ? axis : null;
  return rank === null || axis < -rank ? null : axis + rank;
}
