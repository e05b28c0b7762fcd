import { CtrError } from '../../errors/registry.ts';
import { DataType, type TensorProto } from '../proto/types.ts';
import { bfloat16BitsToFloat, floatToBfloat16Bits, floatToHalfBits, halfBitsToFloat } from './half.ts';

/**
 * A tensor's values on the host, as TensorFlow stores them, without any tfjs tensor.
 *
 * dtype → values: float, half, bfloat16 → Float32Array; double → Float64Array; int32, int16, int8, uint8,
 * uint16 → Int32Array; uint32 → Float64Array (exact, no sign wrap); int64 → BigInt64Array; uint64 →
 * BigInt64Array holding the same 64 bits (read as unsigned with BigInt.asUintN(64, v)); bool → Uint8Array of
 * 0/1; string → Uint8Array[] (raw bytes, not necessarily UTF-8). Other dtypes (complex, resource, variant) are
 * refused with CTR_ERR_UNSUPPORTED_DTYPE.
 *
 * Values may be views of the file buffer they were decoded from: copy before mutating. Little-endian host
 * assumed (every platform Node 20 ships for).
 */
export type DecodedTensor = {
  dtype: number;
  shape: number[];
  values: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint8Array[];
};

export const DEFAULT_MAX_ELEMENTS = 2 ** 28;

/** Bytes per element in tensor_content / checkpoint data; undefined for strings and unsupported dtypes. */
export function dtypeByteSize(dtype: number): number | undefined {
  switch (dtype) {
    case DataType.DT_FLOAT:
    case DataType.DT_INT32:
    case DataType.DT_UINT32:
      return 4;
    case DataType.DT_DOUBLE:
    case DataType.DT_INT64:
    case DataType.DT_UINT64:
      return 8;
    case DataType.DT_INT16:
    case DataType.DT_UINT16:
    case DataType.DT_HALF:
    case DataType.DT_BFLOAT16:
      return 2;
    case DataType.DT_INT8:
    case DataType.DT_UINT8:
    case DataType.DT_BOOL:
      return 1;
    default:
      return undefined;
  }
}

export function dtypeName(dtype: number): string {
  return Object.entries(DataType).find(([, v]) => v === dtype)?.[0] ?? `dtype ${dtype}`;
}

function checkDtype(dtype: number, where: string): void {
  if (dtype !== DataType.DT_STRING && dtypeByteSize(dtype) === undefined) {
    throw new CtrError(
      'CTR_ERR_UNSUPPORTED_DTYPE',
      `${where}: tensors of ${dtypeName(dtype)} are not supported`,
    );
  }
}

/**
 * Element count of `shape`, refusing negative dims and counts above maxElements (CTR_ERR_TENSOR_TOO_LARGE)
 * before anything is allocated.
 */
export function checkedElementCount(
  shape: readonly number[],
  where: string,
  maxElements = DEFAULT_MAX_ELEMENTS,
): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new CtrError(
        'CTR_ERR_TENSOR_TOO_LARGE',
        `${where}: shape [${shape.join(',')}] has a negative or unknown dim`,
      );
    }
    n *= d;
  }
  // Checked after the loop: a zero dim makes a huge product empty, as in TensorFlow.
  if (n > maxElements) {
    throw new CtrError(
      'CTR_ERR_TENSOR_TOO_LARGE',
      `${where}: shape [${shape.join(',')}] has ${n} elements, more than the limit of ${maxElements}`,
    );
  }
  return n;
}

/** A typed view of `bytes` when aligned, else one copy into a fresh aligned buffer. */
function view<T>(
  bytes: Uint8Array,
  size: number,
  make: (b: ArrayBufferLike, off: number, n: number) => T,
): T {
  const n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return make(bytes.buffer, bytes.byteOffset, n);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return make(copy.buffer, 0, n);
}

