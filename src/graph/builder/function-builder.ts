import { CtrError } from '../../errors/registry.ts';
import type { ArgDef, AttrValue, FunctionDef, NodeDef } from '../proto/types.ts';
import { dtypeNumber, type Dtype } from './attrs.ts';
import { GraphBuilder } from './graph-builder.ts';

export type FunctionArg = { readonly name: string; readonly dtype: Dtype };

/**
 * Name of each op's (single) output argument in tensorflow/core/ops/*.cc, which a FunctionDef body uses to name
 * tensors ("MatMul:product:0"). Ops not listed are written with "output", the name most ops use.
 */
const OUTPUT_ARG: Readonly<Record<string, string>> = {
  MatMul: 'product',
  BatchMatMulV2: 'output',
  Add: 'z',
  AddV2: 'z',
  Sub: 'z',
  Mul: 'z',
  RealDiv: 'z',
  Maximum: 'z',
  Minimum: 'z',
  Less: 'z',
  Greater: 'z',
  Equal: 'z',
  NotEqual: 'z',
  LogicalAnd: 'z',
  Sigmoid: 'y',
  Tanh: 'y',
  Relu: 'activations',
  Cast: 'y',
  Transpose: 'y',
  Neg: 'y',
  Exp: 'y',
  TensorListGetItem: 'item',
  TensorListSetItem: 'output_handle',
  TensorListReserve: 'handle',
  TensorListFromTensor: 'output_handle',
  TensorListStack: 'tensor',
  TensorListLength: 'length',
};

/**
 * Builds one FunctionDef the way TensorFlow writes a traced function into a graph's library
 * (tensorflow/core/framework/function.proto): `body` gets a GraphBuilder whose ops go into the function and the
 * argument tensors (named as the arguments), and returns the result tensors, one per output arg. Inside the
 * body's NodeDefs, arguments are referenced by bare name ("x") and node outputs as "node:out_arg:index", as
 * TensorFlow's FunctionDef layout has it. Pure data; failures: CTR_ERR_INVALID_GRAPH (wrong number of results).
 */
export function buildFunction(
  name: string,
  inputs: readonly FunctionArg[],
  outputs: readonly FunctionArg[],
  body: (b: GraphBuilder, args: string[]) => readonly string[],
): FunctionDef {
  const b = new GraphBuilder();
  const args = inputs.map((a) => b.bind(a.name, a.dtype));
  const results = body(b, args);
  if (results.length !== outputs.length) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `function ${name}: ${results.length} results for ${outputs.length} outputs`,
    );
  }
  const argNames = new Set(inputs.map((a) => a.name));
  const nodes = b.toGraphDef().node;
  const ops = new Map(nodes.map((n) => [n.name, n.op]));
  const ref = (r: string): string => {
    if (r.startsWith('^')) return r;
    const m = /^(.*?)(?::(\d+))?$/.exec(r)!;
    const [node, idx = '0'] = [m[1], m[2]];
    if (argNames.has(node) && idx === '0') return node;
    const op = ops.get(node);
    if (op === undefined) throw new CtrError('CTR_ERR_INVALID_GRAPH', `function ${name}: no node ${node}`);
    return `${node}:${OUTPUT_ARG[op] ?? 'output'}:${idx}`;
  };
  const nodeDef: NodeDef[] = nodes.map((n) => ({ ...n, input: n.input.map(ref) }));
  const argDef = (a: FunctionArg): ArgDef => ({ name: a.name, type: dtypeNumber(a.dtype) });
  return {
    signature: { name, inputArg: inputs.map(argDef), outputArg: outputs.map(argDef), attr: [] },
    attr: {},
    nodeDef,
    ret: Object.fromEntries(outputs.map((o, i) => [o.name, ref(results[i]!)])),
  };
}

/** A function-valued attr (While's cond/body, If's branches). */
export const funcAttr = (name: string): AttrValue => ({ func: { name, attr: {} } });
