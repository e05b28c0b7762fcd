import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { attr, GraphBuilder } from '../../src/graph/builder/graph-builder.ts';
import type { HostTensor } from '../../src/graph/model.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';
import { DataType } from '../../src/graph/proto/types.ts';
import type { GrpcServer } from '../../src/grpc/grpc-server.ts';
import { appFor, call, post, type ModelSpec } from '../helpers/app-helpers.ts';
import { assertClose, fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcError, grpcFor, type GrpcClients } from '../helpers/grpc-client.ts';
import { POSITIVE_CASES } from '../helpers/known-outputs.ts';
import { flatOf, grpcTensor, nested, restOutputs, tensorValues } from '../helpers/tensor-helpers.ts';

// gRPC status codes, numbered as in grpc/grpc's doc/statuscodes.md (not read from the server's table).
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;

/** One model per fixture path of ../shared/tf-fixtures/README.md: version 1 → the fixture (dir or frozen .pb). */
async function fixtureRepo(root: string, path: string): Promise<string> {
  const base = join(root, path.replace(/[^\w]+/g, '_'));
  if (path.endsWith('.pb')) {
    await mkdir(join(base, '1'), { recursive: true });
    await symlink(fixture(path), join(base, '1', 'frozen_graph.pb'));
  } else {
    await mkdir(base, { recursive: true });
    await symlink(fixture(path), join(base, '1'));
  }
  return base;
}

/**
 * A frozen graph with a classify or regress signature: "inputs" (serialized tf.Examples, DT_STRING [batch]) →
 * StringToHashBucketFast(1000) as float, [batch] named "outputs" or [batch, 1] named "scores".
 */
async function hashModel(root: string, name: string, output: 'outputs' | 'scores'): Promise<string> {
  const g = new GraphBuilder();
  const x = g.placeholder('inputs', 'DT_STRING', [-1]);
  const [h] = g.op(
    'StringToHashBucketFast',
    [x],
    { num_buckets: attr.i(1000) },
    { outDtypes: [DataType.DT_INT64] },
  );
  const f = g.cast(h!, 'DT_FLOAT', { name: output === 'outputs' ? 'outputs' : 'hash' });
  if (output === 'scores') g.reshape(f, [-1, 1], { name: 'scores' });
  const dir = join(root, name, '1');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(g.toGraphDef()));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({ inputs: { inputs: 'inputs:0' }, outputs: { [output]: `${output}:0` } }),
  );
  return join(root, name);
}

const modelName = (path: string) => path.replace(/[^\w]+/g, '_');

