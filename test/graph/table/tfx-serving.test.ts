import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/graph/backend.ts';
import { encodeExample, type Feature } from '../../../src/graph/example/example-codec.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { prepareModel } from '../../../src/graph/prepare-model.ts';
import { DataType } from '../../../src/graph/proto/types.ts';
import { fixture, skipWithoutFixtures, TF_FIXTURES } from '../../helpers/fixtures.ts';

const TFX = 'tfx/chicago_taxi_estimator_wide_deep/1646034756';
before(async () => {
  await initBackend();
});

/** tf.Examples of the sample rows, each raw feature in the dtype the export's ParseExampleV2 declares. */
async function sampleExamples(): Promise<Uint8Array[]> {
  const g = (await prepareModel(fixture(TFX))).graph;
  const parse = g.node.find((n) => n.op === 'ParseExampleV2')!;
  const keysNode = g.node.find((n) => n.name === parse.input[2])!;
  const keys = keysNode.attr.value!.tensor!.stringVal!.map((b) => Buffer.from(b).toString('utf8'));
  const dtypeOf = new Map(keys.map((k, i) => [k, parse.attr.sparse_types!.list!.type![i]]));
  const csv = readFileSync(join(TF_FIXTURES, 'tfx/_reference/chicago_taxi_sample_rows.csv'), 'utf8');
  const [head, ...rows] = csv
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  return rows.map((cells) => {
    const f = new Map<string, Feature>();
    head!.forEach((h, i) => {
      const c = cells[i]!;
      const t = dtypeOf.get(h);
      if (c === '' || t === undefined) return;
      if (t === DataType.DT_STRING) f.set(h, { kind: 'bytes_list', value: [Buffer.from(c)] });
      else if (t === DataType.DT_FLOAT) f.set(h, { kind: 'float_list', value: Float32Array.of(Number(c)) });
      else f.set(h, { kind: 'int64_list', value: BigInt64Array.of(BigInt(Math.round(Number(c)))) });
    });
    return encodeExample(f);
  });
}

test(
  'the TFX wide & deep export serves its predict signature: probabilities sum to 1, logistic = probabilities[:,1]',
  { skip: skipWithoutFixtures },
  async () => {
    const model = await loadModel(fixture(TFX));
    const examples = tf.tensor(await sampleExamples(), undefined, 'string');
    try {
      const out = await model.predict({ examples }, 'predict');
      const p = Array.from(out.probabilities!.dataSync());
      const logistic = Array.from(out.logistic!.dataSync());
      const n = examples.shape[0]!;
      assert.equal(p.length, 2 * n);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(p[2 * i]! + p[2 * i + 1]! - 1) < 1e-6, `row ${i}: ${p[2 * i]} + ${p[2 * i + 1]}`);
        assert.ok(Math.abs(logistic[i]! - p[2 * i + 1]!) < 1e-6);
        assert.ok(p[2 * i + 1]! > 0 && p[2 * i + 1]! < 1);
      }
      tf.dispose(Object.values(out));
    } finally {
      examples.dispose();
      model.dispose();
    }
  },
);
