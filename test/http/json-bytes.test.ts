import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatNumber, JsonBytes } from '../../src/http/json-writer.ts';

const bytesOf = (values: number[]) => new JsonBytes().float32Array(values).toBuffer().toString();
const textOf = (values: number[]) => `[${values.map((v) => formatNumber(v, true)).join(',')}]`;

test('JsonBytes writes every float32 exactly as formatNumber does', () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: false }), { maxLength: 40 }), (values) => {
      assert.equal(bytesOf(values), textOf(values));
    }),
    { numRuns: 3000 },
  );
  // Probabilities, the bulk of CTR replies, and the edges of the digit path.
  fc.assert(
    fc.property(fc.float({ min: Math.fround(1e-7), max: Math.fround(0.99999994), noNaN: true }), (v) => {
      assert.equal(bytesOf([v]), textOf([v]));
    }),
    { numRuns: 20000 },
  );
  const edges = [
    0, -0, 1, -1, 0.5, 0.1, 1e-6, 9.99999e-7, 1e8, 99999992, 1e9, 123.456, -3.0000002, 65504, 1e-45,
  ];
  const f32 = edges.map((v) => Math.fround(v));
  assert.equal(bytesOf(f32), textOf(f32));
  assert.equal(bytesOf([Math.fround(0.1), NaN, -Infinity]), '[0.100000001,NaN,-Infinity]');
});

test('JsonBytes grows past its first buffer and keeps UTF-8 text intact', () => {
  const out = new JsonBytes().text('{"id":"ü→✓","scores":');
  const values = Array.from({ length: 5000 }, (_, i) => Math.fround(i / 5001));
  const text = out.float32Array(values).text('}').toBuffer().toString('utf8');
  const parsed = JSON.parse(text) as { id: string; scores: number[] };
  assert.equal(parsed.id, 'ü→✓');
  assert.deepEqual(
    parsed.scores.map((v) => Math.fround(v)),
    values,
  );
});
