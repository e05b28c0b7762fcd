import { GIVE_UP, PackedNumbers, PackedRows, reserve, store, type NumberSink } from './packed-numbers.ts';

/** The parser (packed-json.ts) as parseRows reads through it: its bytes, position and token readers. */
export interface RowCursor {
  pos: number;
  readonly bytes: Uint8Array;
  readonly maxDepth: number;
  ws(): void;
  /** A string token at `pos` ('"'). */
  string(): string;
  /** A number token at `pos`, as JSON.parse reads it. */
  number(): number;
  /** A rectangular list of numbers at `pos` ('['), appended to `sink`; returns its shape. */
  list(depth: number, sink: NumberSink): number[];
}

type Column = { readonly sink: NumberSink; readonly shape: readonly number[] };

const QUOTE = 0x22;
const MAX_KEYS = 64;

/**
 * The row format's `"instances": [{...}, ...]` at `p.pos` ('[', the list at `depth`), read straight into one
 * buffer per input (issue 10: the row body no longer goes through a UTF-16 string, the depth scan, JSON.parse
 * and a walk over 1000 objects). Row 0 fixes the keys and each value's shape; every later row must repeat them
 * in the same order, byte for byte in the keys. Gives up (GIVE_UP) on anything else, so the general path judges
 * it: other key orders, duplicate or index-like keys (Object.keys would reorder them), `__proto__`, more than
 * MAX_KEYS keys, values that are not numbers or rectangular lists of them, and nesting deeper than `maxDepth`
 * (rows at depth + 1).
 */
export function parseRows(p: RowCursor, depth: number): PackedRows {
  if (depth + 1 > p.maxDepth) throw GIVE_UP;
  const b = p.bytes;
  p.pos++;
  p.ws();
  const rowStart = p.pos;
  expect(p, 0x7b /* { */);
  const names: string[] = [];
  const keys: [number, number][] = [];
  const columns: Column[] = [];
  for (;;) {
    p.ws();
    if (b[p.pos] !== QUOTE) throw GIVE_UP;
    const at = p.pos;
    const name = p.string();
    if (name === '__proto__' || names.includes(name) || /^(0|[1-9]\d*)$/.test(name)) throw GIVE_UP;
    // A buffer per key: a row of thousands of keys is no signature's input (and JSON.parse reads it as well).
    if (names.length === MAX_KEYS) throw GIVE_UP;
    names.push(name);
    keys.push([at, p.pos]);
    colon(p);
    const sink: NumberSink = { values: new Int32Array(64), count: 0 };
    columns.push({ sink, shape: value(p, depth + 2, sink) });
    p.ws();
    const c = b[p.pos++];
    if (c === 0x7d /* } */) break;
    if (c !== 0x2c /* , */) throw GIVE_UP;
  }
  // Room for as many rows as row 0's bytes suggest, so the buffers rarely grow.
  const rowsGuess = Math.ceil((b.length - p.pos) / Math.max(1, p.pos - rowStart)) + 1;
  for (const { sink } of columns) reserve(sink, sink.count * rowsGuess);
  let rows = 1;
  for (; ; rows++) {
    p.ws();
    const c = b[p.pos++];
    if (c === 0x5d /* ] */) break;
    if (c !== 0x2c) throw GIVE_UP;
    p.ws();
    expect(p, 0x7b);
    for (let k = 0; k < columns.length; k++) {
      if (k > 0) {
        p.ws();
        expect(p, 0x2c);
      }
      p.ws();
      sameKey(p, keys[k]!);
      colon(p);
      const { sink, shape } = columns[k]!;
      const got = value(p, depth + 2, sink);
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) throw GIVE_UP;
    }
    p.ws();
    expect(p, 0x7d);
  }
  return new PackedRows(
    names,
    columns.map(({ sink, shape }) => {
      const packed = new PackedNumbers([rows, ...shape], 0, sink.count);
      packed.values = sink.values.subarray(0, sink.count);
      return packed;
    }),
  );
}

/** A number (shape []) or a rectangular list of numbers at `p.pos`, appended to `sink`. */
function value(p: RowCursor, depth: number, sink: NumberSink): readonly number[] {
  p.ws();
  if (p.bytes[p.pos] === 0x5b /* [ */) return p.list(depth, sink);
  const v = p.number();
  reserve(sink, 1);
  store(sink, v);
  return SCALAR;
}

const SCALAR: readonly number[] = [];

function colon(p: RowCursor): void {
  p.ws();
  expect(p, 0x3a /* : */);
  p.ws();
}

function expect(p: RowCursor, byte: number): void {
  if (p.bytes[p.pos++] !== byte) throw GIVE_UP;
}

/** The key token at `p.pos` is byte for byte row 0's (`[start, end)` of the body, quotes included). */
function sameKey(p: RowCursor, [start, end]: [number, number]): void {
  const b = p.bytes;
  const at = p.pos;
  if (at + end - start > b.length) throw GIVE_UP;
  for (let i = 0; i < end - start; i++) if (b[at + i] !== b[start + i]) throw GIVE_UP;
  p.pos = at + end - start;
}
