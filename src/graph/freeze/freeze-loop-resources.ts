import {
  DataType,
  type AttrValue,
  type FunctionDef,
  type FunctionDefLibrary,
  type NodeDef,
} from '../proto/types.ts';
import { parseRef } from './tensor-ref.ts';

const WHILE_OPS = new Set(['While', 'StatelessWhile']);

/**
 * After variables became constants: a While whose loop variable is a resource handle of a variable (a loop body
 * that reads a captured variable, as a Keras RNN cell does) is given the variable's value instead, as
 * TensorFlow's convert_variables_to_constants_v2 does (_FunctionConverter): the loop variable's type becomes the
 * value's dtype in the While's T and in copies of its cond and body, where ReadVariableOp of that argument
 * becomes Identity and the body's pass-through Identity carries the new dtype. `frozen` names the Consts that
 * were variables. Copies are named "<function>_frozen_<while node>", so other loops keep the originals.
 */
export function freezeLoopResources(
  nodes: readonly NodeDef[],
  library: FunctionDefLibrary | undefined,
  frozen: ReadonlySet<string>,
): { nodes: NodeDef[]; library: FunctionDefLibrary | undefined } {
  if (!library || frozen.size === 0) return { nodes: [...nodes], library };
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const fns = new Map(library.function.map((f) => [f.signature.name, f]));
  const added: FunctionDef[] = [];
  const out = nodes.map((n) => {
    const types = n.attr.T?.list?.type;
    if (!WHILE_OPS.has(n.op) || !types) return n;
    const retyped = new Map<number, number>();
    n.input.forEach((ref, i) => {
      const src = byName.get(parseRef(ref).node);
      if (types[i] === DataType.DT_RESOURCE && src && frozen.has(src.name) && src.op === 'Const') {
        retyped.set(i, src.attr.dtype?.type ?? DataType.DT_FLOAT);
      }
    });
    if (retyped.size === 0) return n;
    const suffix = `_frozen_${n.name.replace(/\W/g, '_')}`;
    const attr: Record<string, AttrValue> = {
      ...n.attr,
      T: { list: { type: types.map((t, i) => retyped.get(i) ?? t) } },
    };
    for (const key of ['cond', 'body'] as const) {
      const fn = fns.get(n.attr[key]?.func?.name ?? '');
      if (!fn) return n;
      added.push(retypeFunction(fn, `${fn.signature.name}${suffix}`, retyped, key === 'body'));
      attr[key] = { func: { name: `${fn.signature.name}${suffix}`, attr: {} } };
    }
    return { ...n, attr };
  });
  return { nodes: out, library: { function: [...library.function, ...added] } };
}

function retypeFunction(
  fn: FunctionDef,
  name: string,
  retyped: ReadonlyMap<number, number>,
  isBody: boolean,
): FunctionDef {
  const argType = new Map<string, number>();
  const inputArg = fn.signature.inputArg.map((a, i) => {
    const t = retyped.get(i);
    if (t === undefined) return a;
    argType.set(a.name, t);
    return { ...a, type: t };
  });
  const argOf = (ref: string) => {
    const [node, idx = '0'] = ref.split(':');
    return ref.split(':').length <= 2 && idx === '0' ? argType.get(node!) : undefined;
  };
  const retNodes = new Map<string, number>();
  const outputArg = fn.signature.outputArg.map((a, i) => {
    const t = isBody ? retyped.get(i) : undefined;
    if (t === undefined) return a;
    retNodes.set(fn.ret[a.name]!.split(':')[0]!, t);
    return { ...a, type: t };
  });
  const nodeDef = fn.nodeDef.map((n) => {
    const t = n.input[0] === undefined ? undefined : argOf(n.input[0]);
    if (n.op === 'ReadVariableOp' && t !== undefined)
      return { ...n, op: 'Identity', attr: { T: { type: t } } };
    const r = retNodes.get(n.name);
    if (n.op === 'Identity' && r !== undefined) return { ...n, attr: { ...n.attr, T: { type: r } } };
    return n;
  });
  return { ...fn, signature: { ...fn.signature, name, inputArg, outputArg }, nodeDef };
}
