import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { fingerprint64 } from 'farmhash-modern';
import { initBackend } from '../../../src/graph/backend.ts';
import { writeSavedModel } from '../../../src/graph/bundle/write-saved-model.ts';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { liveResourceCount } from '../../../src/graph/op/resources.ts';
import { DataType, type MetaGraphDef } from '../../../src/graph/proto/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'ctr-tables-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(async () => {
  await initBackend();
});

const VOCAB = ['Cash', 'Credit Card', 'No Charge', 'Dispute'];
const OOV_BUCKETS = 3;

/**
 * A TF1 export as tf.lookup.StaticVocabularyTable(TextFileInitializer(vocab, string, WHOLE_LINE, int64,
 * LINE_NUMBER), num_oov_buckets=3) writes it: HashTableV2 filled by InitializeTableFromTextFileV2 from an asset
 * (the Const holds the path at export time, asset_file_def maps it to assets/vocab.txt), run by the main op; the
 * lookup is LookupTableFindV2 with default -1, and misses become StringToHashBucketFast(key) + table size.
 */
async function writeModel(name: string, mainOp: boolean): Promise<string> {
  const b = new GraphBuilder();
  const keys = b.placeholder('keys', 'DT_STRING', [-1]);
  const table = b.op(
    'HashTableV2',
    [],
    {
      key_dtype: attr.type('DT_STRING'),
      value_dtype: attr.type('DT_INT64'),
      shared_name: attr.s('hash_table_vocab.txt_-2_-1'),
      use_node_name_sharing: attr.b(true),
      container: attr.s(''),
    },
    { name: 'hash_table', outDtypes: [DataType.DT_RESOURCE] },
  )[0]!;
  const path = b.constant('DT_STRING', [], ['/export/time/dir/assets/vocab.txt'], { name: 'asset_path' });
  const init = {
    key_index: attr.i(-2),
    value_index: attr.i(-1),
    vocab_size: attr.i(-1),
    delimiter: attr.s('\t'),
  };
  b.op('InitializeTableFromTextFileV2', [table, path], init, { name: 'text_file_init', outDtypes: [] });
  b.op('NoOp', ['^text_file_init'], {}, { name: 'init_all_tables', outDtypes: [] });
  b.op('NoOp', [], {}, { name: 'init_nothing', outDtypes: [] });
  const dflt = b.constant('DT_INT64', [], [-1n], { name: 'default' });
  const ids = b.op(
    'LookupTableFindV2',
    [table, keys, dflt],
    { Tin: attr.type('DT_STRING'), Tout: attr.type('DT_INT64') },
    { name: 'ids', outDtypes: [DataType.DT_INT64] },
  )[0]!;
  const buckets = b.op(
    'StringToHashBucketFast',
    [keys],
    { num_buckets: attr.i(OOV_BUCKETS) },
    { name: 'buckets', outDtypes: [DataType.DT_INT64] },
  )[0]!;
  const size = b.op('LookupTableSizeV2', [table], {}, { name: 'size', outDtypes: [DataType.DT_INT64] })[0]!;
  const hit = b.op(
    'NotEqual',
    [ids, dflt],
    { T: attr.type('DT_INT64') },
    { name: 'hit', outDtypes: [DataType.DT_BOOL] },
  )[0]!;
  const oov = b.op(
    'AddV2',
    [buckets, size],
    { T: attr.type('DT_INT64') },
    { name: 'oov', outDtypes: [DataType.DT_INT64] },
  )[0]!;
  b.op(
    'SelectV2',
    [hit, ids, oov],
    { T: attr.type('DT_INT64') },
    { name: 'ids_with_oov', outDtypes: [DataType.DT_INT64] },
  );
  const tensor = (n: string, dtype: number) => ({ name: `${n}:0`, dtype });
  const meta: MetaGraphDef = {
    metaInfoDef: { tags: ['serve'] },
    graphDef: b.toGraphDef(),
    signatureDef: {
      serving_default: {
        methodName: 'tensorflow/serving/predict',
        inputs: {
          keys: {
            ...tensor('keys', DataType.DT_STRING),
            tensorShape: { dim: [{ size: -1 }], unknownRank: false },
          },
        },
        outputs: {
          ids: tensor('ids', DataType.DT_INT64),
          ids_with_oov: tensor('ids_with_oov', DataType.DT_INT64),
          size: tensor('size', DataType.DT_INT64),
        },
      },
    },
    assetFileDef: [{ tensorInfo: tensor('asset_path', DataType.DT_STRING), filename: 'vocab.txt' }],
    collectionDef: {
      saved_model_main_op: { nodeList: { value: [mainOp ? 'init_all_tables' : 'init_nothing'] } },
    },
  };
  const out = join(dir, name);
  await writeSavedModel(out, { metaGraphs: [meta] });
  mkdirSync(join(out, 'assets'));
  writeFileSync(join(out, 'assets', 'vocab.txt'), VOCAB.join('\n') + '\n');
  return out;
}

test('a vocabulary table is filled from its asset by the main op: ids are line numbers, misses hash to OOV buckets', async () => {
  const model = await loadModel(await writeModel('vocab', true));
  try {
    const keys = ['Credit Card', 'Cash', 'Dispute', 'Bitcoin', 'cash', 'No Charge'];
    const out = await model.predictHost({ keys: { dtype: 'DT_STRING', shape: [keys.length], values: keys } });
    assert.deepEqual(Array.from(out.ids!.values as Int32Array), [1, 0, 3, -1, -1, 2]);
    assert.deepEqual(Array.from(out.size!.values as Int32Array), [4]);
    const bucket = (k: string) => Number(fingerprint64(k) % BigInt(OOV_BUCKETS)) + VOCAB.length;
    assert.deepEqual(Array.from(out.ids_with_oov!.values as Int32Array), [
      1,
      0,
      3,
      bucket('Bitcoin'),
      bucket('cash'),
      2,
    ]);
  } finally {
    model.dispose();
  }
});

test('keys match on raw bytes: a key that is not UTF-8 misses, never aliasing a decoded vocabulary line', async () => {
  const model = await loadModel(await writeModel('bytes', true));
  try {
    const raw = new Uint8Array([0x43, 0x61, 0x73, 0x68, 0xff]); // "Cash" + 0xff
    const keys = tf.tensor([new TextEncoder().encode('Cash'), raw], [2], 'string');
    const out = await model.predict({ keys });
    assert.deepEqual(Array.from(out.ids!.dataSync()), [0, -1]);
    tf.dispose([keys, ...Object.values(out)]);
  } finally {
    model.dispose();
  }
});

test('tables belong to their model version: unloading frees them and leaves no tensor behind', async () => {
  const path = await writeModel('unload', true);
  const tensors = tf.memory().numTensors;
  const resources = liveResourceCount();
  for (let i = 0; i < 3; i++) {
    const model = await loadModel(path);
    assert.equal(liveResourceCount(), resources + 1);
    const out = await model.predictHost({ keys: { dtype: 'DT_STRING', shape: [2], values: ['Cash', 'x'] } });
    assert.deepEqual(Array.from(out.ids!.values as Int32Array), [0, -1]);
    model.dispose();
    assert.equal(liveResourceCount(), resources);
    assert.equal(tf.memory().numTensors, tensors);
  }
});

test('a HashTable the init op never fills is refused at load with CTR_ERR_TABLE_INIT', async () => {
  await assert.rejects(loadModel(await writeModel('no-init', false)), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'CTR_ERR_TABLE_INIT', err.message);
    assert.match(err.message, /hash_table.*never initializes it/);
    return true;
  });
});
