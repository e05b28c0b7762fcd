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
