import { EMPTY, GIVE_UP, PackedNumbers, reserve, store, type NumberSink } from './packed-numbers.ts';
import { parseRows, type RowCursor } from './packed-rows.ts';

/**
 * TF Serving `:predict` bodies straight from their bytes (issue 13): one pass over the body that builds the object
 * tree JSON.parse would, except that every rectangular list of numbers becomes one PackedNumbers (its shape and
 * its values in one typed array) instead of nested JS arrays, and the root's row-format `"instances"` one
 * PackedRows (packed-rows.ts). A 1000-row body is ~50,000 ids; parsing it this way skips the UTF-16 string of
 * the body, the depth scan, the nested arrays or row objects and the walk over them.
 *
 * It only ever answers for bodies it reads exactly as JSON.parse does, and gives up (undefined) on anything else:
 * a root that is not an object, empty or ragged lists, lists of strings, objects (but the rows of the root's
 * `instances`) or mixed values, lists nested in lists of other things, NaN/Infinity tokens, a `__proto__` key,
 * nesting deeper than `maxDepth`, and every malformed body. The caller then takes the general path (json-body.ts: the depth check, JSON.parse, the tolerant
 * parser), which also names the fault; so refusals keep their codes and messages. Numbers are the doubles
 * JSON.parse makes: integers of up to 15 digits accumulated exactly, every other number read by Number() from its
 * own text, after the JSON grammar was checked (Number() alone would take "0x1f" or "1.").
 */
