import type { HostTensor } from '../graph/model.ts';

/**
 * Row (dim 0) arithmetic on host tensors, for batch tasks (batch-task.ts): concatenating requests' inputs and slicing a merged
 * output back per request. Typed arrays stay typed (one allocation per tensor); plain arrays (int64 as numbers
 * or bigints, bools, strings) stay plain.
 */

type Values = HostTensor['values'];
type TypedValues = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Dim 0 shared by every input, or undefined when an input is a scalar or they disagree. */
export function rowsOf(inputs: Readonly<Record<string, HostTensor>>): number | undefined {
  let rows: number | undefined;
  for (const t of Object.values(inputs)) {
    if (t.shape.length === 0) return undefined;
    if (rows !== undefined && rows !== t.shape[0]) return undefined;
    rows = t.shape[0];
  }
  return rows;
}

export function concatRows(
  parts: readonly Readonly<Record<string, HostTensor>>[],
): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const name of Object.keys(parts[0]!)) {
    const tensors = parts.map((p) => p[name]!);
    const rows = tensors.reduce((n, t) => n + t.shape[0]!, 0);
    out[name] = {
      dtype: tensors[0]!.dtype,
      shape: [rows, ...tensors[0]!.shape.slice(1)],
      values: concatValues(tensors.map((t) => t.values)),
    };
  }
  return out;
}

export function sliceRows(
  tensors: Readonly<Record<string, HostTensor>>,
  start: number,
  rows: number,
): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1);
    out[name] = {
      dtype: t.dtype,
      shape: [rows, ...t.shape.slice(1)],
      values: t.values.slice(start * rowSize, (start + rows) * rowSize) as Values,
    };
  }
  return out;
}

function concatValues(list: readonly Values[]): Values {
  const first = list[0]!;
  if (ArrayBuffer.isView(first) && list.every((v) => v.constructor === first.constructor)) {
    const total = list.reduce((n, v) => n + v.length, 0);
    const Ctor = first.constructor as new (n: number) => TypedValues;
    const out = new Ctor(total);
    let offset = 0;
    for (const v of list as readonly TypedValues[]) {
      out.set(v, offset);
      offset += v.length;
    }
    return out;
  }
  const out: unknown[] = [];
  for (const v of list) for (let i = 0; i < v.length; i++) out.push(v[i]);
  return out as Values;
}
