/**
 * TF Serving's float text in REST JSON, as `WriteDecimal` in tensorflow_serving/util/json_tensor.cc writes it:
 * absl::StrCat's six significant digits (printf `%.6g`) when that text reads back as the same value at the
 * tensor's precision (float for DT_FLOAT, double for DT_DOUBLE), else printf's `%.*g` with max_digits10 (9 for
 * float, 17 for double); then `.0` is appended when the text has neither a '.' nor an 'e' (3 → `3.0`,
 * 9000000 → `9e+06`, 0.1f → `0.1`); NaN and ±Infinity are the bare tokens `NaN`, `Infinity`, `-Infinity`.
 * JavaScript has no printf, and Number#toPrecision rounds ties up where printf rounds the exact binary value
 * half to even and switches to exponents at other magnitudes, hence the digits are computed here.
 */
export function writeDecimal(value: number, float32: boolean): string {
  if (value !== value) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  let text = formatG(value, 6);
  const back = readBack(text, value);
  if ((float32 ? Math.fround(back) : back) !== value) text = formatG(value, float32 ? 9 : 17);
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
}

/** The most bytes writeDecimalInto writes: "-1.7976931348623157e+308". */
export const MAX_DECIMAL_BYTES = 24;

/**
 * writeDecimal(value, float32) as latin1 bytes into `buf` at `at` (MAX_DECIMAL_BYTES of room); returns the end.
 * Model outputs are most of a `:predict` reply and a float32 probability needs both passes of writeDecimal (six
 * digits do not read back, nine do): here both run on integers and the digits go straight into the reply's
 * buffer, without the strings. Values the integer path cannot settle (0, non-finite, ties, 17 digits) take
 * writeDecimal itself.
 */
export function writeDecimalInto(buf: Buffer, at: number, value: number, float32: boolean): number {
  const v = value < 0 ? -value : value;
  let precision = 6;
  // readBack's exact product needs an exact power of ten (|k| ≤ 22); beyond, writeDecimal parses its text.
  const log10 = v > 0 && v < Infinity ? Math.floor(Math.log10(v)) : 0;
  let ok = v > 0 && v < Infinity && fastDigits(v, 6, log10) && gExponent - 5 >= -22 && gExponent - 5 <= 22;
  if (ok) {
    const k = gExponent - 5;
    const back = k >= 0 ? gDigits * POW10[k]! : gDigits / POW10[-k]!;
    if ((float32 ? Math.fround(back) : back) !== v) {
      precision = 9;
      ok = float32 && fastDigits(v, 9, log10);
    }
  }
  if (!ok) return at + buf.write(writeDecimal(value, float32), at, 'latin1');
  if (value < 0) buf[at++] = 45; /* - */
  const exponent = gExponent;
  // gDigits < 1e9 < 2^31: integer arithmetic from here on.
  let d = gDigits | 0;
  let end = precision;
  while (end > 1 && d % 10 === 0) {
    d = (d / 10) | 0;
    end--;
  }
  if (exponent < -4 || exponent >= precision) {
    at = writeDigits(buf, at, d, end, 1);
    buf[at++] = 101; /* e */
    buf[at++] = exponent < 0 ? 45 : 43; /* - + */
    const abs = exponent < 0 ? -exponent : exponent;
    if (abs >= 100) buf[at++] = 48 + ((abs / 100) | 0);
    buf[at++] = 48 + (((abs / 10) | 0) % 10);
    buf[at++] = 48 + (abs % 10);
    return at;
  }
  if (exponent < 0) {
    buf[at++] = 48; /* 0 */
    buf[at++] = 46; /* . */
    for (let z = -exponent - 1; z > 0; z--) buf[at++] = 48;
    return writeDigits(buf, at, d, end, 0);
  }
  const point = exponent + 1;
  if (end > point) return writeDigits(buf, at, d, end, point);
  at = writeDigits(buf, at, d, end, 0);
  for (let z = point - end; z > 0; z--) buf[at++] = 48;
  buf[at++] = 46; /* . */
  buf[at++] = 48; /* 0 */
  return at;
}

/** The `count` digits of `d`, with a '.' after the first `point` of them when 0 < point < count. */
function writeDigits(buf: Buffer, at: number, d: number, count: number, point: number): number {
  const dot = point > 0 && point < count ? 1 : 0;
  let pos = at + count + dot - 1;
  for (let i = count - 1; i >= 0; i--) {
    const q = (d / 10) | 0;
    buf[pos--] = 48 + d - q * 10;
    d = q;
    if (dot && i === point) buf[pos--] = 46; /* . */
  }
  return at + count + dot;
}

