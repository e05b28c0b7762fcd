import { DataType, type GraphDef, type NodeDef } from '../proto/types.ts';
import { float32Const, readConst } from './const-nodes.ts';
import { GraphIndex, attrString, parseInput, stringListAttr } from './graph-index.ts';
import { staticShape } from './static-shape.ts';

/** Activations tfjs's fused matmul applies (tfjs-core fused_util); Tanh is not among them, so it stays apart. */
const FUSABLE_ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'Sigmoid', 'LeakyRelu']);

/**
 * `MatMul → BiasAdd [→ Relu|Relu6|Elu|Sigmoid|LeakyRelu]` → one `_FusedMatMul` node, written as TensorFlow's
 * grappler remapper writes it (inputs [a, b, bias]; attrs T, transpose_a, transpose_b, fused_ops ["BiasAdd",
 * act], num_args 1, epsilon, leakyrelu_alpha), which tfjs-converter reads. `Add|AddV2(MatMul, c)` with c a rank-1
 * float Const as long as the output's last dim counts as a BiasAdd. The fused node takes the name of the last node
 * it replaces, so consumers and output names are unchanged; a link is only fused when the earlier node has no
 * other reader and is not in `keep` (a signature output such as `logit` must survive).
 */
export function fuseMatMul(graph: GraphDef, keep: ReadonlySet<string> = new Set()): GraphDef {
  const g = new GraphIndex(graph);
  const transposed = new Map<string, string>();
  let changed = false;
  for (const matmul of g.nodes()) {
    if (matmul.op !== 'MatMul' || matmul.attr.T?.type !== DataType.DT_FLOAT) continue;
    const [a, b0, ...rest] = matmul.input;
    if (!a || !b0 || rest.length > 0 || keep.has(matmul.name) || matmul.attr.transpose_a?.b) continue;
    const b = matmul.attr.transpose_b?.b ? transposedConst(g, b0, transposed) : b0;
    if (!b) continue;
    const bias = soleReader(g, matmul.name);
    const biasRef = bias && biasOperand(g, bias, matmul);
    if (!bias || !biasRef) continue;
    let last = bias;
    const fusedOps = ['BiasAdd'];
    const act = keep.has(bias.name) ? undefined : soleReader(g, bias.name);
    if (act && FUSABLE_ACTIVATIONS.has(act.op) && act.input.length === 1) {
      fusedOps.push(act.op);
      last = act;
    }
    const fused: NodeDef = {
      name: last.name,
      op: '_FusedMatMul',
      input: [a, b, biasRef],
      device: matmul.device,
      attr: {
        T: { type: DataType.DT_FLOAT },
        transpose_a: { b: false },
        transpose_b: { b: false },
        fused_ops: stringListAttr(fusedOps),
        num_args: { i: 1 },
        epsilon: { f: 0 },
        leakyrelu_alpha: { f: last.op === 'LeakyRelu' ? (last.attr.alpha?.f ?? 0.2) : 0.2 },
      },
    };
    g.replace(fused);
    if (last !== bias) g.remove(bias.name);
    g.remove(matmul.name);
    changed = true;
  }
  if (!changed) return graph;
  g.pruneOrphans(keep);
  return g.build();
}

/**
 * tfjs-wasm 4.22's fused matmul adds the bias wrongly when either operand is transposed (its output differs
 * from MatMul+BiasAdd by O(1) for batch > 1; checked in fuse-matmul.test.ts), so a transposed constant weight is
 * transposed once here instead, and a MatMul with any other transposed operand is not fused.
 */
function transposedConst(g: GraphIndex, ref: string, cache: Map<string, string>): string | undefined {
  const hit = cache.get(ref);
  if (hit) return hit;
  let producer = g.producer(ref);
  while (producer?.op === 'Identity') producer = g.producer(producer.input[0]);
  const value = readConst(producer);
  if (!producer || !value || value.dtype !== DataType.DT_FLOAT || value.shape.length !== 2) return undefined;
  const [rows, cols] = value.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = value.values[r * cols + c];
  const name = g.add(float32Const(g.freshName(`${producer.name}/transposed`), out, [cols, rows]));
  cache.set(ref, name);
  return name;
}

/** The one node reading output 0 of `name`, when there is exactly one reader and it reads only that. */
function soleReader(g: GraphIndex, name: string): NodeDef | undefined {
  const readers = g.consumers(name);
  if (readers.length !== 1) return undefined;
  const uses = readers[0].input.filter((i) => parseInput(i).node === name);
  return uses.length === 1 && parseInput(uses[0]).index === 0 && !uses[0].startsWith('^')
    ? readers[0]
    : undefined;
}

function biasOperand(g: GraphIndex, node: NodeDef, matmul: NodeDef): string | undefined {
  if (node.input.length !== 2 || node.attr.T?.type !== DataType.DT_FLOAT) return undefined;
  const [x, bias] = node.input;
  if (node.op === 'BiasAdd') {
    const format = attrString(node, 'data_format');
    return parseInput(x).node === matmul.name && (format === undefined || format === 'NHWC')
      ? bias
      : undefined;
  }
  if (node.op !== 'Add' && node.op !== 'AddV2') return undefined;
  const other =
    parseInput(x).node === matmul.name ? bias : parseInput(bias).node === matmul.name ? x : undefined;
  const value = other === undefined ? undefined : readConst(g.producer(other));
  if (!other || !value || value.shape.length !== 1) return undefined;
  const weights = staticShape(g, matmul.input[1]);
  const columns = weights?.length === 2 ? weights[matmul.attr.transpose_b?.b ? 0 : 1] : -1;
  return columns > 0 && columns === value.shape[0] ? other : undefined;
}
