import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint64 } from 'farmhash-modern';
import { readTensorBundle } from '../../src/graph/bundle/tensor-bundle.ts';
import { decodeSavedModel } from '../../src/graph/proto/decode.ts';
import { tensorProtoToValues } from '../../src/graph/tensor/tensor-values.ts';
import { decodeExamplesRequest, parseExamplesBody } from '../../src/http/example-json.ts';
import { KERNEL_OPS } from '../../src/graph/op/op-registry.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';

/**
 * The TFX chicago-taxi wide & deep Estimator (../shared/tf-fixtures/tfx/) over :predict and :classify on tf.Examples
 * built from tfx/_reference/chicago_taxi_sample_rows.csv, checked against a reference written here by hand from
 * TFX's taxi_utils.py preprocessing_fn and DNNLinearCombinedClassifier:
 * - transform: z-score (x - mean) / sqrt(var) of trip_miles, fare, trip_seconds; bucketize (count of quantile
 *   boundaries <= x, TensorFlow's UpperBound) of pickup/dropoff latitude/longitude; vocabulary ids of payment_type
 *   and company (line number in the asset file, else size + Fingerprint64(x) % 10 as the graph's OOV buckets);
 *   missing features filled with 0 or "" (_fill_in_missing);
 * - wide: bias + the weight of each categorical column's id (out-of-range ids → 0, the columns' default); deep: a ReLU MLP over [fare, trip_miles,
 *   trip_seconds] z-scores (feature columns in name order); logit = wide + deep.
 * Constants are read from the graph by node name (which analyzer each Const feeds was traced through the
 * transform function's arguments: scale_to_z_score{,_1,_2} ← Const_17/16, 15/14, 13/12 as mean/var; bucketize
 * {,_1,_2,_3} ← Const_3, 2, 1, Const), weights from the checkpoint with the bundle reader.
 */
const TFX = 'tfx/chicago_taxi_estimator_wide_deep/1646034756';
const FLOAT_FEATURES = new Set([
  'dropoff_latitude',
  'dropoff_longitude',
  'fare',
  'pickup_latitude',
  'pickup_longitude',
  'trip_miles',
]);
const STRING_FEATURES = new Set(['company', 'payment_type']);

type Row = Record<string, string>;

function sampleRows(): Row[] {
  const text = readFileSync(fixture('tfx/_reference/chicago_taxi_sample_rows.csv'), 'utf8');
  assert.ok(!text.includes('"'), 'no quoted CSV fields, so a comma split reads the file');
  const [head, ...lines] = text.trim().split('\n');
  const names = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}

/** TF Serving's JSON for one row: floats written with a fraction, ints as integers, strings; blanks left out. */
function exampleJson(row: Row): string {
  const fields = Object.entries(row).flatMap(([k, v]) => {
    if (v === '' || k === 'tips') return [];
    if (STRING_FEATURES.has(k)) return [`${JSON.stringify(k)}:${JSON.stringify(v)}`];
    const n = Number(v);
    if (FLOAT_FEATURES.has(k))
      return [`${JSON.stringify(k)}:${Number.isInteger(n) ? n.toFixed(1) : String(n)}`];
    return [`${JSON.stringify(k)}:${Math.round(n)}`];
  });
  return `{${fields.join(',')}}`;
}

