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
  const follow = follower(new Map(nodes.map((n) => [n.name, n])));
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

/** Resolves a tensor reference through Identity/IdentityN to the node that makes it. */
function follower(byName: ReadonlyMap<string, NodeDef>) {
  return (ref: string): { node: NodeDef; index: number } | undefined => {
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
}

/**
 * Variable node → the Const its SavedModel init op assigns it (TF1: collection_def "legacy_init_op" /
 * "saved_model_main_op"; TF2: the "__saved_model_init_op" signature), found by walking the init op's inputs,
 * control and data, to its Assign / AssignVariableOp nodes. TensorFlow's loader runs that op after restoring the
 * checkpoint, so such a value wins over the checkpoint's. Assigns of computed values are left out.
 */
export function initAssignments(nodes: readonly NodeDef[], initOps: readonly string[]): Map<string, NodeDef> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const follow = follower(byName);
  const out = new Map<string, NodeDef>();
  const seen = new Set<string>();
  const stack = initOps.map((o) => parseRef(o).node);
  while (stack.length) {
    const n = byName.get(stack.pop()!);
    if (!n || seen.has(n.name)) continue;
    seen.add(n.name);
    for (const i of n.input) stack.push(parseRef(i).node);
    if (!ASSIGN_OPS.has(n.op) || n.input.length < 2) continue;
    const variable = follow(n.input[0]!)?.node;
    const value = follow(n.input[1]!)?.node;
    if (variable && value?.op === 'Const' && !out.has(variable.name)) out.set(variable.name, value);
  }
  return out;
}
