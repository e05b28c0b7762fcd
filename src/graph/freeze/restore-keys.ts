import type { NodeDef } from '../proto/types.ts';
import { tensorProtoToValues } from '../tensor/tensor-values.ts';
import { parseRef } from './tensor-ref.ts';

const ASSIGN_OPS = new Set(['Assign', 'AssignVariableOp']);
const PASS_THROUGH = new Set(['Identity', 'IdentityN']);

/**
 * Variable node → checkpoint key, read from the graph's own restore path, which is how TensorFlow's loaders
 * (TF Serving, LoadSavedModel) restore variables: they run the saver's restore op, i.e. RestoreV2 reading the
 * keys listed in its `tensor_names` Const, each result assigned (Assign / AssignVariableOp, possibly through
 * Identity) to its variable. `nodes` must be inlined (the TF2 restore lives in a library function).
 * Variables the restore path does not reach are absent from the map.
 */
export function restoreKeys(nodes: readonly NodeDef[]): Map<string, string> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const follow = (ref: string): { node: NodeDef; index: number } | undefined => {
    let r = parseRef(ref);
    for (let hops = 0; hops < 64; hops++) {
      const node = byName.get(r.node);
      if (!node) return undefined;
      if (!PASS_THROUGH.has(node.op)) return { node, index: r.index };
      const next = node.op === 'IdentityN' ? node.input[r.index] : node.input[0];
      if (next === undefined) return undefined;
      r = parseRef(next);
    }
    return undefined;
  };
  const names = new Map<string, string[]>();
  const keysOf = (restore: NodeDef): string[] | undefined => {
    if (names.has(restore.name)) return names.get(restore.name);
    const c = restore.input[1] ? follow(restore.input[1])?.node : undefined;
    const t = c?.op === 'Const' ? c.attr.value?.tensor : undefined;
    let keys: string[] | undefined;
    try {
      const values = t ? tensorProtoToValues(t, `Const ${c!.name}`).values : undefined;
      keys = Array.isArray(values) ? values.map((b) => new TextDecoder().decode(b)) : undefined;
    } catch {
      keys = undefined;
    }
    if (keys) names.set(restore.name, keys);
    return keys;
  };

  const out = new Map<string, string>();
  for (const n of nodes) {
    if (!ASSIGN_OPS.has(n.op) || n.input.length < 2) continue;
    const variable = follow(n.input[0])?.node;
    const value = follow(n.input[1]);
    if (!variable || !value || value.node.op !== 'RestoreV2') continue;
    const key = keysOf(value.node)?.[value.index];
    if (key !== undefined && !out.has(variable.name)) out.set(variable.name, key);
  }
  return out;
}
