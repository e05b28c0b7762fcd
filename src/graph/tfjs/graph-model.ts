import * as tf from '@tensorflow/tfjs';
import { CtrError } from '../../errors/registry.ts';
import { DataType, type AttrValue, type GraphDef, type NodeDef } from '../proto/types.ts';
import { dtypeName, tensorProtoToValues, type DecodedTensor } from '../tensor/tensor-values.ts';
import { ASYNC_OPS, describeUnsupported, unsupportedOps } from './supported-ops.ts';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

export type CompiledGraph = {
  readonly model: tf.GraphModel<tf.io.IOHandlerSync>;
  /** GraphModel.execute refuses control-flow and dynamic-shape graphs; those run with executeAsync. */
  readonly needsAsync: boolean;
};

/**
 * Turns a frozen GraphDef into a tfjs-converter GraphModel in memory: the topology is the GraphDef as JSON the
 * way tfjs-converter writes model.json (bytes attrs base64, Const values moved into the weights), the weights one
 * buffer. int64 becomes int32 (tfjs has no int64; constants are range-checked, CTR_ERR_INT64_RANGE); double
 * becomes float32, as tfjs-converter does. Every op is checked first and all that tfjs cannot run are listed in
 * one CTR_ERR_UNSUPPORTED_OP. The GraphModel owns the weight tensors: dispose it to free them.
 */
export function compileGraph(g: GraphDef, source: string): CompiledGraph {
  const missing = unsupportedOps(g);
  if (missing.length) {
    throw new CtrError(
      'CTR_ERR_UNSUPPORTED_OP',
      `${source} uses ops that cannot run here: ${describeUnsupported(missing)}`,
    );
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const nodes = g.node.map((n) => {
    if (n.op !== 'Const') return topologyNode(n);
    const t = n.attr.value?.tensor;
    if (!t) throw new CtrError('CTR_ERR_INVALID_GRAPH', `${source}: Const node ${n.name} has no value`);
    const { dtype, bytes } = weightBytes(
      tensorProtoToValues(t, `${source}: Const ${n.name}`),
      `${source}: Const ${n.name}`,
    );
    specs.push({ name: n.name, shape: (t.tensorShape?.dim ?? []).map((d) => d.size), dtype });
    chunks.push(bytes);
    const { value: _value, ...attr } = n.attr;
    return topologyNode({ ...n, attr });
  });
  const total = chunks.reduce((a, c) => a + c.byteLength, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    weightData.set(c, at);
    at += c.byteLength;
  }
  const modelTopology = { node: nodes, versions: g.versions ?? { producer: 0, minConsumer: 0 } };
  let model: tf.GraphModel<tf.io.IOHandlerSync>;
  try {
    model = tf.loadGraphModelSync({
      modelTopology,
      weightSpecs: specs,
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
  return { model, needsAsync: g.node.some((n) => ASYNC_OPS.has(n.op)) };
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

const b64 = (s: Uint8Array) => Buffer.from(s).toString('base64');
const lowerType = (t: number) => (t === DataType.DT_INT64 ? DataType.DT_INT32 : t);

function topologyAttr(v: AttrValue): unknown {
  if (v.s !== undefined) return { s: b64(v.s) };
  if (v.type !== undefined) return { type: lowerType(v.type) };
  if (v.list) {
    const { s, type, tensor: _tensor, ...rest } = v.list;
    return {
      list: { ...rest, ...(s ? { s: s.map(b64) } : {}), ...(type ? { type: type.map(lowerType) } : {}) },
    };
  }
  if (v.tensor) return {};
  return v;
}

function topologyNode(n: NodeDef): unknown {
  const attr: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n.attr)) {
    if (k === '_output_shapes' || k === '_class') continue;
    attr[k] = topologyAttr(v);
  }
  return { name: n.name, op: n.op, input: [...n.input], attr };
}