/** Decodes `count` little-endian elements of a non-string dtype from raw bytes (tensor_content or bundle data). */
export function valuesFromBytes(
  dtype: number,
  count: number,
  bytes: Uint8Array,
  where: string,
): DecodedTensor['values'] {
  checkDtype(dtype, where);
  const size = dtypeByteSize(dtype)!;
  if (bytes.byteLength !== count * size) {
    throw new CtrError(
      bytes.byteLength < count * size ? 'CTR_ERR_TENSOR_TOO_LARGE' : 'CTR_ERR_INVALID_GRAPH',
      `${where}: ${dtypeName(dtype)} shape needs ${count * size} bytes, the data holds ${bytes.byteLength}`,
    );
  }
  switch (dtype) {
    case DataType.DT_FLOAT:
      return view(bytes, 4, (b, o, n) => new Float32Array(b, o, n));
    case DataType.DT_DOUBLE:
      return view(bytes, 8, (b, o, n) => new Float64Array(b, o, n));
    case DataType.DT_INT32:
      return view(bytes, 4, (b, o, n) => new Int32Array(b, o, n));
    case DataType.DT_INT64:
    case DataType.DT_UINT64:
      return view(bytes, 8, (b, o, n) => new BigInt64Array(b, o, n));
    case DataType.DT_UINT32:
      return Float64Array.from(view(bytes, 4, (b, o, n) => new Uint32Array(b, o, n)));
    case DataType.DT_BOOL:
      return Uint8Array.from(bytes, (v) => (v !== 0 ? 1 : 0));
    case DataType.DT_UINT8:
      return Int32Array.from(bytes);
    case DataType.DT_INT8:
      return Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, count));
    case DataType.DT_INT16:
      return Int32Array.from(view(bytes, 2, (b, o, n) => new Int16Array(b, o, n)));
    case DataType.DT_UINT16:
      return Int32Array.from(view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)));
    case DataType.DT_HALF:
      return Float32Array.from(
        view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)),
        halfBitsToFloat,
      );
    default: // DT_BFLOAT16
      return Float32Array.from(
        view(bytes, 2, (b, o, n) => new Uint16Array(b, o, n)),
        bfloat16BitsToFloat,
      );
  }
}

/** TensorFlow's rule for the *_val fields: missing trailing values repeat the last one; none at all is zeros. */
function fill<T, A extends { [i: number]: T; length: number }>(
  out: A,
  src: ArrayLike<T>,
  map: (v: T) => T,
): A {
  const n = Math.min(src.length, out.length);
  for (let i = 0; i < n; i++) out[i] = map(src[i]!);
  if (n > 0) for (let i = n; i < out.length; i++) out[i] = out[n - 1]!;
  return out;
}

const id = <T>(v: T): T => v;
const EMPTY_BYTES = new Uint8Array(0);

function valuesFromFields(t: TensorProto, count: number): DecodedTensor['values'] {
  switch (t.dtype) {
    case DataType.DT_FLOAT:
      return fill(new Float32Array(count), t.floatVal ?? [], id);
    case DataType.DT_DOUBLE:
      return fill(new Float64Array(count), t.doubleVal ?? [], id);
    case DataType.DT_INT32:
    case DataType.DT_INT16:
    case DataType.DT_INT8:
    case DataType.DT_UINT8:
    case DataType.DT_UINT16:
      return fill(new Int32Array(count), t.intVal ?? [], id);
    case DataType.DT_UINT32:
      return fill(new Float64Array(count), t.uint32Val ?? [], id);
    case DataType.DT_INT64:
      return fill(new BigInt64Array(count), t.int64Val ?? [], id);
    case DataType.DT_UINT64:
      return fill(new BigInt64Array(count), t.uint64Val ?? [], (v) => BigInt.asIntN(64, v));
    case DataType.DT_BOOL:
      return fill(new Uint8Array(count), (t.boolVal ?? []).map(Number), id);
    case DataType.DT_HALF:
      return fill(new Float32Array(count), (t.halfVal ?? []).map(halfBitsToFloat), id);
    case DataType.DT_BFLOAT16:
      return fill(new Float32Array(count), (t.halfVal ?? []).map(bfloat16BitsToFloat), id);
    default: {
      // DT_STRING
      // Missing values are empty strings; one shared empty view keeps a large declared shape cheap.
      return fill(new Array<Uint8Array>(count).fill(EMPTY_BYTES), t.stringVal ?? [], id);
    }
  }
}