describe(
  'TF Serving gRPC on real TensorFlow models: the same numbers as REST',
  { skip: skipWithoutFixtures },
  () => {
    let app: FastifyInstance;
    let grpc: { server: GrpcServer; clients: GrpcClients };
    let root: string;

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'ctr-grpc-'));
      const models: ModelSpec[] = [];
      for (const path of new Set(POSITIVE_CASES.map((c) => c.path))) {
        models.push({ name: modelName(path), basePath: await fixtureRepo(root, path) });
      }
      models.push(
        { name: 'hash_regress', basePath: await hashModel(root, 'hash_regress', 'outputs') },
        { name: 'hash_classify', basePath: await hashModel(root, 'hash_classify', 'scores') },
      );
      models.push({
        name: 'two_versions',
        basePath: fixture('tfserving/saved_model_half_plus_two_2_versions'),
        policy: { all: {} },
      });
      app = await appFor(models);
      grpc = await grpcFor(app);
    });
    after(async () => {
      grpc?.clients.close();
      await grpc?.server.stop();
      await app?.close();
      if (root) await rm(root, { recursive: true, force: true });
    });

    for (const c of POSITIVE_CASES) {
      const label = `${c.path}${c.signature ? ` (${c.signature})` : ''}`;
      test(`Predict answers ${label} as :predict does, inputs in tensor_content and in typed fields`, async () => {
        const model = modelName(c.path);
        const rest = await call(
          app,
          post(`/v1/models/${model}:predict`, {
            ...(c.signature ? { signature_name: c.signature } : {}),
            inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, nested(t)])),
          }),
        );
        assert.equal(rest.status, 200, rest.text);
        const restOut = restOutputs(rest.body.outputs, Object.keys(c.outputs));
        for (const asContent of [true, false]) {
          const inputs = Object.fromEntries(
            Object.entries(c.inputs).map(([k, t]) => [k, grpcTensor(t, asContent)]),
          );
          const res = await grpc.clients.prediction('Predict', {
            model_spec: { name: model, signature_name: c.signature ?? '' },
            inputs,
          });
          assert.equal(res.model_spec.name, model);
          assert.equal(res.model_spec.version.value, '1');
          assert.equal(res.model_spec.signature_name, c.signature ?? 'serving_default');
          assert.deepEqual(Object.keys(res.outputs).sort(), Object.keys(c.outputs).sort());
          for (const [alias, want] of Object.entries(c.outputs)) {
            const got = res.outputs[alias];
            assert.equal(got.dtype, want.dtype ?? 'DT_FLOAT', alias);
            assert.deepEqual(
              got.tensor_shape.dim.map((d: { size: string }) => Number(d.size)),
              want.shape,
              alias,
            );
            const values = tensorValues(got);
            // REST prints float32 with digits that round-trip, so the float32 of REST's text is gRPC's value exactly.
            const fromRest = flatOf(restOut[alias]).map((v) =>
              got.dtype === 'DT_FLOAT' ? Math.fround(v) : v,
            );
            assert.deepEqual(values, fromRest, `${alias}: gRPC and REST differ`);
            assertClose(values, want.values);
          }
        }
      });
    }

    test('output_filter keeps the named outputs only', async () => {
      const c = POSITIVE_CASES.find((k) => k.path === 'tfjs/model_multi_output')!;
      const res = await grpc.clients.prediction('Predict', {
        model_spec: { name: modelName(c.path) },
        inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, grpcTensor(t, true)])),
        output_filter: ['output_1'],
      });
      assert.deepEqual(Object.keys(res.outputs), ['output_1']);
      assert.deepEqual(tensorValues(res.outputs.output_1), [1, 2, 3]);
    });

    test("GetModelStatus lists every version as REST does, newest first, in TF Serving's form", async () => {
      const res = await grpc.clients.model('GetModelStatus', { model_spec: { name: 'two_versions' } });
      const rest = await call(app, { method: 'GET', url: '/v1/models/two_versions' });
      const expected = [124, 123].map((v) => ({
        version: String(v),
        state: 'AVAILABLE',
        status: { error_code: 'OK', error_message: '' },
      }));
      assert.deepEqual(res.model_version_status, expected);
      assert.deepEqual(rest.body.model_version_status, expected);
      const one = await grpc.clients.model('GetModelStatus', {
        model_spec: { name: 'two_versions', version: { value: '123' } },
      });
      assert.deepEqual(one.model_version_status, [expected[1]]);
    });

    test('GetModelMetadata packs the SignatureDefMap REST prints into an Any', async () => {
      const name = modelName('tfserving/saved_model_half_plus_two_cpu/00000123');
      const res = await grpc.clients.prediction('GetModelMetadata', {
        model_spec: { name },
        metadata_field: ['signature_def'],
      });
      assert.equal(res.model_spec.version.value, '1');
      const map = res.metadata.signature_def;
      assert.equal(map['@type'], 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
      const rest = await call(app, { method: 'GET', url: `/v1/models/${name}/metadata` });
      const restDefs = rest.body.metadata.signature_def.signature_def;
      assert.deepEqual(Object.keys(map.signature_def).sort(), Object.keys(restDefs).sort());
      const sig = map.signature_def.serving_default;
      // TF Serving's half_plus_two: x:0 → y:0, both float [-1, 1] (tensorflow_serving/servables/tensorflow/testdata).
      assert.equal(sig.method_name, 'tensorflow/serving/predict');
      assert.equal(sig.inputs.x.name, 'x:0');
      assert.equal(sig.inputs.x.dtype, 'DT_FLOAT');
      assert.deepEqual(
        sig.inputs.x.tensor_shape.dim.map((d: { size: string }) => d.size),
        ['-1', '1'],
      );
      assert.equal(sig.outputs.y.name, 'y:0');
      for (const [key, def] of Object.entries<any>(restDefs)) {
        assert.equal(map.signature_def[key].method_name, def.method_name, key);
        for (const side of ['inputs', 'outputs']) {
          for (const [alias, info] of Object.entries<any>(def[side])) {
            const g = map.signature_def[key][side][alias];
            assert.equal(g.name, info.name, `${key}.${side}.${alias}`);
            assert.equal(g.dtype, info.dtype, `${key}.${side}.${alias}`);
          }
        }
      }
    });

    test("errors arrive as gRPC statuses with TF Serving's codes and the registry code in the trailer", async () => {
      const half = modelName('tfserving/saved_model_half_plus_two_cpu/00000123');
      const x = grpcTensor({ dtype: 'DT_FLOAT', shape: [1, 1], values: [1] }, true);
      const cases: [string, () => Promise<unknown>, number, string | undefined][] = [
        [
          'unknown model',
          () => grpc.clients.prediction('Predict', { model_spec: { name: 'nope' }, inputs: { x } }),
          NOT_FOUND,
          'CTR_ERR_MODEL_NOT_FOUND',
        ],
        [
          'unknown version',
          () =>
            grpc.clients.prediction('Predict', {
              model_spec: { name: half, version: { value: '7' } },
              inputs: { x },
            }),
          NOT_FOUND,
          'CTR_ERR_VERSION_NOT_FOUND',
        ],
        [
          'unknown signature',
          () =>
            grpc.clients.prediction('Predict', {
              model_spec: { name: half, signature_name: 'nope' },
              inputs: { x },
            }),
          FAILED_PRECONDITION,
          'CTR_ERR_SIGNATURE_NOT_FOUND',
        ],
        [
          'wrong dtype',
          () =>
            grpc.clients.prediction('Predict', {
              model_spec: { name: half },
              inputs: { x: grpcTensor({ dtype: 'DT_INT32', shape: [1, 1], values: [1] }, true) },
            }),
          INVALID_ARGUMENT,
          'CTR_ERR_INPUT_MISMATCH',
        ],
        [
          'tensor_content shorter than its shape',
          () =>
            grpc.clients.prediction('Predict', {
              model_spec: { name: half },
              inputs: { x: { ...x, tensor_shape: { dim: [{ size: 2 }, { size: 1 }] } } },
            }),
          INVALID_ARGUMENT,
          'CTR_ERR_TENSOR_TOO_LARGE',
        ],
        [
          'unknown output_filter alias',
          () =>
            grpc.clients.prediction('Predict', {
              model_spec: { name: half },
              inputs: { x },
              output_filter: ['z'],
            }),
          INVALID_ARGUMENT,
          'CTR_ERR_OUTPUT_NOT_FOUND',
        ],
        [
          'no model_spec',
          () => grpc.clients.prediction('Predict', { inputs: { x } }),
          INVALID_ARGUMENT,
          'CTR_ERR_BAD_REQUEST',
        ],
        [
          'metadata without a field',
          () => grpc.clients.prediction('GetModelMetadata', { model_spec: { name: half } }),
          INVALID_ARGUMENT,
          'CTR_ERR_BAD_REQUEST',
        ],
        [
          'status of an unknown model',
          () => grpc.clients.model('GetModelStatus', { model_spec: { name: 'nope' } }),
          NOT_FOUND,
          'CTR_ERR_MODEL_NOT_FOUND',
        ],
      ];
      for (const [what, send, code, ctrCode] of cases) {
        const err = await grpcError(send());
        assert.equal(err.code, code, `${what}: ${err.details}`);
        assert.equal(err.ctrCode, ctrCode, what);
      }
    });

    test('Classify, Regress and MultiInference on tf.Examples answer what :classify and :regress answer', async () => {
      // hash_examples hashes each serialized Example (StringToHashBucketFast, 1000 buckets): the same numbers over
      // gRPC and REST mean both built the same Example bytes and ran them through the same runner.
      const example = (feature: string, v: number) => ({
        features: { feature: { [feature]: { float_list: { value: [v] } } } },
      });
      const input = { example_list: { examples: [example('x', 2), example('x', 6)] } };
      // As text: JSON.stringify would write 2.0 as 2, an int64 feature (json_tensor.cc reads the number's spelling).
      const restBody = '{"examples": [{"x": 2.0}, {"x": 6.0}]}';
      const rest = async (model: string, verb: string, body: string) => {
        const res = await call(app, post(`/v1/models/${model}:${verb}`, body));
        assert.equal(res.status, 200, res.text);
        return res.body.results;
      };
      const regress = await grpc.clients.prediction('Regress', {
        model_spec: { name: 'hash_regress' },
        input,
      });
      assert.equal(regress.model_spec.signature_name, 'serving_default');
      const values = regress.result.regressions.map((r: any) => r.value);
      assert.equal(values.length, 2);
      for (const v of values) assert.ok(Number.isInteger(v) && v >= 0 && v < 1000, String(v));
      assert.notEqual(values[0], values[1]);
      assert.deepEqual(values, await rest('hash_regress', 'regress', restBody));
      const classify = await grpc.clients.prediction('Classify', {
        model_spec: { name: 'hash_classify' },
        input,
      });
      const pairs = classify.result.classifications.map((c: any) =>
        c.classes.map((k: any) => [k.label, k.score]),
      );
      assert.deepEqual(pairs, [[['', values[0]]], [['', values[1]]]]);
      assert.deepEqual(pairs, await rest('hash_classify', 'classify', restBody));
      // A context's features go in front of every example's (TF Serving's ExampleListWithContext).
      const withContext = await grpc.clients.prediction('Regress', {
        model_spec: { name: 'hash_regress' },
        input: { example_list_with_context: { context: example('y', 1), examples: [example('x', 2)] } },
      });
      assert.deepEqual(
        withContext.result.regressions.map((r: any) => r.value),
        await rest('hash_regress', 'regress', '{"context": {"y": 1.0}, "examples": [{"x": 2.0}]}'),
      );
      const multi = await grpc.clients.prediction('MultiInference', {
        tasks: [{ model_spec: { name: 'hash_regress' }, method_name: 'tensorflow/serving/regress' }],
        input,
      });
      assert.deepEqual(
        multi.results[0].regression_result.regressions.map((r: any) => r.value),
        values,
      );
      const cases: [string, () => Promise<unknown>, number, string][] = [
        [
          'a predict signature asked to regress',
          () =>
            grpc.clients.prediction('Regress', {
              model_spec: { name: modelName(POSITIVE_CASES[0]!.path) },
              input,
            }),
          INVALID_ARGUMENT,
          'CTR_ERR_SIGNATURE_METHOD',
        ],
        [
          'no examples',
          () => grpc.clients.prediction('Classify', { model_spec: { name: 'hash_classify' }, input: {} }),
          INVALID_ARGUMENT,
          'CTR_ERR_BAD_REQUEST',
        ],
        [
          'tasks on two models',
          () =>
            grpc.clients.prediction('MultiInference', {
              tasks: ['hash_regress', 'hash_classify'].map((name) => ({
                model_spec: { name },
                method_name: 'tensorflow/serving/regress',
              })),
              input,
            }),
          INVALID_ARGUMENT,
          'CTR_ERR_BAD_REQUEST',
        ],
        [
          // model_service_impl.cc: a config without a model_config_list (reload-config.test.ts for the rest).
          'reload with no config',
          () => grpc.clients.model('HandleReloadConfigRequest', {}),
          INVALID_ARGUMENT,
          'CTR_ERR_INVALID_CONFIG',
        ],
      ];
      for (const [what, send, code, ctrCode] of cases) {
        const err = await grpcError(send());
        assert.equal(err.code, code, `${what}: ${err.details}`);
        assert.equal(err.ctrCode, ctrCode, what);
      }
    });

    test('gRPC calls are counted in ctr_grpc_requests_total and their rows in ctr_predictions_total', async () => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const count = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      assert.ok(
        count(
          /ctr_grpc_requests_total\{method="\/tensorflow.serving.PredictionService\/Predict",code="OK"\} (\d+)/,
        ) >=
          POSITIVE_CASES.length * 2,
      );
      assert.ok(
        count(
          /ctr_grpc_requests_total\{method="\/tensorflow.serving.PredictionService\/Predict",code="NOT_FOUND"\} (\d+)/,
        ) >= 2,
      );
      assert.match(
        text,
        /ctr_grpc_request_duration_seconds_count\{method="\/tensorflow.serving.ModelService\/GetModelStatus"\} \d+/,
      );
    });
  },
);

