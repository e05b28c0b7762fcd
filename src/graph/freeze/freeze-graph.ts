import { CtrError } from '../../errors/registry.ts';
import type { GraphDef, NodeDef, TensorShapeProto } from '../proto/types.ts';
import { tensorProtoToValues } from '../tensor/tensor-values.ts';
import { reachableLibrary } from './function-library.ts';
import { inlineFunctions } from './inline-functions.ts';
import { parseRef, tensorName } from './tensor-ref.ts';
import { initAssignments, restoreKeys } from './restore-keys.ts';
import { freezeLoopResources } from './freeze-loop-resources.ts';
import { VARIABLE_OPS, variablesToConstants, type Checkpoint } from './variables-to-constants.ts';

export type Feed = {
  /** Tensor name in the source graph ("x:0"); need not be a Placeholder. */
  readonly tensor: string;
  readonly dtype: number;
  readonly shape?: TensorShapeProto;
};

export type FreezeGraphOptions = {
  /** Output node names ("ctr") or tensor names ("ctr:0") in the source graph. */
  readonly outputs: readonly string[];
  readonly feeds?: readonly Feed[];
  readonly checkpoint?: Checkpoint;
  /** File names for messages. */
  readonly source: string;
  readonly checkpointSource?: string;
  /** The SavedModel's init op(s), run by TensorFlow's loader after the restore (restore-keys.ts). */
  readonly initOps?: readonly string[];
  /**
   * true (default): outputs are rewired to the tensors that compute them (a call's result goes straight to the
   * body's tensor). false: requested output nodes keep their names in the result, for files written by `freeze`.
   */
  readonly resolveOutputs?: boolean;
};

export type FrozenGraph = {
  /**
   * Plain GraphDef: no variables, no control inputs, only what the outputs need; its library holds only the
   * functions of the functional ops (While, If) kept.
   */
  readonly graph: GraphDef;
  /** Requested output → its tensor name in `graph`, in request order. */
  readonly outputs: ReadonlyMap<string, string>;
  /** Feed tensor → Placeholder tensor name in `graph`. */
  readonly feeds: ReadonlyMap<string, string>;
};

/** Ops that only order or check execution: never part of the data path tfjs runs. */
const NON_DATA_OPS = new Set([
  'NoOp',
  'Assert',
  'Print',
  'PrintV2',
  'SaveV2',
  'RestoreV2',
  'MergeV2Checkpoints',
]);

/**
 * Freezes a GraphDef (a frozen graph, or a SavedModel's MetaGraphDef graph with its checkpoint) into one plain
 * GraphDef the way TensorFlow's convert_variables_to_constants + extract_sub_graph do, after inlining function
 * calls: fed tensors become Placeholders (their inputs cut), everything not needed by the outputs is pruned,
 * control inputs are dropped, variables become constants. Every Const in the source graph is validated first,
 * as TensorFlow's graph import runs each node's shape function.
 * Failures: CTR_ERR_OUTPUT_NOT_FOUND, CTR_ERR_INVALID_GRAPH, CTR_ERR_TENSOR_TOO_LARGE, CTR_ERR_NOT_FROZEN,
 * CTR_ERR_MISSING_VARIABLE.
 */
