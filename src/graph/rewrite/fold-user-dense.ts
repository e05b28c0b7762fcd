import { DataType, type GraphDef, type NodeDef } from '../proto/types.ts';
import { constIntList, float32Const, int32Const, readConst, type ConstValue } from './const-nodes.ts';
import { GraphIndex, parseInput, stringListAttr } from './graph-index.ts';

export type FoldUserDenseOptions = {
  /** The shared-history graph's frontier (share-history.ts): per-user tensors gathered back to their rows. */
  readonly frontier: readonly string[];
  /** Shapes of the tensors `userDenseProbes` named, measured with 2 rows of one user. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Nodes the caller fetches; each gets a single-user counterpart when it depends on a folded layer. */
  readonly outputs: readonly string[];
};

export type FoldedUserDense = {
  readonly graph: GraphDef;
  /** Output node → the node computing it for one user (the node itself when no folded layer feeds it). */
  readonly outputs: ReadonlyMap<string, string>;
  /** The dense nodes that were folded. */
  readonly folded: readonly string[];
};

type Part = { ref: string; kind: 'user' | 'row' | 'scaled'; user?: string; row?: string };
type Dense = { node: NodeDef; parts: Part[]; weights: ConstValue };

/**
 * CTR-shaped execution, one step further than share-history.ts: with ONE user in the call, a dense layer fed
 * `concat([u, c, u⊙c, r], 1) · W + b` (u the user's pooled history gathered to every row, c and r per-row
 * tensors) equals `concat([c, r], 1) · [W_c + diag(u)·W_uc ; W_r] + (u·W_u + b)`: the user's share becomes part of
 * the bias and of the weights, computed once per call, and the per-row matmul loses the u and u⊙c columns (the
 * reference student's first layer goes from 96 to 32 inputs; its concat and product disappear).
 *
 * The folded layer and everything downstream of it are added beside the graph under new names (`…/single_user`),
 * so the graph still computes the per-user-gathered outputs for any number of users and the caller fetches
 * `outputs`' counterparts only when the call has one user. Values equal the unfolded graph up to float rounding
 * (tests compare within 1e-5). Layers are folded when W is a float Const, the concat is along the last axis of
 * rank-2 parts, and at least one part is a frontier tensor or a product of one with a per-row tensor of the same
 * shape (per-row meaning: it has the call's row count, here 2). Returns undefined when no layer qualifies.
 */
export function foldUserDense(graph: GraphDef, options: FoldUserDenseOptions): FoldedUserDense | undefined {
  const g = new GraphIndex(graph);
  const dense = denseLayers(g, options).filter((d): d is Dense => d !== undefined);
  if (dense.length === 0) return undefined;
  const below = downstream(g, new Set(dense.map((d) => d.node.name)));
  const counterpart = new Map<string, string>();
  for (const d of dense) counterpart.set(d.node.name, foldLayer(g, d, options.shapes));
  const copies = below.filter((n) => !counterpart.has(n.name));
  for (const n of copies) counterpart.set(n.name, g.freshName(`${n.name}/single_user`));
  for (const n of copies) {
    g.add({ ...n, name: counterpart.get(n.name)!, input: n.input.map((i) => remapped(i, counterpart)) });
  }
  const outputs = new Map(options.outputs.map((o) => [o, counterpart.get(o) ?? o]));
  return { graph: g.build(), outputs, folded: dense.map((d) => d.node.name) };
}

/** The tensors whose shapes foldUserDense needs: every candidate layer's concatenated parts and their factors. */
export function userDenseProbes(graph: GraphDef, frontier: readonly string[]): string[] {
  if (frontier.length === 0) return [];
  const g = new GraphIndex(graph);
  const refs = new Set<string>();
  for (const node of g.nodes()) {
    const concat = candidateConcat(g, node);
    if (!concat) continue;
    for (const part of concatParts(concat)) {
      refs.add(part);
      const p = g.producer(part);
      if (p?.op === 'Mul') for (const i of p.input) if (!i.startsWith('^')) refs.add(i);
    }
  }
  return [...refs];
}

function candidateConcat(g: GraphIndex, node: NodeDef): NodeDef | undefined {
  const fused = node.op === '_FusedMatMul';
  if (!fused && node.op !== 'MatMul') return undefined;
  if (node.attr.T?.type !== DataType.DT_FLOAT || node.attr.transpose_a?.b || node.attr.transpose_b?.b) return;
  if (fused) {
    const ops = (node.attr.fused_ops?.list?.s ?? []).map((s) => new TextDecoder().decode(s));
    if (ops[0] !== 'BiasAdd' || (node.attr.num_args?.i ?? 0) !== 1 || node.input.length !== 3) return;
  } else if (node.input.length !== 2) return undefined;
  const concat = g.producer(node.input[0]!);
  if (concat?.op !== 'ConcatV2' || parseInput(node.input[0]!).index !== 0) return undefined;
  const w = readConst(g.producer(node.input[1]!));
  return w?.dtype === DataType.DT_FLOAT && w.shape.length === 2 ? concat : undefined;
}