describe('gRPC message size and tensor_content output', { skip: skipWithoutFixtures }, () => {
  let app: FastifyInstance;
  let grpc: { server: GrpcServer; clients: GrpcClients };
  before(async () => {
    app = await appFor([{ name: 'half', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') }], {
      max_body_bytes: '4096',
      enable_serialization_as_tensor_content: 'true',
    });
    grpc = await grpcFor(app);
  });
  after(async () => {
    grpc?.clients.close();
    await grpc?.server.stop();
    await app?.close();
  });

  test('--enable_serialization_as_tensor_content writes outputs to tensor_content', async () => {
    const res = await grpc.clients.prediction('Predict', {
      model_spec: { name: 'half' },
      inputs: { x: grpcTensor({ dtype: 'DT_FLOAT', shape: [3, 1], values: [1, 2, 5] }, false) },
    });
    assert.equal(res.outputs.y.float_val.length, 0);
    assert.deepEqual(tensorValues(res.outputs.y), [2.5, 3, 4.5]);
  });

  test('a message over the receive limit (--max_body_bytes unless set by --grpc_channel_arguments) is RESOURCE_EXHAUSTED', async () => {
    const big: HostTensor = { dtype: 'DT_FLOAT', shape: [2000, 1], values: new Float32Array(2000) };
    const err = await grpcError(
      grpc.clients.prediction('Predict', {
        model_spec: { name: 'half' },
        inputs: { x: grpcTensor(big, true) },
      }),
    );
    assert.equal(err.code, RESOURCE_EXHAUSTED, err.details);
  });
});
