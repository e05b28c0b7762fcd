import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { GrpcServer } from '../../src/grpc/grpc-server.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';
import { assertClose, fixture, REPO_ROOT, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcFor, type GrpcClients } from '../helpers/grpc-client.ts';
import { grpcTensor, tensorValues } from '../helpers/tensor-helpers.ts';

/**
 * gRPC against REST on what tf-serving-grpc.test.ts's known-output table does not reach: the shared fixtures REST
 * serves through tf.Examples (half_plus_two's classify/regress signatures; the TFX wide & deep export's predict,
 * classify and regression signatures, on the sample rows of tfx/_reference) and the bundled models of models/
 * (ctr-student and ctr-teacher: history int32 [batch, 12], candidate int32 [batch] → ctr, logit float32 [batch],
 * models/README.md). The same numbers means: REST's float text read back as float32 equals gRPC's float.
 */
const f32 = (values: number[]) => values.map(Math.fround);

/** TF Serving's tf.Example message (example.proto, feature.proto) of one JSON example as REST reads it. */
type Feature =
  | { float_list: { value: number[] } }
  | { int64_list: { value: string[] } }
  | { bytes_list: { value: Buffer[] } };
type Example = { features: { feature: Record<string, Feature> } };

describe(
  'gRPC Classify/Regress on half_plus_two answer what :classify/:regress answer',
  { skip: skipWithoutFixtures },
  () => {
    let app: FastifyInstance;
    let grpc: { server: GrpcServer; clients: GrpcClients };
    before(async () => {
      app = await appFor([{ name: 'half', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') }]);
      grpc = await grpcFor(app);
    });
    after(async () => {
      grpc?.clients.close();
      await grpc?.server.stop();
      await app?.close();
    });

    // TF Serving's tensorflow_model_server_test.py: Example{x: 2.0} → regress 3.0, classify [["", 3.0]]; y2 = 0.5x + 3.
    const examples = (xs: number[]): Example[] =>
      xs.map((x) => ({ features: { feature: { x: { float_list: { value: [x] } } } } }));
    const restBody = (signature: string, xs: number[]) =>
      `{"signature_name": "${signature}", "examples": [${xs.map((x) => `{"x": ${x.toFixed(1)}}`).join(', ')}]}`;

    for (const [signature, want] of [
      ['regress_x_to_y', [3, 4, 5.5]],
      ['regress_x_to_y2', [4, 5, 6.5]],
    ] as const) {
      test(`Regress ${signature}`, async () => {
        const xs = [2, 4, 7];
        const g = await grpc.clients.prediction('Regress', {
          model_spec: { name: 'half', signature_name: signature },
          input: { example_list: { examples: examples(xs) } },
        });
        const values = g.result.regressions.map((r: { value: number }) => r.value);
        const rest = await call(app, post('/v1/models/half:regress', restBody(signature, xs)));
        assert.equal(rest.status, 200, rest.text);
        assert.deepEqual(values, f32(rest.body.results));
        assertClose(values, want);
      });
    }

    test('Classify classify_x_to_y: empty labels, score y', async () => {
      const xs = [2, 5];
      const g = await grpc.clients.prediction('Classify', {
        model_spec: { name: 'half', signature_name: 'classify_x_to_y' },
        input: { example_list: { examples: examples(xs) } },
      });
      const pairs = g.result.classifications.map((c: any) => c.classes.map((k: any) => [k.label, k.score]));
      const rest = await call(app, post('/v1/models/half:classify', restBody('classify_x_to_y', xs)));
      assert.equal(rest.status, 200, rest.text);
      assert.deepEqual(
        pairs,
        rest.body.results.map((r: [string, number][]) => r.map(([l, s]) => [l, Math.fround(s)])),
      );
      assert.deepEqual(pairs, [[['', 3]], [['', 4.5]]]);
    });
  },
);

const TFX = 'tfx/chicago_taxi_estimator_wide_deep';
const TFX_FLOATS = new Set([
  'dropoff_latitude',
  'dropoff_longitude',
  'fare',
  'pickup_latitude',
  'pickup_longitude',
  'trip_miles',
]);
const TFX_STRINGS = new Set(['company', 'payment_type']);

/** The sample rows as REST's JSON examples and as gRPC's Example messages, by the same rules (blanks left out). */
function tfxRows(): { json: string[]; messages: Example[] } {
  const text = readFileSync(fixture('tfx/_reference/chicago_taxi_sample_rows.csv'), 'utf8');
  const [head, ...lines] = text.trim().split('\n');
  const names = head!.split(',');
  const json: string[] = [];
  const messages: Example[] = [];
  for (const line of lines) {
    const fields: string[] = [];
    const feature: Record<string, Feature> = {};
    line.split(',').forEach((v, i) => {
      const k = names[i]!;
      if (v === '' || k === 'tips') return;
      if (TFX_STRINGS.has(k)) {
        fields.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
        feature[k] = { bytes_list: { value: [Buffer.from(v)] } };
      } else if (TFX_FLOATS.has(k)) {
        const n = Number(v);
        fields.push(`${JSON.stringify(k)}:${Number.isInteger(n) ? n.toFixed(1) : String(n)}`);
        feature[k] = { float_list: { value: [n] } };
      } else {
        fields.push(`${JSON.stringify(k)}:${Math.round(Number(v))}`);
        feature[k] = { int64_list: { value: [String(Math.round(Number(v)))] } };
      }
    });
    json.push(`{${fields.join(',')}}`);
    messages.push({ features: { feature } });
  }
  return { json, messages };
}

describe(
  'gRPC on the TFX wide & deep export answers what REST answers',
  { skip: skipWithoutFixtures },
  () => {
    let app: FastifyInstance;
    let grpc: { server: GrpcServer; clients: GrpcClients };
    const rows = skipWithoutFixtures ? { json: [], messages: [] } : tfxRows();
    before(async () => {
      app = await appFor([{ name: 'taxi', basePath: fixture(TFX) }]);
      grpc = await grpcFor(app);
    });
    after(async () => {
      grpc?.clients.close();
      await grpc?.server.stop();
      await app?.close();
    });
    const restExamples = (verb: string, signature: string) =>
      call(
        app,
        post(
          `/v1/models/taxi:${verb}`,
          `{"signature_name":"${signature}","examples":[${rows.json.join(',')}]}`,
        ),
      );

    test('Classify (serving_default) and Regress (regression) per example', async () => {
      const input = { example_list: { examples: rows.messages } };
      const g = await grpc.clients.prediction('Classify', { model_spec: { name: 'taxi' }, input });
      const rest = await restExamples('classify', 'serving_default');
      assert.equal(rest.status, 200, rest.text);
      const pairs = g.result.classifications.map((c: any) => c.classes.map((k: any) => [k.label, k.score]));
      assert.equal(pairs.length, rows.messages.length);
      assert.deepEqual(
        pairs,
        rest.body.results.map((r: [string, number][]) => r.map(([l, s]) => [l, Math.fround(s)])),
      );
      for (const [[l0, p0], [l1, p1]] of pairs) {
        assert.deepEqual([l0, l1], ['0', '1']);
        assert.ok(Math.abs(p0 + p1 - 1) < 1e-6);
      }
      const r = await grpc.clients.prediction('Regress', {
        model_spec: { name: 'taxi', signature_name: 'regression' },
        input,
      });
      const restR = await restExamples('regress', 'regression');
      assert.equal(restR.status, 200, restR.text);
      assert.deepEqual(
        r.result.regressions.map((x: { value: number }) => x.value),
        f32(restR.body.results),
      );
    });

    test('Predict (predict signature) on serialized Examples as DT_STRING, against :predict with {"b64"}', async () => {
      // The Examples serialized by the server's own codec would make this circular: the client serializes them here
      // with the proto files (protobufjs, as a TF Serving client's generated code would).
      const protobuf = (await import('protobufjs')).default;
      const root = new protobuf.Root();
      root.resolvePath = (_origin, target) =>
        target.startsWith('/') ? target : join(REPO_ROOT, 'protos', target);
      root.loadSync('tensorflow/core/example/example.proto');
      const ExampleType = root.lookupType('tensorflow.Example');
      const serialized = rows.messages.map((m) =>
        Buffer.from(ExampleType.encode(ExampleType.fromObject(camel(m) as Record<string, unknown>)).finish()),
      );
      const g = await grpc.clients.prediction('Predict', {
        model_spec: { name: 'taxi', signature_name: 'predict' },
        inputs: {
          examples: {
            dtype: 'DT_STRING',
            tensor_shape: { dim: [{ size: String(serialized.length) }] },
            string_val: serialized,
          },
        },
      });
      const rest = await call(
        app,
        post('/v1/models/taxi:predict', {
          signature_name: 'predict',
          inputs: { examples: serialized.map((b) => ({ b64: b.toString('base64') })) },
        }),
      );
      assert.equal(rest.status, 200, rest.text);
      const restOut = rest.body.outputs as Record<string, unknown>;
      assert.deepEqual(Object.keys(g.outputs).sort(), Object.keys(restOut).sort());
      for (const [alias, t] of Object.entries<any>(g.outputs)) {
        const restFlat = [restOut[alias]].flat(Infinity);
        if (t.dtype === 'DT_STRING') {
          assert.deepEqual(
            t.string_val.map((b: Buffer) => b.toString()),
            restFlat,
            alias,
          );
        } else if (t.dtype === 'DT_FLOAT') {
          assert.deepEqual(tensorValues(t), f32(restFlat as number[]), alias);
        } else {
          assert.deepEqual(tensorValues(t), restFlat.map(Number), alias);
        }
      }
      const [p0, p1] = [0, 1].map((i) => tensorValues(g.outputs.probabilities).filter((_, j) => j % 2 === i));
      p0!.forEach((p, i) => assert.ok(Math.abs(p + p1![i]! - 1) < 1e-6));
    });
  },
);

/** protobufjs's fromObject takes the .proto's camelCase names (float_list → floatList). */
function camel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camel);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), camel(x)]),
  );
}

