/**
 * C printf's %d, %f, %e and %g for one number, as TensorFlow's AsString formats (tensorflow/core/kernels/
 * as_string_op.cc builds "%<fill><width>.<precision><conv>" and calls strings::Printf). Written by hand: JS's
 * toFixed/toExponential round ties away from zero, glibc rounds the exact binary value half to even
 * (0.125 → "0.12"), so digits come from the double's exact decimal expansion (BigInt).
 */
export type PrintfSpec = {
  /** printf flags: '-', '+', ' ', '0', '#' (AsString's `fill`). */
  readonly flags: string;
  /** Minimum width, -1 for none. */
  readonly width: number;
  /** -1 for the conversion's default. */
  readonly precision: number;
  readonly conv: 'd' | 'f' | 'e' | 'g';
};

export function printf(x: number, spec: PrintfSpec): string {
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? '-' : spec.flags.includes('+') ? '+' : spec.flags.includes(' ') ? ' ' : '';
  const alt = spec.flags.includes('#');
  let body: string;
  if (Number.isNaN(x)) body = 'nan';
  else if (!Number.isFinite(x)) body = 'inf';
  else if (spec.conv === 'd') body = BigInt(Math.abs(x)).toString();
  else {
    const p = spec.precision < 0 ? 6 : spec.precision;
    const v = exact(Math.abs(x));
    if (spec.conv === 'f') body = fixed(v, p, alt);
    else if (spec.conv === 'e') body = scientific(v, p, alt);
    else body = general(v, p === 0 ? 1 : p, alt);
  }
  const pad = Math.max(0, spec.width - sign.length - body.length);
  if (spec.flags.includes('-')) return sign + body + ' '.repeat(pad);
  if (spec.flags.includes('0') && Number.isFinite(x)) return sign + '0'.repeat(pad) + body;
  return ' '.repeat(pad) + sign + body;
}

/** value = n / 10^scale, exactly. */
type Exact = { readonly n: bigint; readonly scale: number };

function exact(x: number): Exact {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(dv.getUint32(4));
  let e = biased - 1075;
  if (biased === 0) e = -1074;
  else m |= 1n << 52n;
  if (m === 0n) return { n: 0n, scale: 0 };
  return e >= 0 ? { n: m << BigInt(e), scale: 0 } : { n: m * 5n ** BigInt(-e), scale: -e };
}

/** round(n / 10^k), ties to even. */
function roundDiv(n: bigint, k: number): bigint {
  if (k <= 0) return n * 10n ** BigInt(-k);
  const d = 10n ** BigInt(k);
  const q = n / d;
  const r = (n % d) * 2n;
  return r > d || (r === d && q % 2n === 1n) ? q + 1n : q;
}

function fixed(v: Exact, p: number, alt: boolean): string {
  const digits = roundDiv(v.n, v.scale - p)
    .toString()
    .padStart(p + 1, '0');
  const int = digits.slice(0, digits.length - p);
  return p === 0 ? int + (alt ? '.' : '') : `${int}.${digits.slice(digits.length - p)}`;
}

/** The p+1 significant digits of v and its decimal exponent. */
function significant(v: Exact, p: number): { digits: string; exp: number } {
  if (v.n === 0n) return { digits: '0'.repeat(p + 1), exp: 0 };
  const len = v.n.toString().length;
  let exp = len - 1 - v.scale;
  let q = roundDiv(v.n, len - (p + 1));
  if (q.toString().length > p + 1) {
    q /= 10n;
    exp += 1;
  }
  return { digits: q.toString(), exp };
}

function scientific(v: Exact, p: number, alt: boolean): string {
  const { digits, exp } = significant(v, p);
  const mantissa = p === 0 ? digits + (alt ? '.' : '') : `${digits[0]}.${digits.slice(1)}`;
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${mantissa}e${exp < 0 ? '-' : '+'}${e}`;
}

function general(v: Exact, p: number, alt: boolean): string {
  const { exp } = significant(v, p - 1);
  const out = p > exp && exp >= -4 ? fixed(v, p - 1 - exp, alt) : scientific(v, p - 1, alt);
  if (alt) return out;
  const [mantissa, e] = out.split('e') as [string, string | undefined];
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return e === undefined ? trimmed : `${trimmed}e${e}`;
}
