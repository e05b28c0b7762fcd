import type { AttrValue, FunctionDef, FunctionDefLibrary, NodeDef } from '../proto/types.ts';

/** Ops that run library functions named in their attrs (functional_ops.cc) and that tfjs executes. */
export const FUNCTIONAL_OPS: ReadonlySet<string> = new Set(['While', 'StatelessWhile', 'If', 'StatelessIf']);

/** Function names a node's attrs refer to (While's cond/body, If's branches, a call's f). */
export function calledFunctions(node: NodeDef): string[] {
  const names: string[] = [];
  const add = (v: AttrValue) => {
    if (v.func) names.push(v.func.name);
    for (const f of v.list?.func ?? []) names.push(f.name);
  };
  for (const v of Object.values(node.attr)) add(v);
  return names;
}

/**
 * The library functions `nodes` reach, transitively through the bodies (by attr or by op name), in library
 * order; undefined when none. Missing names are left for the op check to report.
 */
export function reachableLibrary(
  nodes: readonly NodeDef[],
  library: FunctionDefLibrary | undefined,
): FunctionDefLibrary | undefined {
  if (!library?.function.length) return undefined;
  const byName = new Map(library.function.map((f) => [f.signature.name, f]));
  const seen = new Set<string>();
  const stack: string[] = [];
  const visit = (ns: readonly NodeDef[]) => {
    for (const n of ns) {
      for (const f of calledFunctions(n)) stack.push(f);
      if (byName.has(n.op)) stack.push(n.op);
    }
  };
  visit(nodes);
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const fn = byName.get(name);
    if (fn) visit(fn.nodeDef);
  }
  const kept: FunctionDef[] = library.function.filter((f) => seen.has(f.signature.name));
  return kept.length ? { function: kept } : undefined;
}
