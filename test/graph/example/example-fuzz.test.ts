import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeExample, encodeExample, type Feature } from '../../../src/graph/tf-example.ts';
import {
  HEAP_GROWTH_BOUND_BYTES,
  memoryInUse,
  mutate,
  mutationArb,
  onlyCodedErrors,
} from '../../helpers/fuzz-helpers.ts';

/** A tf.Example like the CTR rows served here: floats, int64 ids, strings, an empty feature. */
const base = encodeExample(
  new Map<string, Feature>([
    ['fare', { kind: 'float_list', value: Float32Array.of(5.85) }],
    ['trip_start_hour', { kind: 'int64_list', value: BigInt64Array.of(1n, -3n, 2n ** 40n) }],
    ['payment_type', { kind: 'bytes_list', value: [Buffer.from('Cash'), Buffer.from('Credit Card')] }],
    ['history', { kind: 'int64_list', value: BigInt64Array.from({ length: 50 }, (_, i) => BigInt(i * 37)) }],
    ['empty', { kind: 'none' }],
  ]),
);

test('byte mutations of a serialized tf.Example give features or CTR_ERR_INVALID_EXAMPLE, nothing else', async () => {
  const before = memoryInUse();
  await fc.assert(
    fc.asyncProperty(mutationArb(base.length), mutationArb(base.length), async (m1, m2) => {
      const once = mutate(base, m1);
      const bytes = once.length === base.length ? mutate(once, m2) : once;
      await onlyCodedErrors('tf.Example', () => {
        try {
          decodeExample(bytes);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'CTR_ERR_INVALID_EXAMPLE');
          throw err;
        }
      });
    }),
    { numRuns: 2000 },
  );
  assert.ok(memoryInUse() - before < HEAP_GROWTH_BOUND_BYTES);
});

test('random bytes, and deeply nested unknown groups, give only coded errors', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
      await onlyCodedErrors('random bytes', () => decodeExample(bytes));
    }),
    { numRuns: 2000 },
  );
  // 100,000 nested start-group tags (field 2, wire type 3) inside the Example: bounded, not a stack overflow
  const deep = new Uint8Array(100_000).fill(0x13);
  await onlyCodedErrors('nested groups', () => decodeExample(deep));
});