const concatParts = (concat: NodeDef) => concat.input.filter((i) => !i.startsWith('^')).slice(0, -1);

function denseLayers(g: GraphIndex, options: FoldUserDenseOptions): (Dense | undefined)[] {
  const frontier = new Set(options.frontier);
  const shape = (ref: string) => options.shapes.get(ref);
  const rowShaped = (ref: string) => shape(ref)?.length === 2 && shape(ref)![0] === 2;
  return g.nodes().map((node) => {
    const concat = candidateConcat(g, node);
    if (!concat) return undefined;
    const axis = constIntList(g.producer(concat.input.filter((i) => !i.startsWith('^')).at(-1)!))?.[0];
    if (axis !== 1 && axis !== -1) return undefined;
    const refs = concatParts(concat);
    if (!refs.every(rowShaped)) return undefined;
    const parts = refs.map((ref): Part => {
      const p = g.producer(ref);
      const perUser = (r: string) => {
        const q = g.producer(r);
        return q && frontier.has(q.name) && parseInput(r).index === 0 ? q.input[0] : undefined;
      };
      const user = perUser(ref);
      if (user) return { ref, kind: 'user', user };
      if (p?.op === 'Mul' && parseInput(ref).index === 0) {
        const [x, y, ...rest] = p.input;
        if (x && y && rest.length === 0 && rowShaped(x) && rowShaped(y) && shape(x)![1] === shape(y)![1]) {
          const [ux, uy] = [perUser(x), perUser(y)];
          if (ux && !uy) return { ref, kind: 'scaled', user: ux, row: y };
          if (uy && !ux) return { ref, kind: 'scaled', user: uy, row: x };
        }
      }
      return { ref, kind: 'row', row: ref };
    });
    if (!parts.some((p) => p.kind !== 'row')) return undefined;
    const weights = readConst(g.producer(node.input[1]!))!;
    const width = parts.reduce((sum, p) => sum + shape(p.ref)![1]!, 0);
    return width === weights.shape[0] ? { node, parts, weights } : undefined;
  });
}

type Terms = { user: string; w: Float32Array }[];
type RowTerms = Map<string, { fixed?: Float32Array; scaled: Terms }>;

/** Node makers for the nodes of one folded layer: fresh names under `<layer>/single_user/`, the layer's device. */
function layerOps(g: GraphIndex, d: Dense) {
  const fresh = (suffix: string) => g.freshName(`${d.node.name}/single_user/${suffix}`);
  const op = (suffix: string, type: string, input: string[], attr: NodeDef['attr'] = {}) =>
    g.add({ name: fresh(suffix), op: type, input, device: d.node.device, attr: { T: FLOAT, ...attr } });
  const axis = (suffix: string, v: number) => g.add(int32Const(fresh(suffix), [v], []));
  return { fresh, op, axis };
}
type LayerOps = ReturnType<typeof layerOps>;

const FLOAT = { type: DataType.DT_FLOAT };

/** Adds the single-user form of one dense layer; returns its node name. */
function foldLayer(g: GraphIndex, d: Dense, shapes: ReadonlyMap<string, readonly number[]>): string {
  const cols = d.weights.shape[1]!;
  const ops = layerOps(g, d);
  const { rowOrder, rowTerms, userTerms } = splitWeights(d, shapes);
  const blocks = weightBlocks(g, ops, rowOrder, rowTerms, shapes, cols);
  const concat = (suffix: string, refs: string[], axisValue: number) =>
    refs.length === 1
      ? refs[0]!
      : ops.op(suffix, 'ConcatV2', [...refs, ops.axis(`${suffix}/axis`, axisValue)], {
          N: { i: refs.length },
          Tidx: { type: DataType.DT_INT32 },
        });
  const x = concat('rows', rowOrder, 1);
  const w = concat('weights', blocks, 0);
  const userBias = userBiasOf(g, ops, userTerms, cols);
  const name = g.freshName(`${d.node.name}/single_user`);
  if (d.node.op === '_FusedMatMul') {
    const bias = userBias ? ops.op('bias', 'AddV2', [d.node.input[2]!, userBias]) : d.node.input[2]!;
    return g.add({ ...d.node, name, input: [x, w, bias] });
  }
  const attr = { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } };
  if (!userBias) return g.add({ name, op: 'MatMul', input: [x, w], device: d.node.device, attr });
  return g.add({
    name,
    op: '_FusedMatMul',
    input: [x, w, userBias],
    device: d.node.device,
    attr: { ...attr, fused_ops: stringListAttr(['BiasAdd']), num_args: { i: 1 }, epsilon: { f: 0 } },
  });
}

