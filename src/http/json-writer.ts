import type { HostTensor } from '../graph/model.ts';
import { MAX_DECIMAL_BYTES, writeDecimal, writeDecimalInto } from './write-decimal.ts';

/**
 * Tensors as JSON text the way TF Serving writes them: nested arrays in row-major order, floats as its
 * WriteDecimal (write-decimal.ts: 0.1f → 0.1, 3 → 3.0, NaN and ±Infinity as bare tokens). JSON.stringify would
 * turn those into null and print float32 values as doubles, hence this writer.
 *
 * formatNumber is the CTR API's float32 text (routes/ctr.ts, JsonBytes): the 9 significant digits that round-trip a
 * float32 (0.1f → 0.100000001), computed with integer arithmetic because scores are most of what it writes.
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

/**
 * TF Serving writes a DT_STRING output as `{"b64": ...}` when its name ends in `_bytes`, else as a JSON string
 * (tensorflow_serving/util/json_tensor.cc, IsNamedTensorBytes).
 */
export function isBytesOutput(name: string, t: HostTensor): boolean {
  return t.dtype === 'DT_STRING' && name.endsWith('_bytes');
}

const utf8 = new TextDecoder();

/** Element i of `t` as JSON; string bytes as text (invalid UTF-8 replaced), or as `{"b64"}` with `b64`. */
export function formatScalar(t: HostTensor, i: number, b64 = false): string {
  const v = t.values[i];
  if (v instanceof Uint8Array) {
    if (b64) return `{"b64":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"}`;
    return JSON.stringify(utf8.decode(v));
  }
  if (b64 && typeof v === 'string') return `{"b64":"${Buffer.from(v).toString('base64')}"}`;
  switch (typeof v) {
    case 'number':
      return numberWriter(t.dtype)(v);
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'string':
      return JSON.stringify(v);
    default:
      return 'null';
  }
}

/** How TF Serving prints one number of a `dtype` tensor: WriteDecimal for floats, the integer otherwise. */
export function numberWriter(dtype: HostTensor['dtype']): (value: number) => string {
  if (dtype === 'DT_FLOAT' || dtype === 'DT_HALF') return writeFloat;
  if (dtype === 'DT_DOUBLE') return writeDouble;
  return String;
}

const writeFloat = (v: number): string => writeDecimal(v, true);
const writeDouble = (v: number): string => writeDecimal(v, false);

