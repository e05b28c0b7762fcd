import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { isCtrError } from '../../../src/errors/registry.ts';
import {
  decodeExample,
  encodeExample,
  EXAMPLE_LIMITS,
  type ExampleFeatures,
  type Feature,
} from '../../../src/graph/tf-example.ts';

// protobufjs's own reflection decoder over TensorFlow's example.proto: the independent reference.
const protoDir = fileURLToPath(new URL('../../../protos/', import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_o, target) => protoDir + target;
root.loadSync('tensorflow/core/example/example.proto', { keepCase: true });
const Example = root.lookupType('tensorflow.Example');

type Plain = Record<string, { kind: string; value: (number | string)[] }>;

function plainOf(f: ExampleFeatures): Plain {
  const out: Plain = {};
  for (const [name, v] of f) {
    out[name] =
      v.kind === 'none'
        ? { kind: 'none', value: [] }
        : v.kind === 'bytes_list'
          ? { kind: v.kind, value: v.value.map((b) => Buffer.from(b).toString('hex')) }
          : { kind: v.kind, value: [...v.value].map((x) => (typeof x === 'bigint' ? String(x) : x)) };
  }
  return out;
}

/** What protobufjs's Example.decode reads from `bytes`, in the same plain form. */
function referenceOf(bytes: Uint8Array): Plain {
  const obj = Example.toObject(Example.decode(bytes), { longs: String, bytes: Array }) as {
    features?: { feature?: Record<string, Record<string, { value?: unknown[] }>> };
  };
  const out: Plain = {};
  for (const [name, f] of Object.entries(obj.features?.feature ?? {})) {
    const kind = Object.keys(f)[0];
    if (!kind) out[name] = { kind: 'none', value: [] };
    else if (kind === 'bytes_list')
      out[name] = {
        kind,
        value: (f[kind]!.value ?? []).map((b) => Buffer.from(b as number[]).toString('hex')),
      };
    else out[name] = { kind, value: (f[kind]!.value ?? []) as (number | string)[] };
  }
  return out;
}

const featureArb: fc.Arbitrary<Feature> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc
    .array(fc.uint8Array({ maxLength: 12 }), { maxLength: 5 })
    .map((value) => ({ kind: 'bytes_list' as const, value })),
  fc
    .array(fc.float({ noNaN: true }), { maxLength: 6 })
    .map((v) => ({ kind: 'float_list' as const, value: Float32Array.from(v) })),
  fc
    .array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 6 })
    .map((v) => ({ kind: 'int64_list' as const, value: BigInt64Array.from(v) })),
);
const featuresArb = fc
  .dictionary(fc.string({ maxLength: 8 }), featureArb, { maxKeys: 6 })
  .map((d) => new Map(Object.entries(d)) as ExampleFeatures);

test('encode then decode gives the features back, and protobufjs reads the same bytes the same way', () => {
  fc.assert(
    fc.property(featuresArb, (features) => {
      const bytes = encodeExample(features);
      const decoded = decodeExample(bytes);
      assert.deepEqual(plainOf(decoded), plainOf(features));
      assert.deepEqual(plainOf(decoded), referenceOf(bytes));
    }),
    { numRuns: 300 },
  );
});

/** An Example of one feature whose Feature message is `feature` (bytes), by the protobuf encoding rules. */
function exampleWith(name: string, feature: number[]): Uint8Array {
  const entry = [0x0a, name.length, ...Buffer.from(name), 0x12, feature.length, ...feature];
  const features = [0x0a, entry.length, ...entry];
  return Uint8Array.from([0x0a, features.length, ...features]);
}

test('the wire bytes of a small Example are those the protobuf encoding rules give', () => {
  // features { feature { key: "x" value { float_list { value: 2.0 } } } }, packed (feature.proto: packed = true)
  const hand = exampleWith('x', [0x12, 0x06, 0x0a, 0x04, 0x00, 0x00, 0x00, 0x40]);
  assert.equal(hand.length, 17);
  const bytes = encodeExample(new Map([['x', { kind: 'float_list', value: Float32Array.of(2) }]]));
  assert.deepEqual([...bytes], [...hand]);
  assert.deepEqual(plainOf(decodeExample(hand)), { x: { kind: 'float_list', value: [2] } });
});

