import { CtrError } from '../../errors/registry.ts';
import type { HostTensor, TfDtype } from '../../graph/model.ts';
import { elementPosition } from '../../graph/element-position.ts';
import { fitsIntegerDtype, INTEGER_RANGES, integerOf } from './dtype-range.ts';
import { MAX_JSON_DEPTH } from './json-depth.ts';
import type { PackedNumbers } from './packed-numbers.ts';

/**
 * Typed decoding of one tensor given as nested JSON lists (TF Serving's row and columnar forms, and any protocol
 * that carries tensors as nested lists): the shape comes from the nesting, the values are checked against the
 * dtype while they are copied into a typed array, so nothing out of range is ever stored (see dtype-range.ts).
 * The walk keeps its own stack of lists, so a value nested however deep costs no call-stack depth.
 *
 * Failures: CTR_ERR_BAD_REQUEST (ragged lists, a value of the wrong JSON type), CTR_ERR_DTYPE_RANGE (a number an
 * integer dtype cannot hold), each naming the input and the element's position; CTR_ERR_JSON_TOO_DEEP (rank over
 * MAX_JSON_DEPTH, for values that did not come through checkJsonDepth).
 */
export function decodeNestedTensor(value: unknown, dtype: TfDtype, name: string): HostTensor {
  const shape = shapeOf(value);
  if (shape.length > MAX_JSON_DEPTH) {
    throw new CtrError(
      'CTR_ERR_JSON_TOO_DEEP',
      `input "${name}" nests lists ${shape.length} deep; the limit is ${MAX_JSON_DEPTH}`,
    );
  }
  const fast = numericValues(value, shape, dtype);
  if (fast) return { dtype, shape, values: fast };
  const leaves = leavesOf(value, shape, name);
  return { dtype, shape, values: typedValues(leaves, dtype, name, shape) };
}

/**
 * The common case in one pass: a rectangular list of numbers of a numeric dtype, copied straight into its typed
 * array with the dtype's range checked inline. Anything else (ragged, a non-number, an integer out of range, a
 * non-numeric dtype) returns undefined and takes the general walk below, which names the fault.
 */
function numericValues(
  value: unknown,
  shape: readonly number[],
  dtype: TfDtype,
): HostTensor['values'] | undefined {
  const range = INTEGER_RANGES[dtype];
  if (dtype === 'DT_INT64' || (!range && !FLOATS.has(dtype))) return undefined;
  let size = 1;
  for (const d of shape) size *= d;
  // Empty tensors (a 0 dim) take the general walk, which checks every sibling list is empty too.
  if (size === 0) return undefined;
  const kind = range ? (dtype === 'DT_UINT8' ? 'u8' : 'i32') : dtype === 'DT_DOUBLE' ? 'f64' : 'f32';
  const out =
    kind === 'f32'
      ? new Float32Array(size)
      : kind === 'f64'
        ? new Float64Array(size)
        : kind === 'u8'
          ? new Uint8Array(size)
          : new Int32Array(size);
  if (shape.length === 0) return fill(out, 0, value, range) ? out : undefined;
  const inner = shape[shape.length - 1]!;
  const rows = size / Math.max(1, inner);
  // Walk the rows (lists of scalars) with one index per outer dim, no recursion.
  const at = new Array<number>(shape.length - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let list = value as unknown;
    for (let d = 0; d < at.length; d++) {
      if (!Array.isArray(list) || list.length !== shape[d]) return undefined;
      list = list[at[d]!];
    }
    if (!Array.isArray(list) || list.length !== inner) return undefined;
    const base = r * inner;
    for (let j = 0; j < inner; j++) if (!fill(out, base + j, list[j], range)) return undefined;
    for (let d = at.length - 1; d >= 0 && ++at[d]! === shape[d]; d--) at[d] = 0;
  }
  return out;
}

const FLOATS = new Set<TfDtype>(['DT_FLOAT', 'DT_HALF', 'DT_DOUBLE']);

function fill(
  out: Float32Array | Float64Array | Int32Array | Uint8Array,
  i: number,
  v: unknown,
  range: readonly [number, number] | undefined,
): boolean {
  if (typeof v !== 'number') return false;
  if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) return false;
  out[i] = v;
  return true;
}

/**
 * The values of a flat list as the typed array `dtype` is held in (HostTensor): integers range-checked,
 * float32 for DT_FLOAT/DT_HALF, booleans and strings ({"b64": ...} decoded) as lists. `shape` only names
 * positions in messages.
 */
