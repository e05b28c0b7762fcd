import { CtrError } from '../errors/registry.ts';
import type { HostTensor, TfDtype } from './model.ts';

/** JSON value of one tensor in TF Serving's columnar form: a scalar or nested arrays. */
export type NestedValue = number | string | boolean | null | NestedValue[];

/**
 * Nested arrays → a HostTensor of `dtype`, its shape read from the nesting. Ragged nesting answers
 * CTR_ERR_INPUT_MISMATCH naming the input; element types are checked later, against the signature.
 */
export function fromNested(name: string, value: NestedValue, dtype: TfDtype): HostTensor {
  const shape: number[] = [];
  for (let v: NestedValue = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  const values: (number | string | boolean)[] = [];
  const walk = (v: NestedValue, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v) || v === null) throw ragged(name);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw ragged(name);
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { dtype, shape, values: values as HostTensor['values'] };
}

function ragged(name: string): CtrError {
  return new CtrError('CTR_ERR_INPUT_MISMATCH', `input ${name} is not a rectangular nested array`);
}

/**
 * A HostTensor → nested arrays for JSON. float32 values print with the 9 significant digits that identify a
 * float32 (2.5, not 2.5000000000000004); NaN and ±Infinity, which JSON lacks, print as strings.
 */
export function toNested(t: HostTensor): NestedValue {
  const isFloat32 = t.values instanceof Float32Array;
  const flat = Array.from(t.values as ArrayLike<unknown>, (v): NestedValue => {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return String(v);
      return isFloat32 ? Number(v.toPrecision(9)) : v;
    }
    return v as NestedValue;
  });
  const build = (offset: number, depth: number): NestedValue => {
    if (depth === t.shape.length) return flat[offset];
    const stride = t.shape.slice(depth + 1).reduce((x, y) => x * y, 1);
    return Array.from({ length: t.shape[depth] }, (_, i) => build(offset + i * stride, depth + 1));
  };
  return build(0, 0);
}
