import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import snappy from 'snappyjs';
import { crc32c, maskCrc } from '../../../src/graph/bundle/crc32c.ts';
import { parseBlock, readTable, readVarint } from '../../../src/graph/bundle/table-reader.ts';
import { writeTable } from '../../../src/graph/bundle/table-writer.ts';
import { readTensorBundle } from '../../../src/graph/bundle/tensor-bundle.ts';
import { decodeBundleEntry } from '../../../src/graph/proto/decode.ts';
import { encodeBundleEntry } from '../../../src/graph/proto/encode.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';
import {
  HEAP_GROWTH_BOUND_BYTES,
  memoryInUse,
  mutate,
  mutationArb,
  onlyCodedErrors,
} from '../../helpers/fuzz-helpers.ts';

const opts = { skip: skipWithoutFixtures };
const tmp = mkdtempSync(join(tmpdir(), 'ctr-bundle-fuzz-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const DATA = 'data-00000-of-00001';

const models = [
  'tfserving/saved_model_half_plus_two_cpu/00000123', // snappy data block
  'tfserving/saved_model_half_plus_two_tf2_cpu/00000123', // object graph string tensor
  'tfjs/int64_multiply',
  'tfx/chicago_taxi_estimator_wide_deep/1646034756',
];

function load(model: string): { index: Uint8Array; data: Uint8Array } {
  const prefix = fixture(`${model}/variables/variables`);
  return { index: readFileSync(`${prefix}.index`), data: readFileSync(`${prefix}.${DATA}`) };
}

async function readEverything(index: Uint8Array, data: Uint8Array): Promise<void> {
  const prefix = join(tmp, 'variables');
  writeFileSync(`${prefix}.index`, index);
  writeFileSync(`${prefix}.${DATA}`, data);
  const b = await readTensorBundle(prefix, { maxElements: 1 << 20 });
  for (const key of b.keys()) b.read(key);
}

for (const model of models) {
  test(`byte mutations of the ${model.split('/')[1]} checkpoint give only coded errors`, opts, async () => {
    const { index, data } = load(model);
    const before = memoryInUse();
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        mutationArb(index.length),
        mutationArb(data.length),
        async (which, mi, md) => {
          const [i, d] = which ? [mutate(index, mi), data] : [index, mutate(data, md)];
          await onlyCodedErrors(`${model} ${which ? 'index' : 'data'}`, () => readEverything(i, d));
        },
      ),
      { numRuns: 120 },
    );
    assert.ok(memoryInUse() - before < HEAP_GROWTH_BOUND_BYTES);
  });
}

test(
  'well-checksummed entries with fuzzed shape, dtype, shard, offset and size give only coded errors',
  opts,
  async () => {
    const { index, data } = load('tfx/chicago_taxi_estimator_wide_deep/1646034756');
    const table = [...readTable(index, 'fixture')];
    const dim = fc.oneof(fc.integer({ min: -2, max: 200 }), fc.constantFrom(1e6, 1e12, 2 ** 40, 2 ** 53 - 1));
    const before = memoryInUse();
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: table.length - 2 }),
        fc.record({
          dims: fc.option(fc.array(dim, { maxLength: 5 })),
          dtype: fc.option(fc.constantFrom(0, 1, 2, 3, 7, 8, 9, 10, 19, 20, 21, 99)),
          shardId: fc.option(fc.integer({ min: -1, max: 3 })),
          offset: fc.option(fc.oneof(fc.nat({ max: data.length + 8 }), fc.constant(2 ** 52))),
          size: fc.option(fc.oneof(fc.nat({ max: data.length + 8 }), fc.constant(2 ** 52))),
        }),
        async (which, f) => {
          const [key, value] = table[which + 1]!;
          const e = decodeBundleEntry(value, key);
          if (f.dims !== null) e.shape = { dim: f.dims.map((size) => ({ size })), unknownRank: false };
          if (f.dtype !== null) e.dtype = f.dtype;
          if (f.shardId !== null) e.shardId = f.shardId;
          if (f.offset !== null) e.offset = f.offset;
          if (f.size !== null) e.size = f.size;
          const enc = new TextEncoder();
          const entries = table.map(([k, v], i): [Uint8Array, Uint8Array] => [
            enc.encode(k),
            i === which + 1 ? encodeBundleEntry(e) : v,
          ]);
          await onlyCodedErrors(`entry ${key} ${JSON.stringify(f)}`, () =>
            readEverything(writeTable(entries), data),
          );
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(memoryInUse() - before < HEAP_GROWTH_BOUND_BYTES);
  },
);

test('random bytes as an index give only coded errors', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
      await onlyCodedErrors('random index', () => readEverything(bytes, new Uint8Array(0)));
    }),
    { numRuns: 150 },
  );
});

/** Every block (offset, size) of a well-formed index: metaindex, index and the data blocks it lists. */
function blockHandles(index: Uint8Array): [number, number][] {
  const footer = index.subarray(index.length - 48);
  const handles: [number, number][] = [];
  let pos = 0;
  for (let h = 0; h < 2; h++) {
    const [offset, p1] = readVarint(footer, pos, 'footer');
    const [size, p2] = readVarint(footer, p1, 'footer');
    handles.push([offset, size]);
    pos = p2;
  }
  const [io, is] = handles[1]!;
  const indexBlock =
    index[io + is] === 1 ? snappy.uncompress(index.slice(io, io + is)) : index.subarray(io, io + is);
  for (const { value } of parseBlock(indexBlock, 'index')) {
    const [o, q] = readVarint(value, 0, 'handle');
    handles.push([o, readVarint(value, q, 'handle')[0]]);
  }
  return handles;
}

test(
  'bit flips inside index blocks, with their checksums recomputed, give only coded errors',
  opts,
  async () => {
    for (const model of models) {
      const { index, data } = load(model);
      const handles = blockHandles(index);
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: handles.length - 1 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }),
          async (h, flips) => {
            const [offset, size] = handles[h]!;
            const out = Uint8Array.from(index);
            for (const [at, bit] of flips) out[offset + (at % size)]! ^= 1 << bit;
            const crc = crc32c(out.subarray(offset, offset + size + 1));
            new DataView(out.buffer).setUint32(offset + size + 1, maskCrc(crc), true);
            await onlyCodedErrors(`${model} block ${h}`, () => readEverything(out, data));
          },
        ),
        { numRuns: 100 },
      );
    }
  },
);
