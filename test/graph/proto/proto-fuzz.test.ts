import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeGraphDef,
  decodeSavedModel,
  decodeTrackableObjectGraph,
} from '../../../src/graph/proto/decode.ts';
import type { GraphDef, TensorProto } from '../../../src/graph/proto/types.ts';
import { tensorProtoToValues } from '../../../src/graph/tensor/tensor-values.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';
import {
  HEAP_GROWTH_BOUND_BYTES,
  memoryInUse,
  mutate,
  mutationArb,
  onlyCodedErrors,
} from '../../helpers/fuzz-helpers.ts';

const opts = { skip: skipWithoutFixtures };
/** Small enough that a fuzzed `shape: [2^20]` with one float_val does not stress the machine. */
const MAX_ELEMENTS = 1 << 20;

function tensorsOf(g: GraphDef): TensorProto[] {
  const nodes = [...g.node, ...(g.library?.function ?? []).flatMap((f) => f.nodeDef)];
  return nodes.flatMap((n) =>
    Object.values(n.attr).flatMap((a) => [...(a.tensor ? [a.tensor] : []), ...(a.list?.tensor ?? [])]),
  );
}

function decodeAndReadTensors(bytes: Uint8Array, kind: 'graph' | 'savedModel'): void {
  const graphs =
    kind === 'graph'
      ? [decodeGraphDef(bytes, 'fuzz.pb')]
      : decodeSavedModel(bytes, 'saved_model.pb').metaGraphs.flatMap((m) => (m.graphDef ? [m.graphDef] : []));
  for (const g of graphs) {
    for (const t of tensorsOf(g)) tensorProtoToValues(t, 'fuzz Const', MAX_ELEMENTS);
  }
}

test('random bytes give a decoded message or a coded error from every decoder', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
      await onlyCodedErrors('GraphDef', () => decodeAndReadTensors(bytes, 'graph'));
      await onlyCodedErrors('SavedModel', () => decodeAndReadTensors(bytes, 'savedModel'));
      await onlyCodedErrors('TrackableObjectGraph', () => decodeTrackableObjectGraph(bytes, 'ckpt'));
    }),
    { numRuns: 400 },
  );
});

const files: { rel: string; kind: 'graph' | 'savedModel'; runs: number }[] = [
  { rel: 'tensorflow/lite_testdata/multi_add/multi_add.pb', kind: 'graph', runs: 300 },
  { rel: 'tf2onnx/regression_graphdef/frozen.pb', kind: 'graph', runs: 300 },
  { rel: 'tf2onnx/fc-layers/frozen.pb', kind: 'graph', runs: 40 },
  { rel: 'tfserving/saved_model_half_plus_two_cpu/00000123/saved_model.pb', kind: 'savedModel', runs: 200 },
  {
    rel: 'tfserving/saved_model_half_plus_two_tf2_cpu/00000123/saved_model.pb',
    kind: 'savedModel',
    runs: 150,
  },
  { rel: 'tfjs/int64_multiply/saved_model.pb', kind: 'savedModel', runs: 150 },
];

for (const { rel, kind, runs } of files) {
  test(`mutations of ${rel} give only coded errors, quickly, with bounded memory`, opts, async () => {
    const base = new Uint8Array(readFileSync(fixture(rel)));
    const before = memoryInUse();
    await fc.assert(
      fc.asyncProperty(mutationArb(base.length), async (m) => {
        await onlyCodedErrors(`${rel} ${m.kind}`, () => decodeAndReadTensors(mutate(base, m), kind));
      }),
      { numRuns: runs },
    );
    const growth = memoryInUse() - before;
    assert.ok(growth < HEAP_GROWTH_BOUND_BYTES, `memory grew by ${growth} bytes`);
  });
}

test('a deeply nested attr (func → attr → func ...) is a coded error, not a stack overflow', async () => {
  // AttrValue{func: NameAttrList{attr: {"a": AttrValue{func: ...}}}}, 100k levels: each level only adds a
  // prefix, so collect the prefixes inside out and concatenate them outside in.
  const prefixes: number[][] = [];
  let inner = 0;
  for (let depth = 0; depth < 100_000; depth++) {
    const entry = [0x0a, 1, 0x61, 0x12, ...varint(inner)];
    const nameAttrList = [0x12, ...varint(entry.length + inner)];
    const attrValue = [0x52, ...varint(nameAttrList.length + entry.length + inner)];
    prefixes.push(entry, nameAttrList, attrValue);
    inner += entry.length + nameAttrList.length + attrValue.length;
  }
  const attrEntry = [0x0a, 1, 0x61, 0x12, ...varint(inner)];
  const node = [0x2a, ...varint(attrEntry.length + inner)];
  prefixes.push(attrEntry, node, [0x0a, ...varint(node.length + attrEntry.length + inner)]);
  const graph = Uint8Array.from(prefixes.reverse().flat());
  await onlyCodedErrors('nested attrs', () => decodeGraphDef(graph, 'nested.pb'));
  assert.throws(() => decodeGraphDef(graph, 'nested.pb'), { code: 'CTR_ERR_PROTO_DECODE' });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

test('huge declared shapes in Const tensors are refused without allocating', async () => {
  const dim = fc.oneof(
    fc.integer({ min: -3, max: 64 }),
    fc.constantFrom(1e6, 1e12, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER),
  );
  const before = memoryInUse();
  await fc.assert(
    fc.asyncProperty(
      fc.array(dim, { maxLength: 6 }),
      fc.constantFrom(1, 2, 3, 7, 9, 10, 19),
      fc.boolean(),
      async (dims, dtype, content) => {
        const t: TensorProto = {
          dtype,
          tensorShape: { dim: dims.map((size) => ({ size })), unknownRank: false },
          ...(content
            ? { tensorContent: new Uint8Array(16) }
            : { floatVal: [1], intVal: [1], int64Val: [1n] }),
        };
        await onlyCodedErrors(`shape [${dims.join(',')}]`, () =>
          tensorProtoToValues(t, 'fuzz', MAX_ELEMENTS),
        );
      },
    ),
    { numRuns: 500 },
  );
  assert.ok(memoryInUse() - before < HEAP_GROWTH_BOUND_BYTES);
});