/** Per row tensor: the constant rows of W it meets directly, and the user-scaled rows it meets in u⊙row. */
function splitWeights(
  d: Dense,
  shapes: ReadonlyMap<string, readonly number[]>,
): { rowOrder: string[]; rowTerms: RowTerms; userTerms: Terms } {
  const cols = d.weights.shape[1]!;
  const slice = (from: number, rows: number) =>
    d.weights.values.subarray(from * cols, (from + rows) * cols) as Float32Array;
  const rowOrder: string[] = [];
  const rowTerms: RowTerms = new Map();
  const userTerms: Terms = [];
  let at = 0;
  for (const part of d.parts) {
    const rows = shapes.get(part.ref)![1]!;
    const w = slice(at, rows);
    at += rows;
    if (part.kind === 'user') {
      userTerms.push({ user: part.user!, w });
      continue;
    }
    if (!rowTerms.has(part.row!)) {
      rowOrder.push(part.row!);
      rowTerms.set(part.row!, { scaled: [] });
    }
    const t = rowTerms.get(part.row!)!;
    if (part.kind === 'scaled') t.scaled.push({ user: part.user!, w });
    else if (t.fixed) t.fixed = t.fixed.map((v, i) => v + w[i]!);
    else t.fixed = Float32Array.from(w);
  }
  return { rowOrder, rowTerms, userTerms };
}

/** One weight block per row tensor: W_c + diag(u)·W_uc + … */
function weightBlocks(
  g: GraphIndex,
  { fresh, op }: LayerOps,
  rowOrder: readonly string[],
  rowTerms: RowTerms,
  shapes: ReadonlyMap<string, readonly number[]>,
  cols: number,
): string[] {
  return rowOrder.map((row, k) => {
    const { fixed, scaled } = rowTerms.get(row)!;
    const rows = shapes.get(row)![1]!;
    let block = fixed ? g.add(float32Const(fresh(`w${k}`), fixed, [rows, cols])) : undefined;
    for (const [j, s] of scaled.entries()) {
      // diag(u)·W: u as a column [rows, 1] times W [rows, cols]. Transpose (not Reshape) makes a new tensor.
      const column = op(
        `u${k}_${j}/column`,
        'Transpose',
        [s.user, g.add(int32Const(fresh(`perm${k}_${j}`), [1, 0], [2]))],
        {
          Tperm: { type: DataType.DT_INT32 },
        },
      );
      const term = op(`w${k}_${j}/scaled`, 'Mul', [
        column,
        g.add(float32Const(fresh(`w${k}_${j}`), s.w, [rows, cols])),
      ]);
      block = block ? op(`w${k}_${j}/sum`, 'AddV2', [block, term]) : term;
    }
    return block!;
  });
}

/** u·W_u as a rank-1 vector (Sum over the one user, a new tensor: tfjs-wasm's fused bias must be rank 1). */
function userBiasOf(g: GraphIndex, { fresh, op, axis }: LayerOps, userTerms: Terms, cols: number) {
  let userBias: string | undefined;
  for (const [j, t] of userTerms.entries()) {
    const rows = t.w.length / cols;
    const product = op(
      `user${j}/matmul`,
      'MatMul',
      [t.user, g.add(float32Const(fresh(`wu${j}`), t.w, [rows, cols]))],
      {
        transpose_a: { b: false },
        transpose_b: { b: false },
      },
    );
    const vector = op(`user${j}/vector`, 'Sum', [product, axis(`user${j}/axis`, 0)], {
      Tidx: { type: DataType.DT_INT32 },
      keep_dims: { b: false },
    });
    userBias = userBias ? op(`user${j}/sum`, 'AddV2', [userBias, vector]) : vector;
  }
  return userBias;
}

/** Nodes reading (transitively) any of `roots`, roots included, in graph order. */
function downstream(g: GraphIndex, roots: ReadonlySet<string>): NodeDef[] {
  const reached = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of g.nodes()) {
      if (reached.has(n.name)) continue;
      if (n.input.some((i) => reached.has(parseInput(i).node))) {
        reached.add(n.name);
        grew = true;
      }
    }
  }
  return g.nodes().filter((n) => reached.has(n.name));
}

function remapped(input: string, names: ReadonlyMap<string, string>): string {
  const ref = parseInput(input);
  const to = names.get(ref.node);
  if (!to) return input;
  return ref.control ? `^${to}` : ref.index === 0 ? to : `${to}:${ref.index}`;
}
