import type { HostTensor } from '../../src/graph/model.ts';

/**
 * Test-side tensor conversions, written from tensorflow/core/framework/tensor.proto (tensor_content is the
 * little-endian values in row-major order; otherwise the typed *_val field of the dtype) without the server's code.
 */
export function grpcTensor(t: HostTensor, asContent: boolean): Record<string, unknown> {
  const values = Array.from(t.values as ArrayLike<number | bigint>);
  const base = { dtype: t.dtype, tensor_shape: { dim: t.shape.map((size) => ({ size: String(size) })) } };
  if (asContent) {
    const bytes =
      t.dtype === 'DT_FLOAT'
        ? new Float32Array(values.map(Number)).buffer
        : t.dtype === 'DT_INT64'
          ? new BigInt64Array(values.map((v) => BigInt(v))).buffer
          : new Int32Array(values.map(Number)).buffer;
    return { ...base, tensor_content: Buffer.from(bytes) };
  }
  if (t.dtype === 'DT_FLOAT') return { ...base, float_val: values.map(Number) };
  if (t.dtype === 'DT_INT64') return { ...base, int64_val: values.map(String) };
  return { ...base, int_val: values.map(Number) };
}

/** The numbers of a TensorProto the client decoded (defaults filled: empty lists for unset fields). */
export function tensorValues(t: any): number[] {
  const content: Buffer = t.tensor_content;
  if (content && content.length > 0) {
    const copy = new Uint8Array(content).buffer;
    if (t.dtype === 'DT_FLOAT') return Array.from(new Float32Array(copy));
    if (t.dtype === 'DT_INT64') return Array.from(new BigInt64Array(copy), Number);
    return Array.from(new Int32Array(copy));
  }
  if (t.dtype === 'DT_FLOAT') return t.float_val;
  if (t.dtype === 'DT_INT64') return t.int64_val.map(Number);
  return t.int_val;
}

/** Row-major values as nested lists of the tensor's shape (a scalar stays a scalar). */
export function nested(t: HostTensor): unknown {
  const flat = Array.from(t.values as ArrayLike<number | bigint>, Number);
  const build = (dim: number, offset: number): unknown => {
    if (dim === t.shape.length) return flat[offset];
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

export function flatOf(v: unknown): number[] {
  return Array.isArray(v) ? v.flat(Infinity).map(Number) : [Number(v)];
}

/** REST's columnar `outputs`: a bare value for one output (its name dropped), else keyed by name. */
export function restOutputs(outputs: unknown, names: string[]): Record<string, unknown> {
  return names.length === 1 ? { [names[0]!]: outputs } : (outputs as Record<string, unknown>);
}