async function handReference(rows: Row[]): Promise<number[]> {
  const dir = fixture(TFX);
  const graph = decodeSavedModel(readFileSync(join(dir, 'saved_model.pb')), 'saved_model.pb').metaGraphs[0]!
    .graphDef!;
  const constant = (name: string) => {
    const node = graph.node.find((n) => n.name === `transform_features_layer/${name}`)!;
    return Array.from(tensorProtoToValues(node.attr.value!.tensor!, name).values as Float32Array);
  };
  const bundle = await readTensorBundle(join(dir, 'variables/variables'));
  const weights = (key: string) => Array.from(bundle.read(key).values as Float32Array);
  const vocab = (file: string) =>
    readFileSync(join(dir, 'assets', file), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  const vocabs = {
    payment_type: vocab('vocab_compute_and_apply_vocabulary_vocabulary'),
    company: vocab('vocab_compute_and_apply_vocabulary_1_vocabulary'),
  };
  const zscore = {
    trip_miles: ['Const_17', 'Const_16'],
    fare: ['Const_15', 'Const_14'],
    trip_seconds: ['Const_13', 'Const_12'],
  };
  const boundaries = {
    pickup_latitude: constant('Const_3'),
    pickup_longitude: constant('Const_2'),
    dropoff_latitude: constant('Const_1'),
    dropoff_longitude: constant('Const'),
  };
  const layers = ['hiddenlayer_0', 'hiddenlayer_1', 'hiddenlayer_2', 'hiddenlayer_3', 'logits'].map((l) => ({
    kernel: weights(`dnn/${l}/kernel`),
    bias: weights(`dnn/${l}/bias`),
    relu: l !== 'logits',
  }));
  return rows.map((row) => {
    const num = (k: string) => (row[k] === '' ? 0 : Number(row[k]));
    const ids: Record<string, number> = {};
    for (const [k, words] of Object.entries(vocabs)) {
      const word = row[k] ?? '';
      const line = words.indexOf(word);
      ids[k] = line >= 0 ? line : words.length + Number(fingerprint64(Buffer.from(word)) % 10n);
    }
    for (const [k, b] of Object.entries(boundaries))
      ids[k] = b.filter((x) => x <= Math.fround(num(k))).length;
    for (const k of ['trip_start_hour', 'trip_start_day', 'trip_start_month']) ids[k] = num(k);
    let wide = weights('linear/linear_model/bias_weights')[0]!;
    for (const [k, id] of Object.entries(ids)) {
      // categorical_column_with_identity(num_buckets = rows of its weights, default_value = 0): ids outside
      // [0, num_buckets) read row 0 (trip_start_month 12 with num_buckets 12, in the sample rows)
      const w = weights(`linear/linear_model/${k}_xf/weights`);
      wide += w[id >= 0 && id < w.length ? id : 0]!;
    }
    const z = (k: keyof typeof zscore) => {
      const [mean, variance] = zscore[k].map((c) => constant(c)[0]!);
      return (Math.fround(num(k)) - mean!) / Math.sqrt(variance!);
    };
    let h = [z('fare'), z('trip_miles'), z('trip_seconds')];
    for (const { kernel, bias, relu } of layers) {
      const out = bias.map((b, j) => h.reduce((s, x, i) => s + x * kernel[i * bias.length + j]!, b));
      h = relu ? out.map((v) => Math.max(0, v)) : out;
    }
    return wide + h[0]!;
  });
}

// The export's feature columns densify with SparseToDense, whose op-registry kernel lands with the lookup-table work.
const skip =
  skipWithoutFixtures ||
  (KERNEL_OPS.has('SparseToDense')
    ? false
    : 'needs the SparseToDense kernel of the op registry (src/graph/op/)');

describe('the TFX wide & deep export answers :predict and :classify on tf.Examples', { skip }, () => {
  let app: FastifyInstance;
  const rows = skip ? [] : sampleRows();
  const body = (sig: string) => `{"signature_name":"${sig}","examples":[${rows.map(exampleJson).join(',')}]}`;
  before(async () => {
    app = await appFor([{ name: 'taxi', basePath: fixture('tfx/chicago_taxi_estimator_wide_deep') }]);
  });
  after(async () => {
    await app?.close();
  });

  test('logits equal the hand-written reference within 1e-4; probabilities sum to 1, logistic = probabilities[:,1]', async () => {
    const expected = await handReference(rows);
    // :predict takes the serialized Examples as {"b64"}: serialize them through :regress's JSON rules first
    const res = await call(app, post('/v1/models/taxi:predict', predictBody()));
    assert.equal(res.status, 200, res.text);
    const predictions = res.body.predictions as Record<string, unknown>[];
    assert.equal(predictions.length, rows.length);
    predictions.forEach((p, i) => {
      const logit = (p.logits as number[])[0]!;
      assert.ok(Math.abs(logit - expected[i]!) < 1e-4, `row ${i}: logit ${logit}, reference ${expected[i]}`);
      const [p0, p1] = p.probabilities as number[];
      assert.ok(Math.abs(p0! + p1! - 1) < 1e-6);
      assert.ok(Math.abs((p.logistic as number[])[0]! - p1!) < 1e-7);
      assert.ok(Math.abs(p1! - 1 / (1 + Math.exp(-expected[i]!))) < 1e-5);
      assert.deepEqual(p.all_classes, ['0', '1']);
    });
  });

  test(':classify answers [["0", p0], ["1", p1]] per example, the same probabilities as :predict', async () => {
    const expected = await handReference(rows);
    const res = await call(app, post('/v1/models/taxi:classify', body('serving_default')));
    assert.equal(res.status, 200, res.text);
    const results = res.body.results as [string, number][][];
    assert.equal(results.length, rows.length);
    results.forEach((r, i) => {
      assert.deepEqual(
        r.map(([label]) => label),
        ['0', '1'],
      );
      const p1 = 1 / (1 + Math.exp(-expected[i]!));
      assert.ok(Math.abs(r[1]![1] - p1) < 1e-5 && Math.abs(r[0]![1] + r[1]![1] - 1) < 1e-6);
    });
    const reg = await call(app, post('/v1/models/taxi:regress', body('regression')));
    assert.equal(reg.status, 200, reg.text);
    reg.body.results.forEach((v: number, i: number) => assert.ok(Math.abs(v - results[i]![1]![1]) < 1e-6));
  });

  /** The same examples serialized (by :classify's JSON rules) and sent to the predict signature as {"b64"}. */
  function predictBody(): string {
    const { examples } = decodeExamplesRequest(parseExamplesBody(body('predict')), 'classify');
    const instances = examples.map((e) => ({ b64: Buffer.from(e).toString('base64') }));
    return JSON.stringify({ signature_name: 'predict', instances });
  }
});
