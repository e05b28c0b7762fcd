import { DataType, type NodeDef, type TensorProto } from '../proto/types.ts';

export type ConstValue = {
  readonly dtype: number;
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array;
};

/**
 * Reads a Const node's value when it is float32, int32 or int64 (int64 as int32, as tfjs computes), following
 * TensorFlow's rules: tensor_content holds little-endian bytes; otherwise the typed *_val field, whose last value
 * repeats to fill the shape (make_tensor_proto's splat). Returns undefined for anything else: passes then leave the
 * node alone.
 */
export function readConst(node: NodeDef | undefined): ConstValue | undefined {
  if (!node || node.op !== 'Const') return undefined;
  const t = node.attr.value?.tensor;
  if (!t || t.tensorShape?.unknownRank) return undefined;
  const shape = (t.tensorShape?.dim ?? []).map((d) => d.size);
  if (shape.some((d) => d < 0)) return undefined;
  const size = shape.reduce((a, b) => a * b, 1);
  const values = readValues(t, size);
  return values ? { dtype: t.dtype, shape, values } : undefined;
}

function readValues(t: TensorProto, size: number): Float32Array | Int32Array | undefined {
  const bytes = t.tensorContent;
  switch (t.dtype) {
    case DataType.DT_FLOAT: {
      if (bytes && bytes.length > 0)
        return bytes.length === size * 4 ? copyAs(bytes, Float32Array) : undefined;
      return splat(new Float32Array(size), t.floatVal ?? []);
    }
    case DataType.DT_INT32: {
      if (bytes && bytes.length > 0) return bytes.length === size * 4 ? copyAs(bytes, Int32Array) : undefined;
      return splat(new Int32Array(size), t.intVal ?? []);
    }
    case DataType.DT_INT64: {
      if (bytes && bytes.length > 0) {
        if (bytes.length !== size * 8) return undefined;
        const wide = copyAs(bytes, BigInt64Array);
        return int32From(Array.from(wide));
      }
      const vals = t.int64Val ?? [];
      return int32From(Array.from({ length: size }, (_, i) => vals[Math.min(i, vals.length - 1)] ?? 0n));
    }
    default:
      return undefined;
  }
}

function int32From(values: bigint[]): Int32Array | undefined {
  if (values.some((v) => v > 2147483647n || v < -2147483648n)) return undefined;
  return Int32Array.from(values, Number);
}

function copyAs<T>(bytes: Uint8Array, ctor: { new (b: ArrayBuffer): T }): T {
  return new ctor(bytes.slice().buffer);
}

function splat<T extends Float32Array | Int32Array>(out: T, vals: readonly number[]): T | undefined {
  // No values at all means zeros (TensorFlow reads an empty *_val as the default value).
  if (vals.length === 0) return out;
  if (vals.length > out.length) return undefined;
  for (let i = 0; i < out.length; i++) out[i] = vals[Math.min(i, vals.length - 1)];
  return out;
}

/** An int32 Const node, values in tensor_content (the form TensorFlow writes for more than one value). */
export function int32Const(name: string, values: readonly number[], shape: readonly number[]): NodeDef {
  const data = Int32Array.from(values);
  return constNode(name, DataType.DT_INT32, shape, new Uint8Array(data.buffer));
}

export function float32Const(name: string, values: Float32Array, shape: readonly number[]): NodeDef {
  return constNode(
    name,
    DataType.DT_FLOAT,
    shape,
    new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
  );
}

function constNode(name: string, dtype: number, shape: readonly number[], content: Uint8Array): NodeDef {
  return {
    name,
    op: 'Const',
    input: [],
    attr: {
      dtype: { type: dtype },
      value: {
        tensor: {
          dtype,
          tensorShape: { dim: shape.map((size) => ({ size })), unknownRank: false },
          tensorContent: content,
        },
      },
    },
  };
}

/** A scalar or 1-element int Const's value (an axis, a count), else undefined. */
export function constScalarInt(node: NodeDef | undefined): number | undefined {
  const c = readConst(node);
  if (!c || c.dtype === DataType.DT_FLOAT || c.values.length !== 1) return undefined;
  return c.values[0];
}

/** The int values of a rank-0 or rank-1 int Const (axes lists). */
export function constIntList(node: NodeDef | undefined): number[] | undefined {
  const c = readConst(node);
  if (!c || c.dtype === DataType.DT_FLOAT || c.shape.length > 1) return undefined;
  return Array.from(c.values);
}
