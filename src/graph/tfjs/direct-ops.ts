import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { checkSegments } from '../op/sparse-segment.ts';
import { simdSegmentReduce } from './simd-segment-reduce.ts';
import type { NodeDef } from '../proto/types.ts';

/**
 * The ops the direct executor (direct-executor.ts) runs straight on tfjs-backend-wasm's kernels. Each entry does
 * what tfjs-converter's executeOp and the tfjs-core op it calls do for that TensorFlow op (the same kernel, the
 * same inputs and attrs, the same shape assertions), so the outputs are the GraphModel's bit for bit; the checks
 * our op registry adds (SparseSegment*: sparse-segment.ts) run first, as in the registered kernel. `prepare` reads
 * attrs and constant inputs once at load time and declines (undefined) anything it does not cover; `run` may
 * throw DirectDecline before it has made anything, and the caller then runs the GraphModel instead.
 */
export type DirectBackend = tf.KernelBackend & {
  incRef(dataId: tf.DataId): void;
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  /** A view of `t`'s values in the wasm heap (valid until the heap grows: read it before the next kernel). */
  typedArrayFromHeap(t: TensorInfo): Int32Array | Float32Array | Uint8Array;
};

/** One prepared node: its tensor inputs in NodeDef order (constant inputs included), one output. */
export type DirectRun = (inputs: readonly TensorInfo[], backend: DirectBackend) => TensorInfo;

/** A node as `prepare` sees it: the NodeDef and the values of its constant inputs (int32 or float32). */
export type DirectNode = {
  readonly node: NodeDef;
  /** The value of input `i` when it is a Const, else undefined. */
  readonly constInput: (i: number) => ArrayLike<number> | undefined;
};

/** Thrown by a run that meets a case it does not cover (before making any tensor): run the GraphModel instead. */
export class DirectDecline extends Error {}

const DT_BOOL = 10;

type KernelCall = (inputs: tf.NamedTensorInfoMap | TensorInfo[], attrs?: tf.NamedAttrMap) => TensorInfo;

const kernels = new Map<string, tf.KernelFunc>();

/** tfjs-backend-wasm's kernel `name` (looked up once), called with `backend`. */
function kernel(name: string, backend: DirectBackend): KernelCall {
  let k = kernels.get(name);
  if (!k) {
    k = tf.getKernel(name, 'wasm')?.kernelFunc;
    if (!k) throw new DirectDecline(`no wasm kernel ${name}`);
    kernels.set(name, k);
  }
  const f = k;
  return (inputs, attrs = {}) => f({ inputs: inputs as tf.NamedTensorInfoMap, attrs, backend }) as TensorInfo;
}

const alias = (x: TensorInfo, backend: DirectBackend): TensorInfo => {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

const reshape = (x: TensorInfo, shape: number[], backend: DirectBackend) =>
  kernel('Reshape', backend)({ x }, { shape });

/** `fn` with the tensors it makes on the way freed afterwards (its result is the caller's). */
function freeing<T>(backend: DirectBackend, made: TensorInfo[], fn: () => T): T {
  try {
    return fn();
  } finally {
    for (const t of made) backend.disposeData(t.dataId);
  }
}

const intList = (a: ArrayLike<number> | undefined) => (a ? Array.from(a) : undefined);
const sameDtype = (a: TensorInfo, b: TensorInfo) => {
  if (a.dtype !== b.dtype) throw new DirectDecline('inputs of different dtypes');
};
const notBool = (...ts: TensorInfo[]) => {
  if (ts.some((t) => t.dtype === 'bool')) throw new DirectDecline('bool input');
};

/** tfjs-core's add/mul/sub/maximum (makeTypesMatch, then the kernel; broadcasting is checked there). */
const binary =
  (kernelName: string, numericOnly = false): DirectPrepare =>
  () =>
  ([a, b], backend) => {
    sameDtype(a!, b!);
    if (numericOnly) notBool(a!, b!);
    return kernel(kernelName, backend)({ a: a!, b: b! });
  };

const unary =
  (kernelName: string, float32Only = false): DirectPrepare =>
  () =>
  ([x], backend) => {
    if (float32Only ? x!.dtype !== 'float32' : x!.dtype === 'bool') throw new DirectDecline('dtype');
    return kernel(kernelName, backend)({ x: x! });
  };

type DirectPrepare = (n: DirectNode) => DirectRun | undefined;

/** matMul / fused.matMul of tfjs-core: inner dims checked, both sides as rank-3, the result back to its rank. */
function matMul(
  a: TensorInfo,
  b: TensorInfo,
  ta: boolean,
  tb: boolean,
  backend: DirectBackend,
  fused?: Fused,
) {
  sameDtype(a, b);
  if (a.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2)
    throw new DirectDecline('matmul input');
  const [ra, rb] = [a.shape.length, b.shape.length];
  const inner = [ta ? a.shape[ra - 2] : a.shape[ra - 1], tb ? b.shape[rb - 1] : b.shape[rb - 2]];
  const outerA = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const outerB = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (inner[0] !== inner[1]) {
    throw new Error(
      `Error in matMul: inner shapes (${inner[0]}) and (${inner[1]}) of Tensors with shapes ${a.shape} and ${b.shape} must match.`,
    );
  }
  if (!fused) return kernel('BatchMatMul', backend)({ a, b }, { transposeA: ta, transposeB: tb });
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...outer, outerA, outerB];
  const [batchA, batchB] = [
    tf.util.sizeFromShape(a.shape.slice(0, -2)),
    tf.util.sizeFromShape(b.shape.slice(0, -2)),
  ];
  if (fused.bias.dtype !== a.dtype || fused.bias.shape.length !== 1) throw new DirectDecline('bias');
  tf.backend_util.assertAndGetBroadcastShape(outShape, fused.bias.shape);
  const a3 = reshape(a, ta ? [batchA, inner[0]!, outerA] : [batchA, outerA, inner[0]!], backend);
  const b3 = reshape(b, tb ? [batchB, outerB, inner[1]!] : [batchB, inner[1]!, outerB], backend);
  const made = [a3, b3];
  return freeing(backend, made, () => {
    const attrs = { transposeA: ta, transposeB: tb, activation: fused.activation, leakyreluAlpha: 0.2 };
    const out = kernel('_FusedMatMul', backend)({ a: a3, b: b3, bias: fused.bias }, attrs);
    made.push(out);
    return reshape(out, outShape, backend);
  });
}

