import { CtrError } from '../../errors/registry.ts';
import { DataType, type TensorProto, type TensorShapeProto } from '../proto/types.ts';

/** Host values a Const can hold; `number[]` is read in the Const's dtype. */
export type ConstValues =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | boolean[]
  | number[]
  | bigint[]
  | string[]
  | Uint8Array[];

export function shapeProto(shape: readonly number[] | null): TensorShapeProto {
  if (shape === null) return { dim: [], unknownRank: true };
  return { dim: shape.map((size) => ({ size })), unknownRank: false };
}

/**
 * Builds a TensorProto the way TensorFlow's make_tensor_proto does: numeric tensors with more than one element
 * go into tensor_content (little-endian bytes), single values into the typed *_val field.
 */
export function makeTensorProto(dtype: number, shape: readonly number[], values: ConstValues): TensorProto {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `constant of shape [${shape.join(',')}] needs ${size} values, got ${values.length}`,
    );
  }
  const proto: TensorProto = { dtype, tensorShape: shapeProto(shape) };
  if (dtype === DataType.DT_STRING) {
    // Strings always go into string_val (TensorFlow writes no tensor_content for them); text as UTF-8 bytes.
    const enc = new TextEncoder();
    proto.stringVal = Array.from(values as ArrayLike<unknown>, (v) =>
      v instanceof Uint8Array ? v : enc.encode(String(v)),
    );
    return proto;
  }
  const bytes = contentBytes(dtype, values);
  if (size > 1) {
    proto.tensorContent = bytes;
    return proto;
  }
  const v = values[0];
  switch (dtype) {
    case DataType.DT_FLOAT:
      proto.floatVal = size ? [Number(v)] : [];
      break;
    case DataType.DT_DOUBLE:
      proto.doubleVal = size ? [Number(v)] : [];
      break;
    case DataType.DT_INT64:
      proto.int64Val = size ? [BigInt(v as number | bigint)] : [];
      break;
    case DataType.DT_BOOL:
      proto.boolVal = size ? [Boolean(v)] : [];
      break;
    default:
      proto.intVal = size ? [Number(v)] : [];
  }
  return proto;
}

function contentBytes(dtype: number, values: ConstValues): Uint8Array {
  const n = values.length;
  let arr: ArrayBufferView;
  switch (dtype) {
    case DataType.DT_FLOAT:
      arr = values instanceof Float32Array ? values : Float32Array.from(values as number[], Number);
      break;
    case DataType.DT_DOUBLE:
      arr = values instanceof Float64Array ? values : Float64Array.from(values as number[], Number);
      break;
    case DataType.DT_INT32:
      arr = values instanceof Int32Array ? values : Int32Array.from(values as number[], Number);
      break;
    case DataType.DT_INT64:
      arr =
        values instanceof BigInt64Array
          ? values
          : BigInt64Array.from(values as (number | bigint)[], (v) => BigInt(v));
      break;
    case DataType.DT_UINT8:
    case DataType.DT_BOOL:
      arr = Uint8Array.from(values as number[], (v) => Number(v));
      break;
    default:
      throw new CtrError('CTR_ERR_INVALID_GRAPH', `cannot build a constant of dtype ${dtype} (${n} values)`);
  }
  // The host is little-endian (x86/arm), as tensor_content is.
  return new Uint8Array(arr.buffer.slice(arr.byteOffset, arr.byteOffset + arr.byteLength));
}