describe('gRPC and KServe V2 on the bundled models of models/ answer what :predict answers', () => {
  const MODELS = ['ctr-student', 'ctr-teacher'];
  let app: FastifyInstance;
  let grpc: { server: GrpcServer; clients: GrpcClients };
  before(async () => {
    app = await appFor(MODELS.map((name) => ({ name, basePath: join(REPO_ROOT, 'models', name) })));
    grpc = await grpcFor(app);
  });
  after(async () => {
    grpc?.clients.close();
    await grpc?.server.stop();
    await app?.close();
  });

  // Three users' histories (left-padded with 0), one candidate each; ids below vocab_size 100 (models/README.md).
  const history = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 17, 23],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99],
  ];
  const candidate = [42, 7, 11];
  for (const model of MODELS) {
    test(`${model}: ctr and logit over gRPC (tensor_content and int_val) equal REST's`, async () => {
      const rest = await call(app, post(`/v1/models/${model}:predict`, { inputs: { history, candidate } }));
      assert.equal(rest.status, 200, rest.text);
      const { ctr, logit } = rest.body.outputs as { ctr: number[]; logit: number[] };
      assert.equal(ctr.length, 3);
      // ctr = sigmoid(logit), as the export computes it.
      ctr.forEach((p, i) => assert.ok(Math.abs(p - 1 / (1 + Math.exp(-logit[i]!))) < 1e-6));
      for (const asContent of [true, false]) {
        const g = await grpc.clients.prediction('Predict', {
          model_spec: { name: model },
          inputs: {
            history: grpcTensor({ dtype: 'DT_INT32', shape: [3, 12], values: history.flat() }, asContent),
            candidate: grpcTensor({ dtype: 'DT_INT32', shape: [3], values: candidate }, asContent),
          },
        });
        assert.deepEqual(Object.keys(g.outputs).sort(), ['ctr', 'logit']);
        assert.deepEqual(tensorValues(g.outputs.ctr), f32(ctr));
        assert.deepEqual(tensorValues(g.outputs.logit), f32(logit));
      }
      const status = await grpc.clients.model('GetModelStatus', { model_spec: { name: model } });
      assert.deepEqual(
        status.model_version_status.map((s: any) => [s.version, s.state]),
        [['1', 'AVAILABLE']],
      );
      const meta = await grpc.clients.prediction('GetModelMetadata', {
        model_spec: { name: model },
        metadata_field: ['signature_def'],
      });
      const sig = meta.metadata.signature_def.signature_def.serving_default;
      assert.deepEqual(Object.keys(sig.inputs).sort(), ['candidate', 'history']);
      assert.equal(sig.inputs.history.dtype, 'DT_INT32');
    });

    test(`${model}: KServe V2 /infer and ModelInfer give TF Serving REST's numbers`, async () => {
      const rest = await call(app, post(`/v1/models/${model}:predict`, { inputs: { history, candidate } }));
      const { ctr, logit } = rest.body.outputs as { ctr: number[]; logit: number[] };
      const inputs = [
        { name: 'history', datatype: 'INT32', shape: [3, 12], data: history.flat() },
        { name: 'candidate', datatype: 'INT32', shape: [3], data: candidate },
      ];
      const v2 = await app.inject({ method: 'POST', url: `/v2/models/${model}/infer`, payload: { inputs } });
      assert.equal(v2.statusCode, 200, v2.body);
      const g = await grpc.clients.inference('ModelInfer', {
        model_name: model,
        inputs: inputs.map(({ data, ...t }) => ({ ...t, contents: { int_contents: data } })),
      });
      const byName = (outs: any[]): Record<string, any> => Object.fromEntries(outs.map((o) => [o.name, o]));
      const restV2 = byName(v2.json().outputs);
      const grpcV2 = byName(g.outputs);
      for (const [name, want] of Object.entries({ ctr, logit })) {
        assert.deepEqual(restV2[name]!.shape, [3]);
        assert.deepEqual(restV2[name]!.data.map(Math.fround), f32(want), `V2 REST ${name}`);
        assert.deepEqual(grpcV2[name]!.contents.fp32_contents, f32(want), `V2 gRPC ${name}`);
      }
    });
  }
});
