import { DataType, type GraphDef, type NodeDef } from '../proto/types.ts';
import { constIntList, int32Const, readConst } from './const-nodes.ts';
import { GraphIndex, parseInput, tensorRef } from './graph-index.ts';
import { resolveAxis, staticShape } from './static-shape.ts';

export type ShareHistoryOptions = {
  /** The Placeholder holding each row's history, [B, L]. */
  readonly history: string;
  /** Name of the new int32 [N] Placeholder mapping each row to its user (a row of `history`). */
  readonly userIndex: string;
  /** Signature nodes: they keep their names (and outputs their per-row values). */
  readonly keepNodes?: readonly string[];
};

export type SharedHistoryGraph = {
  readonly graph: GraphDef;
  readonly userIndex: string;
  /** The history-only tensors gathered back per row (for the pooled history of the reference student, its Mean). */
  readonly frontier: readonly string[];
};

/**
 * CTR-shaped execution: when many rows share one user's history, the part of the graph that depends on the
 * history alone (embedding, pooling, a user tower) is computed once per user instead of once per row. The result
 * feeds `history` as [U, L] (one row per user) plus `userIndex` int32 [N] (row → user), and gathers each
 * history-only tensor where it meets the rest of the graph back to [N, …] as GatherV2(t, userIndex, 0) would. Values
 * equal the original graph fed each user's history repeated on its rows, because every op of the history branch
 * is checked to be row-wise (row i of its output depends on row i of its inputs only); any other op there, or a
 * branch that is just the raw history, gives `undefined` (nothing to share).
 *
 * Run it on the graph as TensorFlow wrote it (before the embedding-bag pass, whose segment ids are not row-wise).
 */
export function shareHistory(graph: GraphDef, options: ShareHistoryOptions): SharedHistoryGraph | undefined {
  const g = new GraphIndex(graph);
  const found = historyBranch(g, options);
  if (!found) return undefined;
  const { inBranch, frontier } = found;

  const userIndex = g.add({
    name: options.userIndex,
    op: 'Placeholder',
    input: [],
    attr: {
      dtype: { type: DataType.DT_INT32 },
      shape: { shape: { dim: [{ size: -1 }], unknownRank: false } },
    },
  });
  const int = (suffix: string, values: number[], shape: number[]) =>
    g.add(int32Const(g.freshName(`${options.userIndex}/${suffix}`), values, shape));
  const INT = { type: DataType.DT_INT32 };
  let rows: string | undefined;
  for (const node of frontier) {
    const perUser = g.freshName(`${node.name}/per_user`);
    for (const reader of g.consumers(node.name).filter((c) => inBranch.has(c.name))) {
      g.replace({ ...reader, input: reader.input.map((i) => renamed(i, node.name, perUser)) });
    }
    const current = g.get(node.name) ?? node;
    g.remove(node.name);
    g.add({ ...current, name: perUser });
    inBranch.add(perUser);
    const type = outputType(node);
    if (type === DataType.DT_FLOAT) {
      // One-row segments: the same values as GatherV2(perUser, userIndex, 0), and the fast kernel on tfjs-wasm
      // (see embedding-lookup.ts).
      rows ??= g.add({
        name: g.freshName(`${options.userIndex}/rows`),
        op: 'Range',
        input: [
          int('start', [0], []),
          g.add({
            name: g.freshName(`${options.userIndex}/size`),
            op: 'Size',
            input: [userIndex],
            attr: { T: INT, out_type: INT },
          }),
          int('delta', [1], []),
        ],
        attr: { Tidx: INT },
      });
      g.add({
        name: node.name,
        op: 'SparseSegmentSum',
        input: [perUser, userIndex, rows],
        device: node.device,
        attr: { T: { type }, Tidx: INT, Tsegmentids: INT },
      });
    } else {
      g.add({
        name: node.name,
        op: 'GatherV2',
        input: [perUser, userIndex, int('axis', [0], [])],
        device: node.device,
        attr: { Tparams: { type }, Tindices: INT, Taxis: INT, batch_dims: { i: 0 } },
      });
    }
  }
  return { graph: g.build(), userIndex: options.userIndex, frontier: frontier.map((n) => n.name) };
}