export function parsePackedJson(bytes: Uint8Array, maxDepth: number): Record<string, unknown> | undefined {
  const p = new Parser(bytes, maxDepth);
  try {
    p.ws();
    if (bytes[p.pos] !== 0x7b /* { */) return undefined;
    const body = p.object(1);
    p.ws();
    if (p.pos !== bytes.length) return undefined;
    const values = p.nums.values;
    for (const packed of p.packs) packed.values = values.subarray(packed.start, packed.end);
    return body;
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

class Parser implements RowCursor {
  pos = 0;
  /** The values of every PackedNumbers outside rows (sized at the first number, to a number per 4 bytes). */
  readonly nums: NumberSink = { values: EMPTY, count: 0 };
  readonly packs: PackedNumbers[] = [];

  constructor(
    readonly bytes: Uint8Array,
    readonly maxDepth: number,
  ) {}

  ws(): void {
    const b = this.bytes;
    let c = b[this.pos];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++this.pos];
  }

  value(depth: number): unknown {
    this.ws();
    const c = this.bytes[this.pos];
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x5b /* [ */) {
      const start = this.nums.count;
      const shape = this.list(depth + 1, this.nums);
      const packed = new PackedNumbers(shape, start, this.nums.count);
      this.packs.push(packed);
      return packed;
    }
    if (c === 0x2d /* - */ || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    for (const [text, v] of LITERALS) {
      if (this.#matches(text)) {
        this.pos += text.length;
        return v;
      }
    }
    throw GIVE_UP;
  }

  object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) throw GIVE_UP;
    const b = this.bytes;
    const out: Record<string, unknown> = {};
    this.pos++;
    this.ws();
    if (b[this.pos] === 0x7d /* } */) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (b[this.pos] !== 0x22) throw GIVE_UP;
      const key = this.string();
      // JSON.parse makes an own "__proto__" property; assigning it would set the prototype.
      if (key === '__proto__') throw GIVE_UP;
      this.ws();
      if (b[this.pos++] !== 0x3a /* : */) throw GIVE_UP;
      // The root's row-format instances (a list of objects) as one PackedRows.
      out[key] =
        depth === 1 && key === 'instances' && this.#rowsAhead() ? parseRows(this, 2) : this.value(depth);
      this.ws();
      const c = b[this.pos++];
      if (c === 0x7d /* } */) return out;
      if (c !== 0x2c /* , */) throw GIVE_UP;
    }
  }

  /** Whether a list of objects starts at `pos` (after whitespace, which it skips). */
  #rowsAhead(): boolean {
    this.ws();
    const b = this.bytes;
    if (b[this.pos] !== 0x5b /* [ */) return false;
    let i = this.pos + 1;
    while (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09) i++;
    return b[i] === 0x7b; /* { */
  }

  /** A rectangular list of numbers at `pos` ('['), its values appended to `sink`; returns its shape. */
  list(depth: number, sink: NumberSink): number[] {
    if (depth > this.maxDepth) throw GIVE_UP;
    const b = this.bytes;
    this.pos++;
    this.ws();
    const first = b[this.pos];
    let n = 0;
    if (first === 0x5b /* [ */) {
      const inner = this.list(depth + 1, sink);
      for (n = 1; ; n++) {
        this.ws();
        const c = b[this.pos++];
        if (c === 0x5d /* ] */) return [n, ...inner];
        if (c !== 0x2c) throw GIVE_UP;
        this.ws();
        if (b[this.pos] !== 0x5b) throw GIVE_UP;
        const next = this.list(depth + 1, sink);
        if (next.length !== inner.length || next.some((d, i) => d !== inner[i])) throw GIVE_UP;
      }
    }
    if (first !== 0x2d && !(first !== undefined && first >= 0x30 && first <= 0x39)) throw GIVE_UP;
    return [this.#numbers(sink)];
  }

  /**
   * The numbers of a list up to its ']' (the hot loop: ~50,000 per 1000-row body), appended to `sink`; returns
   * how many. Short integers are read here, other numbers by number(). Bounds are checked before every read.
   */
  #numbers(sink: NumberSink): number {
    const b = this.bytes;
    const len = b.length;
    let pos = this.pos;
    let n = 0;
    // The sink in locals for the loop (stored back at the ']'; on giving up nothing reads it).
    let values = sink.values;
    let count = sink.count;
    for (;;) {
      let c = pos < len ? b[pos]! : -1;
      if (c <= 0x20)
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++pos < len ? b[pos]! : -1;
      const start = pos;
      const negative = c === 0x2d;
      if (negative) c = ++pos < len ? b[pos]! : -1;
      // Up to 9 digits without a leading zero in int32 arithmetic; anything else number() reads.
      let v = c - 0x30;
      let digits = 1;
      if (v >= 1 && v <= 9) {
        c = ++pos < len ? b[pos]! : -1;
        while (c >= 0x30 && c <= 0x39 && digits < 10) {
          v = (v * 10 + (c - 0x30)) | 0;
          digits++;
          c = ++pos < len ? b[pos]! : -1;
        }
      } else if (v === 0) {
        c = ++pos < len ? b[pos]! : -1;
      } else {
        digits = 0;
      }
      // Whether v may not fit the sink's int32s (store() decides).
      let other = false;
      if (digits === 0 || digits > 9 || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45) {
        // A leading zero, a fraction, an exponent, a long integer, or no digits.
        this.pos = start;
        v = this.number();
        pos = this.pos;
        c = pos < len ? b[pos]! : -1;
        other = true;
      } else if (negative) {
        v = -v;
        other = v === 0;
      }
      if (count === values.length) {
        sink.count = count;
        values = reserve(sink, 1, Math.max(1024, len >> 2));
      }
      if (other) {
        sink.count = count;
        values = store(sink, v);
        count = sink.count;
      } else {
        values[count++] = v;
      }
      n++;
      if (c <= 0x20)
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++pos < len ? b[pos]! : -1;
      pos++;
      if (c === 0x5d /* ] */) {
        this.pos = pos;
        sink.values = values;
        sink.count = count;
        return n;
      }
      if (c !== 0x2c /* , */) throw GIVE_UP;
    }
  }

  /** A JSON number (the grammar JSON.parse accepts) as JSON.parse reads it. */
  number(): number {
    const b = this.bytes;
    const start = this.pos;
    const negative = b[this.pos] === 0x2d;
    if (negative) this.pos++;
    let c = b[this.pos];
    let v = 0;
    let digits = 0;
    if (c === 0x30) {
      c = b[++this.pos];
      digits = 1;
      if (c !== undefined && c >= 0x30 && c <= 0x39) throw GIVE_UP; // a leading zero
    } else {
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        v = v * 10 + (c - 0x30);
        digits++;
        c = b[++this.pos];
      }
      if (digits === 0) throw GIVE_UP;
    }
    if (c === 0x2e /* . */ || c === 0x65 /* e */ || c === 0x45 /* E */) {
      if (c === 0x2e) {
        this.pos++;
        if (this.#digits() === 0) throw GIVE_UP;
        c = b[this.pos];
      }
      if (c === 0x65 || c === 0x45) {
        c = b[++this.pos];
        if (c === 0x2b || c === 0x2d) this.pos++;
        if (this.#digits() === 0) throw GIVE_UP;
      }
      return Number(latin1(b, start, this.pos));
    }
    if (digits > 15) return Number(latin1(b, start, this.pos));
    return negative ? -v : v;
  }

  #digits(): number {
    const b = this.bytes;
    const from = this.pos;
    let c = b[this.pos];
    while (c !== undefined && c >= 0x30 && c <= 0x39) c = b[++this.pos];
    return this.pos - from;
  }

  /** A JSON string; with escapes or non-ASCII bytes, JSON.parse reads the token itself. */
  string(): string {
    const b = this.bytes;
    const start = ++this.pos;
    let plain = true;
    for (;;) {
      const c = b[this.pos];
      if (c === undefined || c < 0x20) throw GIVE_UP;
      if (c === 0x22) break;
      if (c === 0x5c /* \ */) {
        plain = false;
        this.pos += 2;
        continue;
      }
      if (c >= 0x80) plain = false;
      this.pos++;
    }
    const end = this.pos++;
    if (plain) return latin1(b, start, end);
    try {
      // The token's bytes decoded as the whole body would be (quotes are ASCII: no character is cut).
      return JSON.parse(
        Buffer.from(b.buffer, b.byteOffset + start - 1, end - start + 2).toString('utf8'),
      ) as string;
    } catch {
      throw GIVE_UP;
    }
  }

  #matches(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (this.bytes[this.pos + i] !== text.charCodeAt(i)) return false;
    return true;
  }
}

const LITERALS: readonly (readonly [string, unknown])[] = [
  ['true', true],
  ['false', false],
  ['null', null],
];

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}