type Fused = { bias: TensorInfo; activation: string };

const FUSED_ACTIVATIONS: Readonly<Record<string, string>> = {
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
};

const attrB = (n: NodeDef, name: string) => n.attr[name]?.b ?? false;
const dec = new TextDecoder();

/** Reduction over constant axes (tfjs-core sum/mean: the kernel with {axis, keepDims}). */
const reduce =
  (kernelName: string): DirectPrepare =>
  ({ node, constInput }) => {
    const axis = intList(constInput(1));
    if (!axis || node.attr.T?.type === DT_BOOL) return undefined;
    const keepDims = attrB(node, 'keep_dims');
    return ([x], backend) => kernel(kernelName, backend)({ x: x! }, { axis, keepDims });
  };

/** SparseSegmentSum / Mean: the op registry's checks (sparse-segment.ts), then simd-segment-reduce.ts or tfjs's kernel. */
const segment =
  (kernelName: string): DirectPrepare =>
  ({ node }) =>
  ([data, indices, segmentIds], backend) => {
    if (indices!.dtype !== 'int32' || segmentIds!.dtype !== 'int32') throw new DirectDecline('ids');
    if (data!.shape.length < 1 || indices!.shape.length !== 1 || segmentIds!.shape.length !== 1)
      throw new DirectDecline('ranks');
    const idx = backend.typedArrayFromHeap(indices!) as Int32Array;
    const seg = backend.typedArrayFromHeap(segmentIds!) as Int32Array;
    checkSegments({ op: node.op, name: node.name }, idx, seg, data!.shape[0] ?? 0);
    const mean = kernelName === 'SparseSegmentMean';
    return (
      simdSegmentReduce(backend, data!, indices!, segmentIds!, mean) ??
      kernel(kernelName, backend)({ data: data!, indices: indices!, segmentIds: segmentIds! })
    );
  };

export const DIRECT_OPS: ReadonlyMap<string, DirectPrepare> = new Map<string, DirectPrepare>([
  [
    'Identity',
    () =>
      ([x], backend) =>
        alias(x!, backend),
  ],
  [
    'Reshape',
    ({ constInput }) => {
      const shape = intList(constInput(1));
      return shape && (([x], backend) => reshape(x!, shape, backend));
    },
  ],
  [
    'Squeeze',
    ({ node }) => {
      const axis = node.attr.squeeze_dims?.list?.i ?? node.attr.axis?.list?.i;
      return ([x], backend) => reshape(x!, tf.util.squeezeShape(x!.shape, axis).newShape, backend);
    },
  ],
  [
    'Transpose',
    ({ constInput }) => {
      const perm = intList(constInput(1));
      if (!perm || perm.some((p) => p < 0)) return undefined;
      return ([x], backend) => {
        if (x!.shape.length !== perm.length || perm.some((p) => p >= perm.length))
          throw new DirectDecline('perm');
        if (perm.length <= 1) return kernel('Identity', backend)({ x: x! });
        return kernel('Transpose', backend)({ x: x! }, { perm });
      };
    },
  ],
  [
    'MatMul',
    ({ node }) =>
      ([a, b], backend) =>
        matMul(a!, b!, attrB(node, 'transpose_a'), attrB(node, 'transpose_b'), backend),
  ],
  [
    '_FusedMatMul',
    ({ node }) => {
      const ops = (node.attr.fused_ops?.list?.s ?? []).map((s) => dec.decode(s).toLowerCase());
      const activation = ops.length === 1 ? 'linear' : FUSED_ACTIVATIONS[ops[1] ?? ''];
      if (ops[0] !== 'biasadd' || ops.length > 2 || !activation || (node.attr.num_args?.i ?? 0) !== 1)
        return undefined;
      const [ta, tb] = [attrB(node, 'transpose_a'), attrB(node, 'transpose_b')];
      return ([a, b, bias], backend) => matMul(a!, b!, ta, tb, backend, { bias: bias!, activation });
    },
  ],
  ['Sum', reduce('Sum')],
  ['Mean', reduce('Mean')],
  ['AddV2', binary('Add')],
  ['Add', binary('Add')],
  ['BiasAdd', binary('Add')],
  ['Mul', binary('Multiply')],
  ['Sub', binary('Sub')],
  ['Maximum', binary('Maximum', true)],
  ['Sigmoid', unary('Sigmoid', true)],
  ['Relu', unary('Relu')],
  [
    'ConcatV2',
    ({ node, constInput }) => {
      const n = node.attr.N?.i ?? node.input.length - 1;
      const axis = constInput(n);
      if (!axis || axis.length !== 1 || n < 2) return undefined;
      return (inputs, backend) => {
        const values = inputs.slice(0, n);
        if (values.some((t) => t.dtype !== values[0]!.dtype || t.dtype === 'string'))
          throw new DirectDecline('dtype');
        return kernel('Concat', backend)(values, { axis: axis[0]! });
      };
    },
  ],
  ['SparseSegmentSum', segment('SparseSegmentSum')],
  ['SparseSegmentMean', segment('SparseSegmentMean')],
]);
