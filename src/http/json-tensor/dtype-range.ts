import { CtrError } from '../../errors/registry.ts';
import type { TfDtype } from '../../graph/model.ts';

/**
 * The values an integer dtype holds. TF Serving reads a JSON number into an integer tensor only when rapidjson
 * says it fits (`IsInt()` for DT_INT32, `IsInt64()` for DT_INT64, ... in tensorflow_serving/util/json_tensor.cc)
 * and answers INVALID_ARGUMENT otherwise; here the same check runs before a value is stored in a typed array,
 * where it would silently wrap (Int32Array stores 1e20 as 1661992960).
 */
export const INTEGER_RANGES: Readonly<Partial<Record<TfDtype, readonly [number, number]>>> = {
  DT_INT8: [-(2 ** 7), 2 ** 7 - 1],
  DT_UINT8: [0, 2 ** 8 - 1],
  DT_INT16: [-(2 ** 15), 2 ** 15 - 1],
  DT_INT32: [-(2 ** 31), 2 ** 31 - 1],
  // 2^63 is a double; -2^63 is exact and 2^63 - 1 rounds to 2^63, so the upper bound is checked as `< 2^63`.
  DT_INT64: [-(2 ** 63), 2 ** 63],
};

/** Whether `v` is an integer `dtype` can hold (false for every non-integer dtype). */
export function fitsIntegerDtype(v: number, dtype: TfDtype): boolean {
  const range = INTEGER_RANGES[dtype];
  if (!range || !Number.isInteger(v)) return false;
  return dtype === 'DT_INT64' ? v >= range[0] && v < range[1] : v >= range[0] && v <= range[1];
}

/**
 * `v` as a number of the integer dtype, or CTR_ERR_DTYPE_RANGE naming `where` ("input \"x\" element [3]") for
 * an integer outside the range. Non-numbers and non-integers are CTR_ERR_BAD_REQUEST: a type error, not a range.
 */
export function integerOf(v: unknown, dtype: TfDtype, where: string): number {
  if (typeof v === 'number' && fitsIntegerDtype(v, dtype)) return v;
  if (typeof v !== 'number') {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `${where} needs numbers; it is ${JSON.stringify(v) ?? v}`);
  }
  if (!Number.isInteger(v)) {
    throw new CtrError('CTR_ERR_BAD_REQUEST', `${where} is ${v}; ${dtype} is an integer tensor`);
  }
  const range = INTEGER_RANGES[dtype]!;
  const upper = dtype === 'DT_INT64' ? '2^63 - 1' : String(range[1]);
  throw new CtrError(
    'CTR_ERR_DTYPE_RANGE',
    `${where} is ${v}, not an integer in ${dtype}'s range [${range[0]}, ${upper}]`,
  );
}