test('non-packed float and int64 lists read as TensorFlow parsers read them', () => {
  // float_list { value: 1.5 value: -2 } written unpacked (tag 0x0d = field 1, fixed32)
  const floats = exampleWith('f', [0x12, 0x0a, 0x0d, 0, 0, 0xc0, 0x3f, 0x0d, 0, 0, 0, 0xc0]);
  assert.deepEqual(plainOf(decodeExample(floats)), { f: { kind: 'float_list', value: [1.5, -2] } });
  // int64_list { value: 300 value: -1 } unpacked (tag 0x08 = field 1, varint; -1 is ten bytes)
  const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
  const ints = exampleWith('i', [0x1a, 14, 0x08, 0xac, 0x02, 0x08, ...minusOne]);
  assert.deepEqual(plainOf(decodeExample(ints)), { i: { kind: 'int64_list', value: ['300', '-1'] } });
  assert.deepEqual(plainOf(decodeExample(ints)), referenceOf(ints));
});

test('concatenated Examples merge and a repeated key keeps its last value, as protobuf parsing does', () => {
  const context = encodeExample(
    new Map<string, Feature>([
      ['x', { kind: 'float_list', value: Float32Array.of(7) }],
      ['c', { kind: 'int64_list', value: BigInt64Array.of(1n) }],
    ]),
  );
  const example = encodeExample(new Map([['x', { kind: 'float_list', value: Float32Array.of(2) }]]));
  const merged = decodeExample(Uint8Array.from([...context, ...example]));
  assert.deepEqual(plainOf(merged), {
    c: { kind: 'int64_list', value: ['1'] },
    x: { kind: 'float_list', value: [2] },
  });
  // the same key twice inside one Features map
  const twice = Uint8Array.from([
    ...exampleWith('k', [0x12, 0x00]),
    ...exampleWith('k', [0x1a, 0x02, 0x0a, 0x00]),
  ]);
  assert.deepEqual(plainOf(decodeExample(twice)), { k: { kind: 'int64_list', value: [] } });
  // an empty Feature (no list) is kept as 'none': TensorFlow treats it as absent
  assert.deepEqual(plainOf(decodeExample(exampleWith('e', []))), { e: { kind: 'none', value: [] } });
});

test('malformed bytes and bytes over the limits fail with CTR_ERR_INVALID_EXAMPLE', () => {
  const invalid = (bytes: Uint8Array) =>
    assert.throws(
      () => decodeExample(bytes, 'example 4'),
      (e: unknown) =>
        isCtrError(e) && e.code === 'CTR_ERR_INVALID_EXAMPLE' && e.message.includes('example 4'),
    );
  invalid(Uint8Array.of(0x0a, 0x05, 0x01)); // features longer than the bytes
  invalid(exampleWith('f', [0x12, 0x03, 0x0a, 0x03, 0, 0, 0])); // packed floats of 3 bytes
  invalid(Uint8Array.of(0x0b)); // a group never closed
  const many = new Array<Uint8Array>(EXAMPLE_LIMITS.maxBytesValues + 1).fill(new Uint8Array(0));
  invalid(encodeExample(new Map([['b', { kind: 'bytes_list', value: many }]])));
  const floats = new Float32Array(EXAMPLE_LIMITS.maxValues + 1);
  invalid(encodeExample(new Map([['f', { kind: 'float_list', value: floats }]])));
  // unknown fields are skipped, as protobuf parsers do
  const withUnknown = Uint8Array.from([0x10, 0x05, ...exampleWith('x', [])]);
  assert.deepEqual(plainOf(decodeExample(withUnknown)), { x: { kind: 'none', value: [] } });
});
