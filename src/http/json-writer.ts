import type { HostTensor } from '../graph/model.ts';

/**
 * Writes tensors as JSON text the way TF Serving does: nested arrays in row-major order, float32 values with
 * the 9 significant digits that round-trip a float32 (so 0.1f prints as 0.100000001, not as the
 * 0.10000000149011612 of its double), NaN and ±Infinity as the bare tokens TF Serving writes and accepts.
 * JSON.stringify would turn those into null and print float32 values as doubles, hence this writer.
 */
export function formatNumber(value: number, float32: boolean): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  if (float32) {
    if (value >= 1e-6 && value < 1e9) return formatFloat32Digits(value);
    if (value <= -1e-6 && value > -1e9) return `-${formatFloat32Digits(-value)}`;
  }
  if (Number.isFinite(value)) return float32 ? String(+value.toPrecision(9)) : String(value);
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

export function formatScalar(t: HostTensor, i: number): string {
  const v = t.values[i];
  switch (typeof v) {
    case 'number':
      return formatNumber(v, t.dtype === 'DT_FLOAT' || t.dtype === 'DT_HALF');
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'string':
      return JSON.stringify(v);
    default:
      return 'null';
  }
}

/** The sub-tensor at flat offset `offset` with dims `shape[dim..]`, as JSON text. */
export function formatTensor(t: HostTensor, dim = 0, offset = 0): string {
  if (dim === t.shape.length) return formatScalar(t, offset);
  const n = t.shape[dim]!;
  let stride = 1;
  for (let d = dim + 1; d < t.shape.length; d++) stride *= t.shape[d]!;
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = formatTensor(t, dim + 1, offset + i * stride);
  return `[${parts.join(',')}]`;
}

/** Float32 scores as a JSON array (the CTR API's hot path). */
export function formatFloat32Array(values: ArrayLike<number>, start = 0, end = values.length): string {
  const parts = new Array<string>(end - start);
  for (let i = start; i < end; i++) parts[i - start] = formatNumber(values[i]!, true);
  return `[${parts.join(',')}]`;
}

const POWERS_OF_TEN = Array.from({ length: 40 }, (_, i) => 10 ** i);

/**
 * Probabilities and logits are most of what ctr-serve writes, and toPrecision (V8's bignum path) costs ~0.6 µs
 * each, as much as the model's own time per candidate. For magnitudes in [1e-6, 1e9) (where JavaScript prints no
 * exponent) the 9 significant digits are found with integer arithmetic instead: the result may differ from
 * toPrecision(9) in the 9th digit (a double product's rounding), an error far below half the spacing of float32
 * values there, so it still reads back as the same float32.
 */
function formatFloat32Digits(value: number): string {
  let exponent = Math.floor(Math.log10(value));
  let digits = exponent <= 8 ? Math.round(value * POWERS_OF_TEN[8 - exponent]!) : Math.round(value / 10);
  if (digits >= 1e9) {
    digits = Math.round(digits / 10);
    exponent++;
  }
  if (exponent > 8) return String(+value.toPrecision(9));
  const text = String(digits);
  let end = text.length;
  while (end > exponent + 1 && text.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${text.slice(0, end)}`;
  const point = exponent + 1;
  return end > point ? `${text.slice(0, point)}.${text.slice(point, end)}` : text.slice(0, point);
}