export function freezeGraph(source: GraphDef, opts: FreezeGraphOptions): FrozenGraph {
  const { graph, resolve } = inlineFunctions(source, opts.source);
  const byName = new Map<string, NodeDef>();
  for (const n of graph.node) {
    if (byName.has(n.name))
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${opts.source}: two nodes are named ${n.name}`);
    byName.set(n.name, n);
  }
  for (const n of graph.node) if (n.op === 'Const') validateConst(n, opts.source);

  const outputs = new Map<string, string>();
  for (const o of opts.outputs) {
    const t = opts.resolveOutputs === false ? tensorName(o) : resolve(o);
    if (!byName.has(parseRef(t).node)) {
      throw new CtrError(
        'CTR_ERR_OUTPUT_NOT_FOUND',
        `${opts.source} has no node ${parseRef(o).node} (requested output ${o})`,
      );
    }
    outputs.set(o, t);
  }

  const { feeds, fedNodes } = fedPlaceholders(opts, byName, resolve);

  const keep = new Set<string>();
  const stack = [...outputs.values()].map((t) => parseRef(t).node);
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    const node = fedNodes.get(name) ?? byName.get(name);
    if (!node)
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `${opts.source}: input node ${name} does not exist`);
    keep.add(name);
    for (const ref of node.input) {
      const r = parseRef(ref);
      if (!r.control) stack.push(r.node);
    }
  }

  const pruned: NodeDef[] = [];
  for (const n of graph.node) {
    if (!keep.has(n.name)) continue;
    const node = fedNodes.get(n.name) ?? n;
    if (NON_DATA_OPS.has(node.op)) {
      throw new CtrError(
        'CTR_ERR_INVALID_GRAPH',
        `${opts.source}: ${node.op} node ${node.name} is on the data path`,
      );
    }
    pruned.push({ ...node, input: node.input.filter((i) => !i.startsWith('^')) });
  }
  const restored = opts.checkpoint ? restoreKeys(graph.node) : new Map<string, string>();
  const where = { source: opts.source, checkpoint: opts.checkpointSource };
  const initialized = initAssignments(graph.node, opts.initOps ?? []);
  const converted = variablesToConstants(pruned, opts.checkpoint, where, restored, initialized);
  const wereVariables = new Set(pruned.filter((n) => VARIABLE_OPS.has(n.op)).map((n) => n.name));
  const loops = freezeLoopResources(converted, graph.library, wereVariables);
  const node = loops.nodes;
  const library = reachableLibrary(node, loops.library);
  return { graph: { node, versions: source.versions, ...(library ? { library } : {}) }, outputs, feeds };
}

/** Fed tensor → frozen tensor name, and the Placeholders that replace fed nodes which are not Placeholders. */
function fedPlaceholders(
  opts: FreezeGraphOptions,
  byName: ReadonlyMap<string, NodeDef>,
  resolve: (tensor: string) => string,
): { feeds: Map<string, string>; fedNodes: Map<string, NodeDef> } {
  const feeds = new Map<string, string>();
  const fedNodes = new Map<string, NodeDef>();
  for (const f of opts.feeds ?? []) {
    const t = parseRef(resolve(f.tensor));
    const node = byName.get(t.node);
    if (!node)
      throw new CtrError(
        'CTR_ERR_INVALID_GRAPH',
        `${opts.source}: the signature feeds ${f.tensor}, which is not in the graph`,
      );
    if (t.index !== 0) {
      throw new CtrError(
        'CTR_ERR_INVALID_GRAPH',
        `${opts.source}: feeding output ${t.index} of node ${t.node} is not supported`,
      );
    }
    feeds.set(f.tensor, `${t.node}:0`);
    if (node.op === 'Placeholder') continue;
    const shape = f.shape ?? node.attr._output_shapes?.list?.shape?.[0] ?? { dim: [], unknownRank: true };
    fedNodes.set(t.node, {
      name: t.node,
      op: 'Placeholder',
      input: [],
      attr: { dtype: { type: f.dtype }, shape: { shape } },
    });
  }
  return { feeds, fedNodes };
}

function validateConst(n: NodeDef, source: string): void {
  const t = n.attr.value?.tensor;
  const where = `${source}: Const node ${n.name}`;
  if (!t) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where} has no value`);
  const dtype = n.attr.dtype?.type;
  if (dtype !== undefined && dtype !== t.dtype) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `${where}: dtype attr ${dtype} differs from its value's dtype ${t.dtype}`,
    );
  }
  // Decoding checks shape, size limits and content length without keeping anything.
  try {
    tensorProtoToValues(t, where);
  } catch (err) {
    // A dtype tfjs cannot hold (complex, variant) is refused later only if the outputs need it.
    if (!(err instanceof CtrError && (err.code as string) === 'CTR_ERR_UNSUPPORTED_DTYPE')) throw err;
  }
}
