import { CtrError } from '../errors/registry.ts';
import type { HostTensor, TfDtype } from './model.ts';
import { floatToHalfBits } from './tensor/half.ts';
import { tensorProtoToValues, valuesToBytes, type DecodedTensor } from './tensor/tensor-values.ts';
import { DataType, type TensorProto } from './proto/types.ts';

/**
 * TensorProto ↔ HostTensor for protocols that carry TensorFlow's TensorProto (TF Serving's gRPC PredictRequest and
 * PredictResponse; tensorflow/core/framework/tensor.proto). Decoding follows Tensor::FromProto through
 * tensorProtoToValues: `tensor_content` (little-endian, read as a typed view when aligned: the fast path) when it
 * is set, else the typed `*_val` field, its last value repeated to fill the shape. Encoding writes
 * `tensor_content` when asked (TF Serving's --enable_serialization_as_tensor_content, AsProtoTensorContent) and
 * the typed field otherwise (AsProtoField, TF Serving's default). The dtypes are HostTensor's (model.ts TfDtype);
 * others fail with CTR_ERR_UNSUPPORTED_DTYPE.
 */
const TF_DTYPES: readonly TfDtype[] = [
  'DT_FLOAT',
  'DT_DOUBLE',
  'DT_INT32',
  'DT_INT64',
  'DT_BOOL',
  'DT_STRING',
  'DT_UINT8',
  'DT_INT8',
  'DT_INT16',
  'DT_HALF',
];

export type { TensorProto } from './proto/types.ts';

/** tensorflow/core/framework/types.proto's number for a DataType name ('DT_FLOAT' → 1), undefined if unknown. */
export function dataTypeCode(name: string): number | undefined {
  return (DataType as Record<string, number>)[name];
}

/** The DataType name of a number, or undefined when ctr-serve does not know it. */
export function dataTypeName(code: number): string | undefined {
  return Object.entries(DataType).find(([, v]) => v === code)?.[0];
}

/** The TfDtype of a DataType enum value, or CTR_ERR_UNSUPPORTED_DTYPE. */
export function tfDtypeOf(dtype: number, where: string): TfDtype {
  const name = TF_DTYPES.find((d) => DataType[d] === dtype);
  if (!name) {
    const known = dataTypeName(dtype) ?? `dtype ${dtype}`;
    throw new CtrError('CTR_ERR_UNSUPPORTED_DTYPE', `${where}: tensors of ${known} are not supported here`);
  }
  return name;
}

/** A request tensor; `where` names it for messages ("input \"x\""). */
export function hostFromTensorProto(t: TensorProto, where: string): HostTensor {
  const dtype = tfDtypeOf(t.dtype, where);
  const decoded = tensorProtoToValues(t, where);
  const { shape, values } = decoded;
  switch (dtype) {
    case 'DT_INT64':
      return { dtype, shape, values: Array.from(values as BigInt64Array, safeNumber) };
    case 'DT_BOOL':
      return { dtype, shape, values: Array.from(values as Uint8Array, (v) => v !== 0) };
    case 'DT_STRING':
      // Raw bytes, as TensorFlow's strings are (model.ts HostTensor): a serialized tf.Example stays intact.
      return { dtype, shape, values: values as Uint8Array[] };
    case 'DT_UINT8':
      return { dtype, shape, values: Uint8Array.from(values as Int32Array) };
    default:
      return { dtype, shape, values: values as Float32Array | Float64Array | Int32Array };
  }
}

function safeNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const utf8Encoder = new TextEncoder();

/** A response tensor; with `asContent` its numbers go to tensor_content (may alias h.values), else to *_val. */
export function hostToTensorProto(h: HostTensor, asContent: boolean): TensorProto {
  const dtype = DataType[h.dtype];
  const tensorShape = { dim: h.shape.map((size) => ({ size })), unknownRank: false };
  const v = h.values;
  if (h.dtype === 'DT_STRING') {
    const bytes = (v as (string | Uint8Array)[]).map((x) =>
      typeof x === 'string' ? utf8Encoder.encode(x) : x,
    );
    return { dtype, tensorShape, stringVal: bytes };
  }
  if (asContent) {
    const decoded: DecodedTensor = { dtype, shape: [...h.shape], values: storageOf(h) };
    return { dtype, tensorShape, tensorContent: valuesToBytes(decoded) };
  }
  switch (h.dtype) {
    case 'DT_FLOAT':
      return { dtype, tensorShape, floatVal: Array.from(v as ArrayLike<number>) };
    case 'DT_DOUBLE':
      return { dtype, tensorShape, doubleVal: Array.from(v as ArrayLike<number>) };
    case 'DT_HALF':
      return { dtype, tensorShape, halfVal: Array.from(v as ArrayLike<number>, floatToHalfBits) };
    case 'DT_INT64':
      return { dtype, tensorShape, int64Val: Array.from(v as ArrayLike<number | bigint>, (x) => BigInt(x)) };
    case 'DT_BOOL':
      return { dtype, tensorShape, boolVal: Array.from(v as ArrayLike<unknown>, (x) => Boolean(x)) };
    default:
      return { dtype, tensorShape, intVal: Array.from(v as ArrayLike<number>, Number) };
  }
}

/** The values in the storage valuesToBytes reads for each dtype (tensor-values.ts). */
function storageOf(h: HostTensor): DecodedTensor['values'] {
  const v = h.values;
  switch (h.dtype) {
    case 'DT_FLOAT':
    case 'DT_HALF':
      return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>, Number);
    case 'DT_DOUBLE':
      return v instanceof Float64Array ? v : Float64Array.from(v as ArrayLike<number>, Number);
    case 'DT_INT64':
      return BigInt64Array.from(v as ArrayLike<number | bigint>, (x) => BigInt(x));
    case 'DT_BOOL':
      return Uint8Array.from(v as ArrayLike<unknown>, (x) => (x ? 1 : 0));
    default:
      return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>, Number);
  }
}