/**
 * The nodes that depend on the history alone, every one row-wise, and their frontier (those read from outside
 * the branch, or kept); undefined when there is nothing to share.
 */
function historyBranch(
  g: GraphIndex,
  options: ShareHistoryOptions,
): { inBranch: Set<string>; frontier: NodeDef[] } | undefined {
  const history = g.get(options.history);
  if (history?.op !== 'Placeholder' || g.get(options.userIndex)) return undefined;
  const historyRank = staticShape(g, options.history)?.length ?? null;
  if (historyRank !== 2) return undefined;

  const deps = dependencies(g, options.history);
  const branch = g.nodes().filter((n) => deps.get(n.name) === 'history');
  const ranks = new Map<string, number | null>([[options.history, historyRank]]);
  for (const node of topological(g, branch)) {
    if (node.name === options.history) continue;
    const rank = rowWiseRank(g, node, ranks, deps);
    if (rank === undefined) return undefined;
    ranks.set(node.name, rank);
  }
  const inBranch = new Set(branch.map((n) => n.name));
  const keep = new Set(options.keepNodes ?? []);
  const frontier = branch.filter(
    (n) =>
      (keep.has(n.name) && n.name !== options.history) ||
      g.consumers(n.name).some((c) => !inBranch.has(c.name) && c.input.some((i) => !i.startsWith('^'))),
  );
  if (frontier.length === 0 || frontier.some((n) => n.name === options.history)) return undefined;
  return { inBranch, frontier };
}

type Dep = 'none' | 'history' | 'other';

/** For every node: depends on nothing fed (constants), on the history only, or on any other input. */
function dependencies(g: GraphIndex, history: string): Map<string, Dep> {
  const memo = new Map<string, Dep>();
  const visit = (name: string, depth: number): Dep => {
    const hit = memo.get(name);
    if (hit) return hit;
    const node = g.get(name);
    if (!node || depth > 10_000) return 'other';
    let dep: Dep = name === history ? 'history' : node.op === 'Placeholder' ? 'other' : 'none';
    for (const input of node.input) {
      if (dep === 'other') break;
      const d = visit(parseInput(input).node, depth + 1);
      if (d === 'other' || (d === 'history' && dep === 'none')) dep = d;
    }
    memo.set(name, dep);
    return dep;
  };
  for (const n of g.nodes()) visit(n.name, 0);
  return memo;
}

function topological(g: GraphIndex, nodes: NodeDef[]): NodeDef[] {
  const names = new Set(nodes.map((n) => n.name));
  const done = new Set<string>();
  const out: NodeDef[] = [];
  const visit = (n: NodeDef) => {
    if (done.has(n.name)) return;
    done.add(n.name);
    for (const i of n.input) {
      const p = g.get(parseInput(i).node);
      if (p && names.has(p.name)) visit(p);
    }
    out.push(n);
  };
  nodes.forEach(visit);
  return out;
}

const words = (text: string) => new Set(text.trim().split(/\s+/));
const UNARY = words(`Identity Cast StopGradient Relu Relu6 Elu Selu Sigmoid Tanh LeakyRelu Erf Neg Abs Exp Log
  Log1p Sqrt Rsqrt Square Softplus Reciprocal Sign Floor Round LogicalNot`);
const BINARY =
  words(`Add AddV2 Sub Mul RealDiv Div DivNoNan Maximum Minimum Pow BiasAdd SquaredDifference FloorDiv
  FloorMod SelectV2 Select LogicalAnd LogicalOr NotEqual Equal Greater GreaterEqual Less LessEqual`);
const REDUCE = new Set(['Mean', 'Sum', 'Max', 'Min', 'Prod', 'All', 'Any']);

/**
 * The rank of `node`'s output (null: unknown) when the node is row-wise over the batch dimension, else
 * undefined. Inputs are either rows (in the history branch, batch first) or constants that must not broadcast
 * against the batch dimension.
 */
