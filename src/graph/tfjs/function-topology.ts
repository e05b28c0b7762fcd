import { CtrError } from '../../errors/registry.ts';
import { flatOutputIndex } from '../freeze/op-output-args.ts';
import type { ArgDef, FunctionDef, FunctionDefLibrary, NodeDef } from '../proto/types.ts';
import { lowerType, topologyNode } from './topology-node.ts';

/**
 * One library function as tfjs-converter's OperationMapper.mapFunction reads it, for While/If to run. Three
 * things differ from the FunctionDef TensorFlow writes, each because of how tfjs runs functions:
 * - every node and argument is renamed "<function>/<name>": tfjs keeps a function's Const values in the model's
 *   one weight map keyed by node name, and seeds each function's tensor map with it, so a body node named like
 *   any weight ("Const", "add") would read that weight instead of running;
 * - "node:out_arg:idx" becomes the flat output index "node:k" (tfjs reads the last field as the index, which is
 *   only right for an op's first output arg);
 * - a result that another result also returns (the same node, or an argument passed through twice) gets an
 *   Identity of its own: tfjs remembers one output index per node.
 * `addConst(name, node)` moves a body Const into the weights and returns its topology node.
 */
export function functionTopology(
  fn: FunctionDef,
  library: FunctionDefLibrary | undefined,
  source: string,
  addConst: (name: string, node: NodeDef) => unknown,
): unknown {
  const fname = fn.signature.name;
  const prefix = `${fname}/`;
  const where = `${source}: function ${fname}`;
  const bodyNodes = new Map(fn.nodeDef.map((n) => [n.name, n]));
  const args = new Set(fn.signature.inputArg.map((a) => a.name));
  const seen = new Map<string, string>();
  const bad = (ref: string) => new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: bad reference ${ref}`);

  const mapRef = (ref: string): string => {
    if (ref.startsWith('^')) return `^${prefix}${ref.slice(1)}`;
    const parts = ref.split(':');
    const [name] = parts;
    if (!args.has(name) && !bodyNodes.has(name)) throw bad(ref);
    if (parts.length === 1) return prefix + name;
    if (parts.length === 2) return `${prefix}${name}:${Number(parts[1])}`;
    const node = bodyNodes.get(name);
    const flat = node && flatOutputIndex(node, parts[1], Number(parts[2]), library, seen);
    if (flat === undefined) throw bad(ref);
    return `${prefix}${name}:${flat}`;
  };

  const nodeDef = fn.nodeDef.map((n) => {
    const renamed = { ...n, name: prefix + n.name, input: n.input.map(mapRef) };
    return n.op === 'Const' ? addConst(renamed.name, renamed) : topologyNode(renamed);
  });
  const results = fn.signature.outputArg.map((a) => {
    const r = fn.ret[a.name];
    if (r === undefined) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: no result for ${a.name}`);
    return mapRef(r);
  });
  const resultNode = (r: string) => r.replace(/:\d+$/, '');
  const ret: Record<string, string> = {};
  fn.signature.outputArg.forEach((a, i) => {
    const r = results[i]!;
    const shared = results.some((o, j) => j !== i && resultNode(o) === resultNode(r));
    if (!shared) {
      ret[a.name] = r;
      return;
    }
    const name = `${prefix}ret/${a.name}`;
    nodeDef.push(topologyNode({ name, op: 'Identity', input: [r], attr: { T: { type: a.type } } }));
    ret[a.name] = `${name}:0`;
  });
  const arg = (a: ArgDef, rename: boolean) => ({
    name: rename ? prefix + a.name : a.name,
    type: lowerType(a.type),
  });
  return {
    signature: {
      name: fname,
      inputArg: fn.signature.inputArg.map((a) => arg(a, true)),
      outputArg: fn.signature.outputArg.map((a) => arg(a, false)),
    },
    nodeDef,
    ret,
  };
}
