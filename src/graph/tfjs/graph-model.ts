import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModelSync, type GraphModel } from '@tensorflow/tfjs-converter';
import { CtrError } from '../../errors/registry.ts';
import { markProvenGathers } from '../guard/mark-proven-gathers.ts';
import { installKernels } from '../op/op-registry.ts';
import type { GraphDef, NodeDef } from '../proto/types.ts';
import { dtypeName, tensorProtoToValues, type DecodedTensor } from '../tensor/tensor-values.ts';
import { DirectGraph } from './direct-executor.ts';
import { functionTopology } from './function-topology.ts';
import { lowerWhileLoops } from './lower-while.ts';
import { topologyNode } from './topology-node.ts';
import { ASYNC_OPS, describeUnsupported, unsupportedOps } from './supported-ops.ts';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

export type CompiledGraph = {
  readonly model: GraphModel<tf.io.IOHandlerSync>;
  /** GraphModel.execute refuses control-flow and dynamic-shape graphs; those run with executeAsync. */
  readonly needsAsync: boolean;
  /** The synchronous graph on the direct executor (direct-executor.ts), where it covers the fetches asked for. */
  readonly direct?: DirectGraph;
};

/**
 * Turns a frozen GraphDef into a tfjs-converter GraphModel in memory: the topology is the GraphDef as JSON the
 * way tfjs-converter writes model.json (bytes attrs base64, Const values moved into the weights), the weights one
 * buffer. int64 becomes int32 (tfjs has no int64; constants are range-checked, CTR_ERR_INT64_RANGE); double
 * becomes float32, as tfjs-converter does. Every op is checked first and all that tfjs cannot run are listed in
 * one CTR_ERR_UNSUPPORTED_OP; ops with a kernel in the op registry run through it (../op/op-registry.ts). The GraphModel owns the weight tensors: dispose it to free them.
 * `guardedFeeds`: the fed Placeholders whose index guards the caller applies before every execution (TfjsModel
 * does); gathers those guards already bound skip their run-time index check (../guard/mark-proven-gathers.ts).
 * `options.direct` (default true): synchronous graphs also get the direct executor (direct-executor.ts).
 */
export function compileGraph(
  g: GraphDef,
  source: string,
  guardedFeeds: ReadonlySet<string> = new Set(),
  options: { readonly direct?: boolean } = {},
): CompiledGraph {
  const missing = unsupportedOps(g);
  if (missing.length) {
    throw new CtrError(
      'CTR_ERR_UNSUPPORTED_OP',
      `${source} uses ops that cannot run here: ${describeUnsupported(missing)}`,
    );
  }
  installKernels();
  const lowered = lowerWhileLoops(markProvenGathers(g, guardedFeeds), source);
  const weights = new Weights(source);
  const nodes = lowered.node.map((n) => (n.op === 'Const' ? weights.add(n.name, n) : topologyNode(n)));
  const library = lowered.library?.function.length
    ? {
        function: lowered.library.function.map((f) =>
          functionTopology(f, lowered.library, source, (name, n) => weights.add(name, n)),
        ),
      }
    : undefined;
  const modelTopology = {
    node: nodes,
    versions: lowered.versions ?? { producer: 0, minConsumer: 0 },
    ...(library ? { library } : {}),
  };
  const { specs: weightSpecs, data: weightData } = weights.build();
  let model: GraphModel<tf.io.IOHandlerSync>;
  try {
    model = loadGraphModelSync({
      modelTopology,
      weightSpecs,
      weightData: weightData.buffer,
      format: 'graph-model',
    });
  } catch (err) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `${source}: tfjs refused the graph: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const needsAsync = lowered.node.some((n) => ASYNC_OPS.has(n.op));
  const direct = !needsAsync && (options.direct ?? true);
  return { model, needsAsync, ...(direct ? { direct: new DirectGraph(lowered, model.weights) } : {}) };
}

/** Const values, moved out of the topology into one weight buffer, keyed by the (topology) node name. */
class Weights {
  readonly #specs: tf.io.WeightsManifestEntry[] = [];
  readonly #chunks: Uint8Array[] = [];
  constructor(readonly source: string) {}

  /** Records `n`'s value under `name`; returns the topology node (named `name`) without its value. */
  add(name: string, n: NodeDef): unknown {
    const where = `${this.source}: Const ${n.name}`;
    const t = n.attr.value?.tensor;
    if (!t) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where} has no value`);
    const { dtype, bytes } = weightBytes(tensorProtoToValues(t, where), where);
    this.#specs.push({ name, shape: (t.tensorShape?.dim ?? []).map((d) => d.size), dtype });
    this.#chunks.push(bytes);
    const { value: _value, ...attr } = n.attr;
    return topologyNode({ ...n, name, attr });
  }

  build(): { specs: tf.io.WeightsManifestEntry[]; data: Uint8Array<ArrayBuffer> } {
    const data = new Uint8Array(this.#chunks.reduce((a, c) => a + c.byteLength, 0));
    let at = 0;
    for (const c of this.#chunks) {
      data.set(c, at);
      at += c.byteLength;
    }
    return { specs: this.#specs, data };
  }
}

function weightBytes(t: DecodedTensor, where: string): { dtype: tf.DataType; bytes: Uint8Array } {
  const v = t.values;
  const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (v instanceof Float32Array) return { dtype: 'float32', bytes: raw(v) };
  if (v instanceof Float64Array) return { dtype: 'float32', bytes: raw(Float32Array.from(v)) };
  if (v instanceof Int32Array) return { dtype: 'int32', bytes: raw(v) };
  if (v instanceof BigInt64Array) {
    const out = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      if (v[i] < INT32_MIN || v[i] > INT32_MAX) {
        throw new CtrError(
          'CTR_ERR_INT64_RANGE',
          `${where}: int64 value ${v[i]} does not fit the int32 tfjs computes with`,
        );
      }
      out[i] = Number(v[i]);
    }
    return { dtype: 'int32', bytes: raw(out) };
  }
  if (v instanceof Uint8Array) return { dtype: 'bool', bytes: raw(v) };
  if (Array.isArray(v)) {
    // tfjs's string weight layout: per element a uint32 little-endian byte length, then the bytes.
    const size = v.reduce((a, s) => a + 4 + s.byteLength, 0);
    const bytes = new Uint8Array(size);
    const dv = new DataView(bytes.buffer);
    let at = 0;
    for (const s of v) {
      dv.setUint32(at, s.byteLength, true);
      bytes.set(s, at + 4);
      at += 4 + s.byteLength;
    }
    return { dtype: 'string', bytes };
  }
  throw new CtrError(
    'CTR_ERR_INVALID_GRAPH',
    `${where}: constants of ${dtypeName(t.dtype)} cannot be loaded`,
  );
}
