/**
 * What the packed parser (packed-json.ts) puts in a TF Serving `:predict` body where JSON.parse would put nested
 * lists: a PackedNumbers for every rectangular list of numbers, and a PackedRows for the row format's
 * `"instances": [{...}, ...]` (one PackedNumbers per named input, the rows stacked). The decoders
 * (nested-tensor.ts, ../tf-serving-codec.ts) read them as the tensors the nested lists would have given, and turn
 * them back into those lists (`toNested`) wherever a check needs the general path and its messages.
 */
export class PackedNumbers {
  /** Int32Array when every value is an int32 (and none is -0), as most ids are; else doubles. */
  values: PackedValues = EMPTY;
  constructor(
    readonly shape: readonly number[],
    readonly start: number,
    readonly end: number,
  ) {}

  /** The nested lists JSON.parse would have made (for the general decoder's checks and messages). */
  toNested(): unknown[] {
    let at = 0;
    const build = (dim: number): unknown[] => {
      const n = this.shape[dim]!;
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = dim === this.shape.length - 1 ? this.values[at++] : build(dim + 1);
      return out;
    };
    return build(0);
  }
}

/**
 * Row format's instances, `[{"a": ..., "b": ...}, ...]`, every row with the same keys in the same order, each
 * key's values numbers or rectangular lists of numbers of one shape in every row: `names` in that order (as
 * Object.keys of the first row gives them), `columns[k]` the values of `names[k]` over the rows, shape
 * [rows, ...the value's shape] (the column the general path builds with `rows.map((row) => row[name])`).
 */
export class PackedRows {
  constructor(
    readonly names: readonly string[],
    readonly columns: readonly PackedNumbers[],
  ) {}
}

export type PackedValues = Int32Array | Float64Array;

/**
 * A growable list of numbers the parser appends to, `values[0, count)`: int32s in half the bytes of doubles
 * until a value that is not one (a fraction, a large integer, -0) turns it into doubles (`store`).
 */
export type NumberSink = { values: PackedValues; count: number };

/** `sink.values` with room for at least `extra` more values (doubling, or `first` when still empty). */
export function reserve(sink: NumberSink, extra: number, first = 64): PackedValues {
  const need = sink.count + extra;
  const { values } = sink;
  if (need <= values.length) return values;
  const length = Math.max(need, values.length === 0 ? first : values.length * 2);
  const grown = values instanceof Int32Array ? new Int32Array(length) : new Float64Array(length);
  grown.set(values.subarray(0, sink.count));
  sink.values = grown;
  return grown;
}

/** Appends `v` to `sink` (room reserved), as doubles from now on when `v` is no int32. */
export function store(sink: NumberSink, v: number): PackedValues {
  let { values } = sink;
  if (values instanceof Int32Array && ((v | 0) !== v || (v === 0 && 1 / v < 0))) {
    values = new Float64Array(values.length);
    values.set(sink.values.subarray(0, sink.count));
    sink.values = values;
  }
  values[sink.count++] = v;
  return values;
}

export const EMPTY = new Int32Array(0);

/** Thrown inside the parser to give up; caught in parsePackedJson (not an Error: no stack is captured). */
export const GIVE_UP = Symbol('give up');
