import { CtrError } from '../src/errors/registry.ts';
import type { GraphDef } from '../src/graph/proto/types.ts';
import { GraphBuilder } from '../src/graph/builder/graph-builder.ts';

/** The reference student's weights (bench/README.md describes the model), float32 row-major. */
export type ReferenceStudentWeights = {
  readonly E: Float32Array;
  readonly W1: Float32Array;
  readonly b1: Float32Array;
  readonly W2: Float32Array;
  readonly b2: Float32Array;
  readonly W3: Float32Array;
  readonly b3: Float32Array;
  /** [vocab, dim] of E; the MLP sizes follow from the other arrays. */
  readonly vocabSize: number;
  readonly embeddingDim: number;
  /** History length L. */
  readonly historyLength: number;
};

export type BenchReferenceMeta = {
  V: number;
  D: number;
  L: number;
  H1: number;
  H2: number;
  IN: number;
  layout: [string, number[]][];
};

/** Splits weights.bin by the layout in meta.json. */
export function parseReferenceWeights(bytes: Uint8Array, meta: BenchReferenceMeta): ReferenceStudentWeights {
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const parts: Record<string, Float32Array> = {};
  let at = 0;
  for (const [name, shape] of meta.layout) {
    const n = shape.reduce((a, b) => a * b, 1);
    parts[name] = all.subarray(at, at + n);
    at += n;
  }
  if (at !== all.length) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `weights.bin holds ${all.length} floats, meta.json lays out ${at}`,
    );
  }
  const { E, W1, b1, W2, b2, W3, b3 } = parts;
  return { E, W1, b1, W2, b2, W3, b3, vocabSize: meta.V, embeddingDim: meta.D, historyLength: meta.L };
}

/**
 * The reference student as TensorFlow would freeze it (ops: Placeholder, Const, GatherV2, Mean, ConcatV2, Mul,
 * MatMul, BiasAdd, Relu, Sigmoid, Squeeze, Identity):
 *   h = mean(gather(E, history), 1); c = gather(E, candidate); x = concat([h, c, h*c], 1)
 *   logit = relu(relu(x W1 + b1) W2 + b2) W3 + b3;  ctr = sigmoid(logit)
 * Inputs `history` int32 [?, L] and `candidate` int32 [?]; outputs `ctr` and `logit`, float32 [?].
 */
export function buildReferenceStudentGraph(w: ReferenceStudentWeights): GraphDef {
  const D = w.embeddingDim;
  const h1 = w.b1.length;
  const h2 = w.b2.length;
  const g = new GraphBuilder();
  const history = g.placeholder('history', 'DT_INT32', [-1, w.historyLength]);
  const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
  const E = g.constant('DT_FLOAT', [w.vocabSize, D], w.E, { name: 'embedding/embeddings' });

  const h = g.mean(g.gatherV2(E, history, 0, { name: 'history_embedding' }), 1, { name: 'history_mean' });
  const c = g.gatherV2(E, candidate, 0, { name: 'candidate_embedding' });
  const x = g.concatV2([h, c, g.mul(h, c, { name: 'interaction' })], 1, { name: 'features' });

  const dense = (input: string, scope: string, kernel: Float32Array, bias: Float32Array, rows: number) => {
    const k = g.constant('DT_FLOAT', [rows, bias.length], kernel, { name: `${scope}/kernel` });
    const b = g.constant('DT_FLOAT', [bias.length], bias, { name: `${scope}/bias` });
    return g.biasAdd(g.matMul(input, k, { name: `${scope}/MatMul` }), b, { name: `${scope}/BiasAdd` });
  };
  const l1 = g.relu(dense(x, 'dense', w.W1, w.b1, 3 * D), { name: 'dense/Relu' });
  const l2 = g.relu(dense(l1, 'dense_1', w.W2, w.b2, h1), { name: 'dense_1/Relu' });
  const z = dense(l2, 'dense_2', w.W3, w.b3, h2);

  g.identity(g.squeeze(z, [1], { name: 'Squeeze' }), { name: 'logit' });
  g.identity(g.squeeze(g.sigmoid(z, { name: 'dense_2/Sigmoid' }), [1], { name: 'Squeeze_1' }), {
    name: 'ctr',
  });
  return g.toGraphDef();
}
