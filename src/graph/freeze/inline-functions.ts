import { CtrError } from '../../errors/registry.ts';
import type { AttrValue, FunctionDef, FunctionDefLibrary, GraphDef, NodeDef } from '../proto/types.ts';
import { reachableLibrary } from './function-library.ts';
import { flatOutputIndex } from './op-output-args.ts';
import { inputRef, parseRef, tensorName } from './tensor-ref.ts';

const CALL_OPS = new Set(['StatefulPartitionedCall', 'PartitionedCall']);
const MAX_CALL_DEPTH = 64;

export type InlinedGraph = {
  /**
   * The graph without function calls; call nodes survive as IdentityN of their results. Its library keeps only
   * the functions that remaining nodes still name (While/If bodies, calls left as calls).
   */
  readonly graph: GraphDef;
  /** Resolves a tensor name through inlined calls ("StatefulPartitionedCall:0" → the body's result tensor). */
  readonly resolve: (tensor: string) => string;
};

/**
 * Replaces every call of a library function (StatefulPartitionedCall, PartitionedCall, or a node whose op is a
 * function name) by the function body, recursively. Body nodes are renamed "<call>/<node>"; body inputs
 * "node:out_arg:idx" become flat output indices; attr placeholders take the call's attr values. Consumers of a
 * call's outputs are rewired to the body's results, and the call node becomes an IdentityN of those results so
 * that "call:i" stays a valid name. A call whose body cannot be instantiated (list arguments, bad references)
 * stays a call node. Failures: CTR_ERR_INVALID_GRAPH (missing function, recursion).
 */
export function inlineFunctions(graph: GraphDef, source: string): InlinedGraph {
  const functions = new Map((graph.library?.function ?? []).map((f) => [f.signature.name, f]));
  const alias = new Map<string, string>();
  const out: NodeDef[] = [];

  const expand = (nodes: readonly NodeDef[], depth: number): void => {
    for (const node of nodes) {
      const callee = calleeOf(node, functions);
      if (!callee) {
        out.push(node);
        continue;
      }
      if (depth >= MAX_CALL_DEPTH) {
        throw new CtrError(
          'CTR_ERR_INVALID_GRAPH',
          `${source}: calls nested deeper than ${MAX_CALL_DEPTH} at node ${node.name}`,
        );
      }
      const fn = functions.get(callee.name);
      if (!fn) {
        throw new CtrError(
          'CTR_ERR_INVALID_GRAPH',
          `${source}: node ${node.name} calls function ${callee.name}, which is not in the library`,
        );
      }
      let body: { nodes: NodeDef[]; results: string[] };
      try {
        body = instantiate(node, fn, callee.attr, graph.library, source);
      } catch (err) {
        // Left as a call: harmless unless the outputs need it, and then the op check names it.
        if (!(err instanceof CtrError)) throw err;
        out.push(node);
        continue;
      }
      expand(body.nodes, depth + 1);
      body.results.forEach((r, i) => alias.set(`${node.name}:${i}`, tensorName(r)));
      out.push({
        name: node.name,
        op: 'IdentityN',
        input: body.results,
        attr: { T: { list: { type: fn.signature.outputArg.map((a) => argType(a, callee.attr)) } } },
      });
    }
  };
  expand(graph.node, 0);

  const resolve = (tensor: string): string => {
    let t = tensorName(tensor);
    for (let hops = 0; alias.has(t); hops++) {
      if (hops > out.length)
        throw new CtrError('CTR_ERR_INVALID_GRAPH', `${source}: cyclic call results at ${tensor}`);
      t = alias.get(t)!;
    }
    return t;
  };
  for (const node of out) {
    node.input = node.input.map((ref) => {
      const r = parseRef(ref);
      if (r.control) return ref;
      const t = parseRef(resolve(ref));
      return inputRef(t.node, t.index);
    });
  }
  const library = reachableLibrary(out, graph.library);
  return { graph: { node: out, versions: graph.versions, ...(library ? { library } : {}) }, resolve };
}

function calleeOf(
  node: NodeDef,
  functions: Map<string, FunctionDef>,
): { name: string; attr: Record<string, AttrValue> } | undefined {
  if (CALL_OPS.has(node.op)) {
    const f = node.attr.f?.func;
    return f ? { name: f.name, attr: f.attr ?? {} } : undefined;
  }
  return functions.has(node.op) ? { name: node.op, attr: node.attr } : undefined;
}

function argType(
  arg: FunctionDef['signature']['outputArg'][number],
  attr: Record<string, AttrValue>,
): number {
  return arg.typeAttr ? (attr[arg.typeAttr]?.type ?? arg.type) : arg.type;
}

function instantiate(
  call: NodeDef,
  fn: FunctionDef,
  callAttr: Record<string, AttrValue>,
  library: FunctionDefLibrary | undefined,
  source: string,
): { nodes: NodeDef[]; results: string[] } {
  const where = `${source}: function ${fn.signature.name} (called by ${call.name})`;
  const dataInputs = call.input.filter((i) => !i.startsWith('^'));
  const args = new Map<string, string>();
  fn.signature.inputArg.forEach((a, i) => {
    if (a.numberAttr || a.typeListAttr)
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: list argument ${a.name} is not supported`);
    if (dataInputs[i] === undefined)
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: no input for argument ${a.name}`);
    args.set(a.name, dataInputs[i]);
  });
  const bodyNodes = new Map(fn.nodeDef.map((n) => [n.name, n]));
  const prefix = `${call.name}/`;
  const seenArgs = new Map<string, string>();

  const mapRef = (ref: string): string => {
    if (ref.startsWith('^')) return `^${prefix}${ref.slice(1)}`;
    const parts = ref.split(':');
    if (parts.length === 1) {
      const outer = args.get(ref);
      if (outer === undefined)
        throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: unknown argument ${ref}`);
      return outer;
    }
    if (parts.length === 3) {
      const [nodeName, arg, idx] = parts;
      const node = bodyNodes.get(nodeName);
      const flat =
        node && flatOutputIndex(substituted(node, callAttr, where), arg, Number(idx), library, seenArgs);
      if (flat === undefined) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: bad reference ${ref}`);
      return inputRef(prefix + nodeName, flat);
    }
    if (parts.length === 2 && args.has(parts[0]) && parts[1] === '0') return args.get(parts[0])!;
    throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: bad reference ${ref}`);
  };

  const nodes = fn.nodeDef.map((n) => {
    const s = substituted(n, callAttr, where);
    return { ...s, name: prefix + n.name, input: n.input.map(mapRef) };
  });
  const results = fn.signature.outputArg.map((a) => {
    const r = fn.ret[a.name];
    if (r === undefined)
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: no result for output ${a.name}`);
    return mapRef(r);
  });
  return { nodes, results };
}

/** The node with attr placeholders ({placeholder: "T"}) replaced by the call's attr values. */
function substituted(node: NodeDef, callAttr: Record<string, AttrValue>, where: string): NodeDef {
  let attr = node.attr;
  for (const [k, v] of Object.entries(node.attr)) {
    if (!v.placeholder) continue;
    const value = callAttr[v.placeholder];
    if (!value)
      throw new CtrError(
        'CTR_ERR_INVALID_GRAPH',
        `${where}: attr placeholder ${v.placeholder} of node ${node.name} is not set`,
      );
    attr = { ...attr, [k]: value };
  }
  return attr === node.attr ? node : { ...node, attr };
}