export function typedValues(
  flat: readonly unknown[],
  dtype: TfDtype,
  name: string,
  shape: readonly number[] = [flat.length],
): HostTensor['values'] {
  const where = (i: number) => `input "${name}" element ${elementPosition(i, shape)}`;
  switch (dtype) {
    case 'DT_FLOAT':
    case 'DT_HALF':
    case 'DT_DOUBLE': {
      const out = dtype === 'DT_DOUBLE' ? new Float64Array(flat.length) : new Float32Array(flat.length);
      for (let i = 0; i < flat.length; i++) {
        const v = flat[i];
        if (typeof v !== 'number') bad(`${where(i)} needs a number; it is ${JSON.stringify(v) ?? v}`);
        out[i] = v;
      }
      return out;
    }
    case 'DT_INT32':
    case 'DT_INT16':
    case 'DT_INT8':
    case 'DT_UINT8': {
      const out = dtype === 'DT_UINT8' ? new Uint8Array(flat.length) : new Int32Array(flat.length);
      for (let i = 0; i < flat.length; i++) {
        const v = flat[i];
        out[i] = typeof v === 'number' && fitsIntegerDtype(v, dtype) ? v : integerOf(v, dtype, where(i));
      }
      return out;
    }
    case 'DT_INT64':
      return flat.map((v, i) =>
        typeof v === 'number' && fitsIntegerDtype(v, dtype) ? v : integerOf(v, dtype, where(i)),
      );
    case 'DT_BOOL':
      return flat.map((v, i) => (typeof v === 'boolean' ? v : bad(`${where(i)} needs true/false`)));
    case 'DT_STRING': {
      const utf8 = new TextEncoder();
      return flat.map((v, i) => {
        if (typeof v === 'string') return utf8.encode(v);
        if (isB64(v)) return base64Bytes(v.b64, where(i));
        return bad(`${where(i)} needs a string (or {"b64": ...})`);
      });
    }
  }
}

/** The dims along the first element at every depth; leavesOf checks every other list against them. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  return shape;
}

function leavesOf(value: unknown, shape: readonly number[], name: string): unknown[] {
  if (shape.length === 0) return [value];
  const leaves: unknown[] = [];
  const lists: unknown[][] = [value as unknown[]];
  const next: number[] = [0];
  while (lists.length > 0) {
    const d = lists.length - 1;
    const list = lists[d]!;
    const i = next[d]!;
    if (i === list.length) {
      lists.pop();
      next.pop();
      continue;
    }
    next[d] = i + 1;
    const child = list[i];
    if (d + 1 < shape.length) {
      if (!Array.isArray(child))
        bad(`input "${name}" is ragged: a scalar sits beside lists at depth ${d + 1}`);
      if (child.length !== shape[d + 1]) {
        bad(
          `input "${name}" is ragged: lists at depth ${d + 1} have lengths ${shape[d + 1]} and ${child.length}`,
        );
      }
      lists.push(child);
      next.push(0);
    } else {
      if (Array.isArray(child))
        bad(`input "${name}" is ragged: a list sits beside scalars at depth ${d + 1}`);
      leaves.push(child);
    }
  }
  return leaves;
}

/**
 * The bytes of a `{"b64": ...}` value (TF Serving decodes with absl::Base64Unescape, which accepts the standard
 * alphabet with or without padding); anything else is CTR_ERR_BAD_REQUEST naming `where`.
 */
export function base64Bytes(text: string, where: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    bad(`${where} is not valid base64 in {"b64": ...}`);
  }
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function isB64(v: unknown): v is { b64: string } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { b64?: unknown }).b64 === 'string' &&
    Object.keys(v).length === 1
  );
}

function bad(message: string): never {
  throw new CtrError('CTR_ERR_BAD_REQUEST', message);
}

/**
 * decodeNestedTensor for a PackedNumbers: the same tensor, read from the packed values. Numeric dtypes are
 * copied (integers checked against their dtype's range; int32 values the parser kept as int32s are the tensor's
 * values as they are); anything else, and any value that fails a check, goes through decodeNestedTensor on the
 * nested lists, which gives the same tensor or the same error.
 */
export function decodePackedTensor(packed: PackedNumbers, dtype: TfDtype, name: string): HostTensor {
  const { values } = packed;
  const shape = [...packed.shape];
  if (dtype === 'DT_FLOAT' || dtype === 'DT_HALF') return { dtype, shape, values: new Float32Array(values) };
  if (dtype === 'DT_DOUBLE') return { dtype, shape, values: new Float64Array(values) };
  if (dtype === 'DT_INT32' && values instanceof Int32Array) return { dtype, shape, values };
  const range = INTEGER_RANGES[dtype];
  if (range && dtype !== 'DT_INT64') {
    const [lo, hi] = range;
    // One pass for the range (an int32 is an integer; a double must be one too), then one native conversion.
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!(v >= lo && v <= hi && (values instanceof Int32Array || Number.isInteger(v))))
        return decodeNestedTensor(packed.toNested(), dtype, name);
    }
    return { dtype, shape, values: dtype === 'DT_UINT8' ? new Uint8Array(values) : new Int32Array(values) };
  }
  return decodeNestedTensor(packed.toNested(), dtype, name);
}