/** Set by roundDigits: the significant digits and the decimal exponent of the first (no object per number). */
let gDigits = 0;
let gExponent = 0;
let gText = '';

/** printf's `%.{precision}g` of a finite number. */
function formatG(value: number, precision: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const negative = value < 0;
  roundDigits(negative ? -value : value, precision);
  const digits = gText;
  const exponent = gExponent;
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48 /* 0 */) end--;
  let text: string;
  if (exponent < -4 || exponent >= precision) {
    const mantissa = end > 1 ? `${digits[0]}.${digits.slice(1, end)}` : digits[0]!;
    const abs = exponent < 0 ? -exponent : exponent;
    text = `${mantissa}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  } else if (exponent < 0) {
    text = `0.${'0'.repeat(-exponent - 1)}${digits.slice(0, end)}`;
  } else {
    const point = exponent + 1;
    text = end > point ? `${digits.slice(0, point)}.${digits.slice(point, end)}` : digits.slice(0, point);
  }
  return negative ? `-${text}` : text;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The `precision` significant digits of positive `v` rounded half to even on its exact binary value (printf's
 * rounding), into gText/gDigits/gExponent. Up to 9 digits a double product gives them unless the scaled value lies
 * within 1e-6 of a tie, where the exact digits decide; 17 digits always take the exact path.
 */
function roundDigits(v: number, precision: number): void {
  if (precision <= 9 && fastDigits(v, precision)) gText = String(gDigits);
  else exactDigits(v, precision);
}

/**
 * roundDigits's double-product path into gDigits/gExponent (not gText); false when the exact path must decide.
 * `exponent`: floor(log10(v)) when the caller knows it (one log10 for both passes of writeDecimalInto).
 */
function fastDigits(v: number, precision: number, exponent = Math.floor(Math.log10(v))): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    const k = precision - 1 - exponent;
    const scaled = k >= 0 ? v * pow10(k) : v / pow10(-k);
    if (!Number.isFinite(scaled)) return false;
    if (scaled < POW10[precision - 1]!) {
      exponent--;
      continue;
    }
    const fraction = scaled - Math.floor(scaled);
    if (Math.abs(fraction - 0.5) < 1e-6) return false;
    let digits = Math.floor(scaled + 0.5);
    if (digits >= POW10[precision]!) {
      digits /= 10;
      exponent++;
    }
    gDigits = digits;
    gExponent = exponent;
    return true;
  }
  return false;
}

/** 10 ** k (k ≥ 0), from the table where it holds it (the same values: POW10 is made with `**`). */
const pow10 = (k: number): number => (k < POW10.length ? POW10[k]! : 10 ** k);

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** Exact decimal expansion of v (BigInt), rounded half to even to `precision` digits. */
function exactDigits(v: number, precision: number): void {
  F64[0] = v;
  const hi = U32[1]!;
  const lo = U32[0]!;
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mantissa |= 1n << 52n;
  const binaryExponent = (biased === 0 ? 1 : biased) - 1075;
  let text: string;
  let exponent: number;
  if (binaryExponent >= 0) {
    text = (mantissa << BigInt(binaryExponent)).toString();
    exponent = text.length - 1;
  } else {
    text = (mantissa * 5n ** BigInt(-binaryExponent)).toString();
    exponent = text.length - 1 + binaryExponent;
  }
  let head = text.slice(0, precision).padEnd(precision, '0');
  const tail = text.slice(precision);
  const last = head.charCodeAt(precision - 1) - 48;
  const up =
    tail.length > 0 &&
    (tail[0]! > '5' || (tail[0] === '5' && (/[1-9]/.test(tail.slice(1)) || last % 2 === 1)));
  if (up) {
    head = (BigInt(head) + 1n).toString();
    if (head.length > precision) {
      head = head.slice(0, precision);
      exponent++;
    }
  }
  gText = head;
  gDigits = Number(head);
  gExponent = exponent;
}

/**
 * Number(text) without parsing where the digits allow: digits × 10^(exponent − precision + 1) is one correctly
 * rounded operation on exact operands when the power of ten is exact (|k| ≤ 22), which is what parsing gives.
 */
function readBack(text: string, value: number): number {
  const k = gExponent - (gText.length - 1);
  if (gDigits <= Number.MAX_SAFE_INTEGER && k >= -22 && k <= 22 && value !== 0) {
    const magnitude = k >= 0 ? gDigits * POW10[k]! : gDigits / POW10[-k]!;
    return value < 0 ? -magnitude : magnitude;
  }
  return Number(text);
}