/** The sub-tensor at flat offset `offset` with dims `shape[dim..]`, as JSON text (`b64`: see formatScalar). */
export function formatTensor(t: HostTensor, dim = 0, offset = 0, b64 = false): string {
  if (dim === t.shape.length) return formatScalar(t, offset, b64);
  const n = t.shape[dim]!;
  let stride = 1;
  for (let d = dim + 1; d < t.shape.length; d++) stride *= t.shape[d]!;
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = formatTensor(t, dim + 1, offset + i * stride, b64);
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
  const digits = nineDigits(value);
  const exponent = digitsExponent;
  if (exponent > 8) return String(+value.toPrecision(9));
  const text = String(digits);
  let end = text.length;
  while (end > exponent + 1 && text.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${text.slice(0, end)}`;
  const point = exponent + 1;
  return end > point ? `${text.slice(0, point)}.${text.slice(point, end)}` : text.slice(0, point);
}

/** Set by nineDigits: the decimal exponent of its result's first digit (module state: no object per number). */
let digitsExponent = 0;

/** The 9 significant digits of a positive `value` below 1e9 as an integer (rounded), and digitsExponent. */
function nineDigits(value: number): number {
  let exponent = Math.floor(Math.log10(value));
  let digits = exponent <= 8 ? Math.round(value * POWERS_OF_TEN[8 - exponent]!) : Math.round(value / 10);
  if (digits >= 1e9) {
    digits = Math.round(digits / 10);
    exponent++;
  }
  digitsExponent = exponent;
  return digits;
}

/**
 * JSON text written straight into a growing byte buffer. The CTR reply is mostly float32 scores, and building
 * one string per number and then the joined text cost ~0.25 ms per 1000 scores on a server whose caches are cold
 * between requests (a quarter of the request beyond the model); writing digits as bytes avoids those strings.
 * `float32` writes exactly what formatNumber(v, true) returns.
 */
/** The room JsonBytes.float32Array needs for `n` values: a reply sized with it is written without regrowing. */
export const float32ArrayRoom = (n: number): number => 2 + n * (MAX_FLOAT32_BYTES + 1);

export class JsonBytes {
  #buf: Buffer;
  #len = 0;

  /** `capacity`: the bytes expected (the buffer grows past it when needed). */
  constructor(capacity = 16384) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  /** Text as UTF-8 (JSON punctuation, names, JSON.stringify output). */
  text(s: string): this {
    this.#room(s.length * 3);
    this.#len += this.#buf.write(s, this.#len, 'utf8');
    return this;
  }

  float32(value: number): this {
    this.#room(MAX_FLOAT32_BYTES);
    this.#float32(value);
    return this;
  }

  float32Array(values: ArrayLike<number>): this {
    const n = values.length;
    this.#room(float32ArrayRoom(n));
    this.#buf[this.#len++] = 91; /* [ */
    for (let i = 0; i < n; i++) {
      if (i) this.#buf[this.#len++] = 44; /* , */
      this.#float32(values[i]!);
    }
    this.#buf[this.#len++] = 93; /* ] */
    return this;
  }

  /**
   * Tensor `t` (from flat `offset`, dims `shape[dim..]`) as formatTensor writes it; float tensors digit by digit
   * into the buffer (writeDecimalInto), other dtypes through formatTensor's text.
   */
  tensor(t: HostTensor, b64: boolean, dim = 0, offset = 0): this {
    const { values, dtype } = t;
    const float = dtype === 'DT_FLOAT' || dtype === 'DT_HALF' || dtype === 'DT_DOUBLE';
    if (!float || !(values instanceof Float32Array || values instanceof Float64Array)) {
      return this.text(formatTensor(t, dim, offset, b64));
    }
    this.#decimals(values, t.shape, dtype !== 'DT_DOUBLE', dim, offset);
    return this;
  }

  #decimals(
    values: Float32Array | Float64Array,
    shape: readonly number[],
    float32: boolean,
    dim: number,
    offset: number,
  ): void {
    if (dim === shape.length) {
      this.#room(MAX_DECIMAL_BYTES);
      this.#len = writeDecimalInto(this.#buf, this.#len, values[offset]!, float32);
      return;
    }
    const n = shape[dim]!;
    let stride = 1;
    for (let d = dim + 1; d < shape.length; d++) stride *= shape[d]!;
    const inner = dim === shape.length - 1;
    this.#room(2 + (inner ? n * (MAX_DECIMAL_BYTES + 1) : 0));
    this.#buf[this.#len++] = 91; /* [ */
    for (let i = 0; i < n; i++) {
      if (inner) {
        if (i) this.#buf[this.#len++] = 44; /* , */
        this.#len = writeDecimalInto(this.#buf, this.#len, values[offset + i]!, float32);
        continue;
      }
      if (i) this.text(',');
      this.#decimals(values, shape, float32, dim + 1, offset + i * stride);
    }
    this.text(']');
  }

  toBuffer(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  /** Needs MAX_FLOAT32_BYTES of room. */
  #float32(value: number): void {
    const v = value < 0 ? -value : value;
    if (!(v >= 1e-6 && v < 1e8)) {
      this.#len += this.#buf.write(formatNumber(value, true), this.#len, 'latin1');
      return;
    }
    const digits = nineDigits(v);
    const exponent = digitsExponent;
    if (digits < 1e8 || exponent > 7) {
      this.#len += this.#buf.write(formatNumber(value, true), this.#len, 'latin1');
      return;
    }
    const b = this.#buf;
    let at = this.#len;
    if (value < 0) b[at++] = 45; /* - */
    let end = 9;
    // digits < 1e9 < 2^31: integer arithmetic from here on.
    let d = digits | 0;
    while (end > exponent + 1 && d % 10 === 0) {
      d = (d / 10) | 0;
      end--;
    }
    if (exponent < 0) {
      b[at++] = 48; /* 0 */
      b[at++] = 46; /* . */
      for (let z = -exponent - 1; z > 0; z--) b[at++] = 48;
    }
    // The `end` significant digits, with the point after digit exponent + 1 when that is inside them.
    const point = exponent >= 0 && end > exponent + 1 ? exponent + 1 : -1;
    const width = end + (point > 0 ? 1 : 0);
    for (let i = end - 1, pos = at + width - 1; i >= 0; i--) {
      const q = (d / 10) | 0;
      b[pos--] = 48 + d - q * 10;
      d = q;
      if (i === point) b[pos--] = 46;
    }
    this.#len = at + width;
  }
}

/** The longest formatNumber(v, true) of a float32: "-1.17549435e-38". */
const MAX_FLOAT32_BYTES = 16;