/**
 * The values of a TensorProto (a Const's `value` attr, a checkpoint string), following TensorFlow's
 * Tensor::FromProto: tensor_content little-endian when present, else the typed *_val field, extended with its
 * last value. Failures: CTR_ERR_TENSOR_TOO_LARGE (negative dims, too many elements, content shorter than the
 * shape), CTR_ERR_INVALID_GRAPH (content longer than the shape), CTR_ERR_UNSUPPORTED_DTYPE. `where` names the
 * file and node for messages.
 */
export function tensorProtoToValues(
  t: TensorProto,
  where: string,
  maxElements = DEFAULT_MAX_ELEMENTS,
): DecodedTensor {
  checkDtype(t.dtype, where);
  const shape = (t.tensorShape?.dim ?? []).map((d) => d.size);
  const count = checkedElementCount(shape, where, maxElements);
  const content = t.tensorContent;
  if (content !== undefined && content.byteLength > 0 && t.dtype !== DataType.DT_STRING) {
    return { dtype: t.dtype, shape, values: valuesFromBytes(t.dtype, count, content, where) };
  }
  return { dtype: t.dtype, shape, values: valuesFromFields(t, count) };
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

type TypedCtor<T> = { new (n: number): T; from(src: ArrayLike<number>): T };

/** The values as a T: the same array when it already is one (no copy), else one converted copy. */
function as<T extends ArrayBufferView>(v: DecodedTensor['values'], ctor: TypedCtor<T>): Uint8Array {
  return bytesOf(
    v instanceof (ctor as unknown as typeof Object) ? (v as unknown as T) : ctor.from(v as ArrayLike<number>),
  );
}

/**
 * Raw little-endian bytes of `t` as TensorFlow lays them out (tensor_content, checkpoint data). When the values
 * already have the storage type (Float32Array for float, ...) the result is a view of them, not a copy.
 */
export function valuesToBytes(t: DecodedTensor, where = 'tensor'): Uint8Array {
  checkDtype(t.dtype, where);
  const v = t.values;
  if (Array.isArray(v))
    throw new CtrError('CTR_ERR_UNSUPPORTED_DTYPE', `${where}: string values have no raw bytes`);
  const n = v.length;
  switch (t.dtype) {
    case DataType.DT_FLOAT:
      return as(v, Float32Array);
    case DataType.DT_DOUBLE:
      return as(v, Float64Array);
    case DataType.DT_INT32:
      return as(v, Int32Array);
    case DataType.DT_INT64:
    case DataType.DT_UINT64:
      return bytesOf(
        v instanceof BigInt64Array
          ? v
          : BigInt64Array.from(v as ArrayLike<number | bigint>, (x) => BigInt(x)),
      );
    case DataType.DT_UINT32:
      return bytesOf(Uint32Array.from(v as Float64Array));
    case DataType.DT_BOOL:
      return Uint8Array.from(v as Uint8Array, (x) => (x ? 1 : 0));
    case DataType.DT_UINT8:
      return Uint8Array.from(v as Int32Array);
    case DataType.DT_INT8:
      return bytesOf(Int8Array.from(v as Int32Array));
    case DataType.DT_INT16:
      return bytesOf(Int16Array.from(v as Int32Array));
    case DataType.DT_UINT16:
      return bytesOf(Uint16Array.from(v as Int32Array));
    case DataType.DT_HALF: {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalfBits(Number(v[i]));
      return bytesOf(out);
    }
    default: {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToBfloat16Bits(Number(v[i]));
      return bytesOf(out);
    }
  }
}

/** The inverse of tensorProtoToValues: numbers go to tensor_content, strings to string_val; may alias t.values. */
export function valuesToTensorProto(t: DecodedTensor): TensorProto {
  const tensorShape = { dim: t.shape.map((size) => ({ size })), unknownRank: false };
  if (t.dtype === DataType.DT_STRING) {
    const values = t.values as Uint8Array[];
    return { dtype: t.dtype, tensorShape, stringVal: values.slice() };
  }
  return { dtype: t.dtype, tensorShape, tensorContent: valuesToBytes(t) };
}
