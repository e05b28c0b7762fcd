import { CtrError } from '../../errors/registry.ts';
import { DataType } from '../proto/types.ts';
import type { LookupTable, TableDtypeKind, TableScalar } from './lookup-table.ts';

/** InitializeTableFromTextFileV2's attrs (tensorflow/core/ops/lookup_ops.cc). */
export type TextFileSpec = {
  /** -2: the whole line; -1: the line number; >= 0: that column of the line split at `delimiter`. */
  readonly keyIndex: number;
  readonly valueIndex: number;
  /** -1: every line; else exactly this many lines are read (fewer is an error). */
  readonly vocabSize: number;
  /** One byte (TensorFlow takes delimiter[0]); default tab. */
  readonly delimiter: number;
  /** Added to line numbers (and to int32 fields), as TensorFlow's TextFileLineIterator does. */
  readonly offset: number;
};

const WHOLE_LINE = -2;
const LINE_NUMBER = -1;
const INT = /^\s*[+-]?\d+\s*$/;
const FLOAT = /^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?|nan)\s*$/i;

/**
 * Fills `table` from the bytes of a vocabulary file as TensorFlow's lookup::InitializeTableFromTextFile
 * (tensorflow/core/kernels/lookup_util.cc) does: lines end at "\n" (a trailing "\r" is dropped, a last line
 * without "\n" counts), an empty line is an error, columns split at every delimiter byte, and with vocab_size set
 * reading stops after that many lines. Keys and values keep the file's raw bytes. A table already initialized is
 * left as it is (TensorFlow ignores a second text-file init). Failures: CTR_ERR_TABLE_INIT naming file and line.
 */
export function initFromTextFile(
  table: LookupTable,
  bytes: Uint8Array,
  spec: TextFileSpec,
  file: string,
): void {
  if (table.initialized) return;
  const fail = (why: string) =>
    new CtrError('CTR_ERR_TABLE_INIT', `lookup table ${table.name} from ${file}: ${why}`);
  if (spec.keyIndex === LINE_NUMBER && table.keyKind !== 'int')
    throw fail('a line-number key needs an int64 table key');
  if (spec.valueIndex === LINE_NUMBER && table.valueKind !== 'int')
    throw fail('a line-number value needs an int64 table value');
  if (spec.keyIndex < WHOLE_LINE || spec.valueIndex < WHOLE_LINE)
    throw fail('key_index and value_index must be >= -2');
  const columns = Math.max(spec.keyIndex, spec.valueIndex) + 1;
  let line = 0;
  let at = 0;
  while (at < bytes.length && (spec.vocabSize < 0 || line < spec.vocabSize)) {
    let end = bytes.indexOf(0x0a, at);
    const next = end < 0 ? bytes.length : end + 1;
    if (end < 0) end = bytes.length;
    if (end > at && bytes[end - 1] === 0x0d) end -= 1;
    const text = bytes.subarray(at, end);
    at = next;
    if (text.length === 0) throw fail(`empty line at line ${line}`);
    const tokens = columns > 0 ? split(text, spec.delimiter) : [];
    if (tokens.length < columns) {
      throw fail(`line ${line} has ${tokens.length} columns, at least ${columns} expected`);
    }
    const field = (index: number, kind: TableDtypeKind, dtype: number): TableScalar => {
      if (index === LINE_NUMBER) return line + spec.offset;
      // TensorFlow adds the offset to int32 fields, not to int64 ones.
      const offset = dtype === DataType.DT_INT32 ? spec.offset : 0;
      return parseField(index === WHOLE_LINE ? text : tokens[index]!, kind, offset, () =>
        fail(
          `field ${JSON.stringify(Buffer.from(index === WHOLE_LINE ? text : tokens[index]!).toString('utf8'))} in line ${line} is not a valid ${kind}`,
        ),
      );
    };
    table.insert(
      field(spec.keyIndex, table.keyKind, table.keyDtype),
      field(spec.valueIndex, table.valueKind, table.valueDtype),
    );
    line += 1;
  }
  if (spec.vocabSize >= 0 && line < spec.vocabSize) {
    throw fail(`vocab_size is ${spec.vocabSize} but the file has ${line} lines`);
  }
  table.initialized = true;
}

function split(line: Uint8Array, delimiter: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line[i] === delimiter) {
      out.push(line.subarray(from, i));
      from = i + 1;
    }
  }
  return out;
}

/** strings::safe_strto32/64 and safe_strtof: surrounding whitespace allowed, nothing else. */
function parseField(
  token: Uint8Array,
  kind: TableDtypeKind,
  offset: number,
  bad: () => CtrError,
): TableScalar {
  if (kind === 'string') return token.slice();
  const text = Buffer.from(token).toString('latin1');
  if (kind === 'int') {
    if (!INT.test(text)) throw bad();
    const v = Number(text);
    if (!Number.isSafeInteger(v)) throw bad();
    return v + offset;
  }
  if (!FLOAT.test(text)) throw bad();
  const t = text
    .trim()
    .toLowerCase()
    .replace(/^([+-]?)inf(inity)?$/, '$1Infinity');
  return t.endsWith('nan') ? NaN : Number(t);
}
