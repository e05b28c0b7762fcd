import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { HostTensor } from '../../src/graph/model.ts';
import type { GrpcServer } from '../../src/grpc/grpc-server.ts';
import { appFor, call, post, type ModelSpec } from '../helpers/app-helpers.ts';
import { assertClose, fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcError, grpcFor, type GrpcClients } from '../helpers/grpc-client.ts';
import { POSITIVE_CASES } from '../helpers/known-outputs.ts';
import { flatOf, grpcTensor, nested, restOutputs, tensorValues } from './tensor-helpers.ts';

// gRPC status codes, numbered as in grpc/grpc's doc/statuscodes.md (not read from the server's table).
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;
const UNIMPLEMENTED = 12;

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

    test('Classify, Regress and MultiInference answer UNIMPLEMENTED naming Predict', async () => {
      for (const method of ['Classify', 'Regress', 'MultiInference']) {
        const err = await grpcError(grpc.clients.prediction(method, { model_spec: { name: 'x' } }));
        assert.equal(err.code, UNIMPLEMENTED, method);
        assert.match(err.details, /Predict/);
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