function rowWiseRank(
  g: GraphIndex,
  node: NodeDef,
  ranks: Map<string, number | null>,
  deps: Map<string, Dep>,
): number | null | undefined {
  const data = node.input.filter((i) => !i.startsWith('^'));
  const isRow = (ref: string) => deps.get(parseInput(ref).node) === 'history';
  const rankOf = (ref: string) => ranks.get(parseInput(ref).node) ?? null;
  if (data.some((ref) => parseInput(ref).index !== 0)) return undefined;
  if (UNARY.has(node.op)) return data.length === 1 ? rankOf(data[0]) : undefined;
  if (BINARY.has(node.op)) {
    const rows = data.filter(isRow);
    let rank: number | null = Math.max(...rows.map((r) => rankOf(r) ?? -1));
    if (rank < 0) rank = null;
    for (const other of data.filter((r) => !isRow(r))) {
      const shape = staticShape(g, other);
      if (!shape) return undefined;
      const safe =
        shape.length === 0 ||
        (rank !== null && (shape.length < rank || (shape.length === rank && shape[0] === 1)));
      if (!safe) return undefined;
    }
    return rank;
  }
  if (node.op === 'GatherV2') {
    // Rows of ids looked up in a table that does not depend on the history.
    const [params, ids, axis] = data;
    if (!params || isRow(params) || !ids || !isRow(ids) || !axis) return undefined;
    if (constIntList(g.producer(axis))?.[0] !== 0) return undefined;
    if ((node.attr.batch_dims?.i ?? 0) !== 0) return undefined;
    const p = staticShape(g, params);
    const idsRank = rankOf(ids);
    return p && idsRank !== null ? idsRank + p.length - 1 : null;
  }
  const [x, second] = data;
  if (!x || !isRow(x)) return undefined;
  const rank = rankOf(x);
  if (REDUCE.has(node.op)) {
    const axes = constIntList(g.producer(second));
    if (!axes || axes.some((a) => resolveAxis(a, rank) === null || resolveAxis(a, rank) === 0))
      return undefined;
    return rank === null
      ? null
      : node.attr.keep_dims?.b
        ? rank
        : rank - new Set(axes.map((a) => resolveAxis(a, rank))).size;
  }
  switch (node.op) {
    case 'ExpandDims': {
      const axis = constIntList(g.producer(second))?.[0];
      const at = axis === undefined ? null : resolveAxis(axis, rank === null ? null : rank + 1);
      return at === null || at === 0 ? undefined : rank === null ? null : rank + 1;
    }
    case 'Squeeze': {
      const dims = node.attr.squeeze_dims?.list?.i ?? [];
      if (dims.length === 0 || dims.some((d) => resolveAxis(d, rank) === null || resolveAxis(d, rank) === 0))
        return undefined;
      return rank === null ? null : rank - dims.length;
    }
    case 'ConcatV2': {
      const values = data.slice(0, -1);
      const axis = constIntList(g.producer(data[data.length - 1]))?.[0];
      const at = axis === undefined ? null : resolveAxis(axis, rank);
      return values.every(isRow) && at !== null && at !== 0 ? rank : undefined;
    }
    case 'MatMul':
    case '_FusedMatMul':
      if (node.attr.transpose_a?.b || data.slice(1).some(isRow)) return undefined;
      return rank;
    default:
      return undefined;
  }
}

function renamed(input: string, from: string, to: string): string {
  const ref = parseInput(input);
  if (ref.node !== from) return input;
  return ref.control ? `^${to}` : tensorRef(to, ref.index);
}

const COMPARE = new Set(['NotEqual', 'Equal', 'Greater', 'GreaterEqual', 'Less', 'LessEqual']);

function outputType(node: NodeDef): number {
  if (COMPARE.has(node.op) || node.op.startsWith('Logical') || node.op === 'All' || node.op === 'Any') {
    return DataType.DT_BOOL;
  }
  const t = node.attr.T?.type ?? node.attr.DstT?.type ?? node.attr.Tparams?.type ?? node.attr.dtype?.type;
  if (t !== undefined) return t;
  return readConst(node)?.dtype ?? DataType.DT_FLOAT;
}
