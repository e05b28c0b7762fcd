import { CtrError } from '../../errors/registry.ts';
import { reachableLibrary } from '../freeze/function-library.ts';
import { flatOutputIndex } from '../freeze/op-output-args.ts';
import { inputRef, parseRef } from '../freeze/tensor-ref.ts';
import type { AttrValue, FunctionDef, FunctionDefLibrary, GraphDef, NodeDef } from '../proto/types.ts';

const WHILE_OPS = new Set(['While', 'StatelessWhile']);
const MAX_DEPTH = 32;

/**
 * Lowers every functional While/StatelessWhile to the v1 loop TensorFlow itself runs it as
 * (tensorflow/core/common_runtime/lower_while_op.cc): per loop variable Enter → Merge(Enter, NextIteration), the
 * cond function inlined on the Merges feeding LoopCond, Switch on it, Exit of the false branch, the body inlined
 * on Identity of the true branch, its results into NextIteration. The While node becomes an IdentityN of the
 * Exits, so "while:k" still names loop variable k. Nested loops are lowered too; frames are named after the
 * While node, as TensorFlow does.
 *
 * Why lower rather than let tfjs-converter call the functions: its function executor disposes every tensor a
 * call made except the call's results when the call returns, including the tensors a body wrote into a
 * TensorList (TensorListSetItem keeps the tensor, not a copy), so Keras's output list would hold disposed
 * tensors by the time TensorListStack reads it. In a v1 frame tensors live until their last consumer has run.
 */
export function lowerWhileLoops(g: GraphDef, source: string): GraphDef {
  if (!g.node.some((n) => WHILE_OPS.has(n.op))) return g;
  const functions = new Map((g.library?.function ?? []).map((f) => [f.signature.name, f]));
  const out: NodeDef[] = [];
  const emit = (nodes: readonly NodeDef[], depth: number): void => {
    for (const n of nodes) {
      if (!WHILE_OPS.has(n.op)) {
        out.push(n);
        continue;
      }
      if (depth >= MAX_DEPTH)
        throw new CtrError('CTR_ERR_INVALID_GRAPH', `${source}: loops nested deeper than ${MAX_DEPTH}`);
      emit(lowerOne(n, functions, g.library, source), depth + 1);
    }
  };
  emit(g.node, 0);
  const library = reachableLibrary(out, g.library);
  const { library: _dropped, ...rest } = g;
  return { ...rest, node: out, ...(library ? { library } : {}) };
}

function lowerOne(
  w: NodeDef,
  functions: ReadonlyMap<string, FunctionDef>,
  library: FunctionDefLibrary | undefined,
  source: string,
): NodeDef[] {
  const fn = (key: string) => {
    const name = w.attr[key]?.func?.name;
    const f = name === undefined ? undefined : functions.get(name);
    if (!f)
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${source}: ${w.op} ${w.name} has no ${key} function`);
    return f;
  };
  const types = w.attr.T?.list?.type ?? [];
  const inputs = w.input.filter((i) => !i.startsWith('^'));
  if (types.length !== inputs.length) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `${source}: ${w.op} ${w.name} has ${inputs.length} inputs for ${types.length} types`,
    );
  }
  const p = `${w.name}/`;
  const T = (i: number): AttrValue => ({ type: types[i]! });
  const nodes: NodeDef[] = [];
  const add = (name: string, op: string, input: string[], attr: Record<string, AttrValue>) => {
    nodes.push({ name: p + name, op, input, attr });
    return p + name;
  };
  const frame: Record<string, AttrValue> = {
    frame_name: { s: new TextEncoder().encode(w.name) },
    is_constant: { b: false },
    parallel_iterations: w.attr.parallel_iterations ?? { i: 10 },
  };
  const merges = inputs.map((x, i) => {
    const enter = add(`Enter_${i}`, 'Enter', [x], { T: T(i), ...frame });
    return add(`Merge_${i}`, 'Merge', [enter, `${p}NextIteration_${i}`], { T: T(i), N: { i: 2 } });
  });
  const [pred] = inline(fn('cond'), merges, `${p}cond/`, nodes, library, source);
  const loopCond = add('LoopCond', 'LoopCond', [pred!], {});
  const exits = merges.map((m, i) => {
    const sw = add(`Switch_${i}`, 'Switch', [m, loopCond], { T: T(i) });
    add(`Identity_${i}`, 'Identity', [`${sw}:1`], { T: T(i) });
    return add(`Exit_${i}`, 'Exit', [sw], { T: T(i) });
  });
  const bodyArgs = merges.map((_, i) => `${p}Identity_${i}`);
  const results = inline(fn('body'), bodyArgs, `${p}body/`, nodes, library, source);
  results.forEach((r, i) => add(`NextIteration_${i}`, 'NextIteration', [r], { T: T(i) }));
  nodes.push({ name: w.name, op: 'IdentityN', input: exits, attr: { T: { list: { type: [...types] } } } });
  return nodes;
}

/**
 * Appends `fn`'s body to `into`, nodes renamed `prefix + name`, arguments bound to `args`, control inputs dropped
 * (the v1 frame orders execution by data); returns the result tensors in output-arg order.
 */
function inline(
  fn: FunctionDef,
  args: readonly string[],
  prefix: string,
  into: NodeDef[],
  library: FunctionDefLibrary | undefined,
  source: string,
): string[] {
  const where = `${source}: function ${fn.signature.name}`;
  const bound = new Map(fn.signature.inputArg.map((a, i) => [a.name, args[i]!]));
  const body = new Map(fn.nodeDef.map((n) => [n.name, n]));
  const seen = new Map<string, string>();
  const mapRef = (ref: string): string => {
    const parts = ref.split(':');
    const arg = bound.get(parts[0]!);
    if (arg !== undefined && (parts.length === 1 || (parts.length === 2 && parts[1] === '0'))) return arg;
    const node = body.get(parts[0]!);
    if (!node) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: bad reference ${ref}`);
    const idx =
      parts.length === 3
        ? flatOutputIndex(node, parts[1]!, Number(parts[2]), library, seen)
        : Number(parts[1] ?? 0);
    if (idx === undefined || Number.isNaN(idx))
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: bad reference ${ref}`);
    return inputRef(prefix + node.name, idx);
  };
  for (const n of fn.nodeDef) {
    const input = n.input.filter((i) => !parseRef(i).control).map(mapRef);
    into.push({ ...n, name: prefix + n.name, input });
  }
  return fn.signature.outputArg.map((a) => {
    const r = fn.ret[a.name];
    if (r === undefined) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: no result for ${a.name}`);
    return mapRef(r);
  });
}
