import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataType } from '../../../src/graph/proto/types.ts';
import { LookupTable } from '../../../src/graph/table/lookup-table.ts';
import { initFromTextFile, type TextFileSpec } from '../../../src/graph/table/text-file-init.ts';

const enc = new TextEncoder();
const WHOLE_LINE = -2;
const LINE_NUMBER = -1;
const spec = (s: Partial<TextFileSpec>): TextFileSpec => ({
  keyIndex: WHOLE_LINE,
  valueIndex: LINE_NUMBER,
  vocabSize: -1,
  delimiter: 0x09,
  offset: 0,
  ...s,
});
const table = (key: number = DataType.DT_STRING, value: number = DataType.DT_INT64) =>
  new LookupTable('t', key, value, false);
const get = (t: LookupTable, k: string | number) => t.get(typeof k === 'string' ? enc.encode(k) : k);

// Semantics of tensorflow/core/kernels/lookup_util.cc (TextFileLineIterator), and lookup_ops_test.py's vocabulary
// "brain\nsalad\nsurgery\n": brain → 0, salad → 1, surgery → 2.
test('whole line → line number, with a final line without newline and CRLF endings', () => {
  const t = table();
  initFromTextFile(t, enc.encode('brain\nsalad\r\nsurgery'), spec({}), 'vocab');
  assert.deepEqual(
    [get(t, 'brain'), get(t, 'salad'), get(t, 'surgery'), get(t, 'tank')],
    [0, 1, 2, undefined],
  );
  assert.equal(t.size, 3);
  assert.ok(t.initialized);
});

test('columns split at the delimiter, int64 keys parsed, line numbers shifted by offset', () => {
  const t = table(DataType.DT_INT64, DataType.DT_STRING);
  initFromTextFile(
    t,
    enc.encode('7,seven,x\n 42 ,forty-two,y\n'),
    spec({ keyIndex: 0, valueIndex: 1, delimiter: 0x2c }),
    'f',
  );
  assert.equal(Buffer.from(get(t, 7) as Uint8Array).toString(), 'seven');
  assert.equal(Buffer.from(get(t, 42) as Uint8Array).toString(), 'forty-two');
  const u = table(DataType.DT_STRING, DataType.DT_INT64);
  initFromTextFile(u, enc.encode('a\nb\n'), spec({ offset: 10 }), 'f');
  assert.deepEqual([get(u, 'a'), get(u, 'b')], [10, 11]);
});

test('vocab_size reads that many lines and refuses a shorter file', () => {
  const t = table();
  initFromTextFile(t, enc.encode('a\nb\nc\n'), spec({ vocabSize: 2 }), 'f');
  assert.deepEqual([get(t, 'a'), get(t, 'b'), get(t, 'c')], [0, 1, undefined]);
  assert.throws(() => initFromTextFile(table(), enc.encode('a\nb\n'), spec({ vocabSize: 3 }), 'f'), {
    code: 'CTR_ERR_TABLE_INIT',
  });
});

test('empty lines, missing columns, bad numbers and conflicting duplicates are CTR_ERR_TABLE_INIT', () => {
  const bad = (text: string, s: Partial<TextFileSpec>, key = DataType.DT_STRING, value = DataType.DT_INT64) =>
    assert.throws(() => initFromTextFile(table(key, value), enc.encode(text), spec(s), 'f'), {
      code: 'CTR_ERR_TABLE_INIT',
    });
  bad('a\n\nb\n', {});
  bad('a\tb\n', { keyIndex: 0, valueIndex: 2 });
  bad('a\tx1\n', { keyIndex: 0, valueIndex: 1 });
  bad('a\t1\na\t2\n', { keyIndex: 0, valueIndex: 1 });
  bad('a\n', { keyIndex: LINE_NUMBER, valueIndex: WHOLE_LINE }); // line-number key needs an int64 key
  // The same key twice with the same value is fine (HashTable::DoInsert).
  const t = table();
  initFromTextFile(t, enc.encode('a\t1\na\t1\n'), spec({ keyIndex: 0, valueIndex: 1 }), 'f');
  assert.equal(get(t, 'a'), 1);
});

test('a table already initialized is left as it is by a second text-file init', () => {
  const t = table();
  initFromTextFile(t, enc.encode('a\n'), spec({}), 'f');
  initFromTextFile(t, enc.encode('z\ny\n'), spec({}), 'g');
  assert.equal(t.size, 1);
});
