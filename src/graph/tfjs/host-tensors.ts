import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../../errors/registry.ts';
import type { HostTensor, TensorSpec, TfDtype } from '../model.ts';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT_DTYPES = new Set<TfDtype>(['DT_INT32', 'DT_INT64', 'DT_INT16', 'DT_INT8', 'DT_UINT8']);
const FLOAT_DTYPES = new Set<TfDtype>(['DT_FLOAT', 'DT_DOUBLE', 'DT_HALF']);

/** The tfjs dtype a TfDtype computes in. */
export function tfjsDtypeOf(d: TfDtype): tf.DataType {
  if (FLOAT_DTYPES.has(d)) return 'float32';
  if (INT_DTYPES.has(d)) return 'int32';
  return d === 'DT_BOOL' ? 'bool' : 'string';
}

/**
 * A host tensor as a new tfjs tensor in the dtype `spec` names (the caller owns it). Values are read by what the
 * signature expects: numbers (or bigints) for numeric inputs, integers range-checked into int32 for int64.
 * Failures: CTR_ERR_INPUT_MISMATCH (value count, type), CTR_ERR_INT64_RANGE.
 */
export function hostToTensor(name: string, h: HostTensor, spec: TensorSpec): tf.Tensor {
  const count = h.shape.reduce((a, b) => a * b, 1);
  if (!h.shape.every((d) => Number.isInteger(d) && d >= 0) || count !== h.values.length) {
    throw new CtrError(
      'CTR_ERR_INPUT_MISMATCH',
      `input ${name}: shape [${h.shape.join(',')}] does not match ${h.values.length} values`,
    );
  }
  const shape = [...h.shape];
  const d = spec.dtype;
  if (d === 'DT_STRING') {
    const v = h.values as ArrayLike<unknown>;
    const out: Uint8Array[] = [];
    const utf8 = new TextEncoder();
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x instanceof Uint8Array) out.push(x);
      else if (typeof x === 'string') out.push(utf8.encode(x));
      else throw mismatch(name, d, x);
    }
    // tfjs keeps string tensors as Uint8Array[] (tf.tensor accepts them as bytes, unchanged).
    return tf.tensor(out, shape, 'string');
  }
  if (d === 'DT_BOOL') {
    const v = h.values as ArrayLike<unknown>;
    const out = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== 'boolean' && v[i] !== 0 && v[i] !== 1) throw mismatch(name, d, v[i]);
      out[i] = v[i] ? 1 : 0;
    }
    return tf.tensor(out, shape, 'bool');
  }
  if (FLOAT_DTYPES.has(d)) {
    if (h.values instanceof Float32Array) return tf.tensor(h.values, shape, 'float32');
    const v = h.values as ArrayLike<unknown>;
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== 'number' && typeof v[i] !== 'bigint') throw mismatch(name, d, v[i]);
      out[i] = Number(v[i]);
    }
    return tf.tensor(out, shape, 'float32');
  }
  if (INT_DTYPES.has(d)) {
    if (h.values instanceof Int32Array) return tf.tensor(h.values, shape, 'int32');
    const v = h.values as ArrayLike<unknown>;
    const out = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if ((typeof x !== 'number' || !Number.isInteger(x)) && typeof x !== 'bigint')
        throw mismatch(name, d, x);
      const n = Number(x);
      if (n < INT32_MIN || n > INT32_MAX) {
        if (d === 'DT_INT64') {
          throw new CtrError(
            'CTR_ERR_INT64_RANGE',
            `input ${name}: int64 value ${String(x)} does not fit the int32 tfjs computes with`,
          );
        }
        throw new CtrError('CTR_ERR_INPUT_MISMATCH', `input ${name}: ${String(x)} is out of range for ${d}`);
      }
      out[i] = n;
    }
    return tf.tensor(out, shape, 'int32');
  }
  throw new CtrError('CTR_ERR_INPUT_MISMATCH', `input ${name}: dtype ${d} is not supported`);
}

function mismatch(name: string, d: TfDtype, v: unknown): CtrError {
  return new CtrError(
    'CTR_ERR_INPUT_MISMATCH',
    `input ${name}: ${JSON.stringify(v) ?? String(v)} is not a valid ${d} value`,
  );
}

/** Reads a tfjs tensor back to the host as the TfDtype the signature declares (int64 as integers). */
export async function tensorToHost(t: tf.Tensor, dtype: TfDtype): Promise<HostTensor> {
  const shape = [...t.shape];
  if (t.dtype === 'string') {
    // bytes(), not data(): data() decodes UTF-8 and throws on the binary strings TensorFlow allows.
    const bytes = (await t.bytes()) as Uint8Array[];
    return { dtype, shape, values: bytes };
  }
  // Every backend served here (wasm, cpu, tensorflow) reads synchronously: no promise per output.
  const data = t.dataSync();
  if (dtype === 'DT_BOOL') return { dtype, shape, values: Array.from(data as Uint8Array, (x) => x !== 0) };
  if (dtype === 'DT_INT64') return { dtype, shape, values: Array.from(data as Int32Array) };
  if (dtype === 'DT_DOUBLE') return { dtype, shape, values: Float64Array.from(data as Float32Array) };
  if (INT_DTYPES.has(dtype) && !(data instanceof Int32Array))
    return { dtype, shape, values: Int32Array.from(data) };
  return { dtype, shape, values: data as Float32Array | Int32Array };
}
