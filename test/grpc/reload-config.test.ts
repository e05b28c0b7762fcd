import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { startGrpcServer, type GrpcServer } from '../../src/grpc/grpc-server.ts';
import { appFor, call, modelRepo, post } from '../helpers/app-helpers.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcClients, grpcError, grpcFor, type GrpcClients } from '../helpers/grpc-client.ts';
import { grpcTensor, tensorValues } from '../helpers/tensor-helpers.ts';

// gRPC status codes, numbered as in grpc/grpc's doc/statuscodes.md.
const UNKNOWN = 2;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * ModelService/HandleReloadConfigRequest with TF Serving's semantics (model_servers/model_service_impl.cc,
 * server_core.cc ReloadConfig): the ModelServerConfig sent replaces the served models; the answer is status OK,
 * or the failure as the call's gRPC status. Known values: half_plus_two y = 0.5x + 2 and times_three_float 3x
 * (../shared/tf-fixtures/README.md).
 */
describe('HandleReloadConfigRequest replaces the served models', { skip: skipWithoutFixtures }, () => {
  const HALF = fixture('tfserving/saved_model_half_plus_two_cpu');
  let app: FastifyInstance;
  let grpc: { server: GrpcServer; clients: GrpcClients };
  let three: { path: string; cleanup(): Promise<void> };

  const entry = (name: string, basePath: string, extra: object = {}) => ({
    name,
    base_path: basePath,
    model_platform: 'tensorflow',
    ...extra,
  });
  const reload = (...models: object[]) =>
    grpc.clients.model('HandleReloadConfigRequest', {
      config: { model_config_list: { config: models } },
    });
  const predict = async (name: string, values: number[], label?: string) => {
    const x = grpcTensor({ dtype: 'DT_FLOAT', shape: [values.length], values }, true);
    const res = await grpc.clients.prediction('Predict', {
      model_spec: { name, ...(label ? { version_label: label } : {}) },
      inputs: { x },
    });
    return tensorValues(Object.values<any>(res.outputs)[0]);
  };

  before(async () => {
    three = await modelRepo({ 1: fixture('tfjs/times_three_float') });
    app = await appFor([{ name: 'half', basePath: HALF }]);
    grpc = await grpcFor(app);
  });
  after(async () => {
    grpc?.clients.close();
    await grpc?.server.stop();
    await app?.close();
    await three?.cleanup();
  });

  test('a new model and its version label serve after an OK answer, over gRPC and REST', async () => {
    const res = await reload(
      entry('half', HALF),
      entry('three', three.path, { version_labels: { stable: '1' } }),
    );
    assert.deepEqual(res.status, { error_code: 'OK', error_message: '' });
    assert.deepEqual(await predict('three', [1, 2, 3]), [3, 6, 9]);
    assert.deepEqual(await predict('three', [1, 2, 3], 'stable'), [3, 6, 9]);
    assert.deepEqual(await predict('half', [1, 2, 5]), [2.5, 3, 4.5]);
    const rest = await call(app, post('/v1/models/three/labels/stable:predict', { instances: [2.0] }));
    assert.equal(rest.status, 200, rest.text);
    assert.deepEqual(rest.body.predictions, [6]);
    const status = await grpc.clients.model('GetModelStatus', { model_spec: { name: 'three' } });
    assert.deepEqual(
      status.model_version_status.map((s: any) => [s.version, s.state]),
      [['1', 'AVAILABLE']],
    );
  });

  test('a model left out of the new config is unloaded: NOT_FOUND afterwards', async () => {
    await reload(entry('half', HALF), entry('three', three.path));
    const res = await reload(entry('half', HALF));
    assert.equal(res.status.error_code, 'OK');
    const err = await grpcError(grpc.clients.model('GetModelStatus', { model_spec: { name: 'three' } }));
    assert.equal(err.code, NOT_FOUND, err.details);
    assert.deepEqual(await predict('half', [2, 3, 4]), [3, 3.5, 4]);
  });

  test("the version policy and labels come from the message (int64 versions as the client's strings)", async () => {
    const both = fixture('tfserving/saved_model_half_plus_two_2_versions');
    await reload(
      entry('half', HALF),
      entry('two', both, {
        model_version_policy: { specific: { versions: ['123', '124'] } },
        version_labels: { old: '123', new: '124' },
      }),
    );
    const status = await grpc.clients.model('GetModelStatus', { model_spec: { name: 'two' } });
    assert.deepEqual(
      status.model_version_status.map((s: any) => s.version),
      ['124', '123'],
    );
    assert.deepEqual(await predict('two', [1], 'old'), [2.5]);
    const rest = await call(app, { method: 'GET', url: '/v1/models/two/labels/new' });
    assert.equal(rest.status, 200, rest.text);
    assert.equal(rest.body.model_version_status[0].version, '124');
  });

  test("refusals: TF Serving's INVALID_ARGUMENT for anything but a model_config_list, a bad config changes nothing", async () => {
    await reload(entry('half', HALF), entry('three', three.path));
    const cases: [string, object, number, string, RegExp][] = [
      [
        'no config',
        {},
        INVALID_ARGUMENT,
        'CTR_ERR_INVALID_CONFIG',
        /Only ModelConfigList is currently supported/,
      ],
      [
        'custom_model_config',
        { config: { custom_model_config: { type_url: 'type.googleapis.com/x.Y', value: Buffer.alloc(0) } } },
        INVALID_ARGUMENT,
        'CTR_ERR_INVALID_CONFIG',
        /Only ModelConfigList is currently supported/,
      ],
      [
        'a model twice',
        { config: { model_config_list: { config: [entry('half', HALF), entry('half', HALF)] } } },
        INVALID_ARGUMENT,
        'CTR_ERR_INVALID_CONFIG',
        /configured twice/,
      ],
      [
        'a platform other than tensorflow',
        { config: { model_config_list: { config: [entry('half', HALF, { model_platform: 'onnx' })] } } },
        INVALID_ARGUMENT,
        'CTR_ERR_INVALID_CONFIG',
        /model_platform/,
      ],
      [
        'a label on a version not available',
        {
          config: {
            model_config_list: {
              config: [entry('half', HALF, { version_labels: { stable: '7' } }), entry('three', three.path)],
            },
          },
        },
        INVALID_ARGUMENT,
        'CTR_ERR_INVALID_CONFIG',
        /not currently available for inference/,
      ],
    ];
    for (const [what, request, code, ctrCode, message] of cases) {
      const err = await grpcError(grpc.clients.model('HandleReloadConfigRequest', request));
      assert.equal(err.code, code, `${what}: ${err.details}`);
      assert.equal(err.ctrCode, ctrCode, what);
      assert.match(err.details, message, what);
    }
    // Only the label case reached the manager, with the same models: they still serve, and no label was set.
    assert.deepEqual(await predict('three', [1]), [3]);
    const label = await grpcError(predict('half', [1], 'stable'));
    assert.equal(label.code, INVALID_ARGUMENT, label.details);
  });

  test('a model that does not become available: UNKNOWN naming it, and the rest of the config applied', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ctr-reload-'));
    try {
      const err = await grpcError(
        reload(entry('half', HALF), entry('nothing', join(empty, 'absent')), entry('three', three.path)),
      );
      assert.equal(err.code, UNKNOWN, err.details);
      assert.equal(err.ctrCode, 'CTR_ERR_MODELS_NOT_AVAILABLE');
      assert.match(err.details, /^Some models did not become available: \{nothing/);
      assert.deepEqual(await predict('three', [2]), [6]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('calls are counted in ctr_grpc_requests_total by outcome', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const method = '/tensorflow.serving.ModelService/HandleReloadConfigRequest';
    for (const code of ['OK', 'INVALID_ARGUMENT', 'UNKNOWN']) {
      assert.match(text, new RegExp(`ctr_grpc_requests_total\\{method="${method}",code="${code}"\\} [1-9]`));
    }
  });
});

test(
  'without applyModelConfig (a --workers cluster worker) HandleReloadConfigRequest is UNIMPLEMENTED',
  { skip: skipWithoutFixtures },
  async () => {
    const app = await appFor([
      { name: 'half', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') },
    ]);
    const { config, manager, service, metrics } = app.ctr;
    const server = await startGrpcServer(
      { config, manager, service, metrics, logger: app.log },
      { host: '127.0.0.1', bindPort: 0 },
    );
    const clients = grpcClients(`127.0.0.1:${server.port}`);
    try {
      const err = await grpcError(clients.model('HandleReloadConfigRequest', {}));
      assert.equal(err.code, UNIMPLEMENTED, err.details);
      assert.match(err.details, /--workers/);
    } finally {
      clients.close();
      await server.stop();
      await app.close();
    }
  },
);

test(
  "with --model_config_file, the file's next reload applies the file again over a gRPC reload (as TF Serving's poll)",
  { skip: skipWithoutFixtures },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-reload-file-'));
    const three = await modelRepo({ 1: fixture('tfjs/times_three_float') });
    const path = join(dir, 'models.config');
    const half = fixture('tfserving/saved_model_half_plus_two_cpu');
    const text = `model_config_list { config { name: 'half' base_path: '${half}' model_platform: 'tensorflow' } }\n`;
    await writeFile(path, text);
    const config = loadConfig({
      flags: { file_system_poll_wait_seconds: '0', log_level: 'silent', workers: '1' },
      modelConfigFile: { path, text },
    });
    const app = await buildApp(config, { logger: false });
    const grpc = await grpcFor(app);
    try {
      await app.ctr.reloadModelConfig(); // the file as a poll reads it: nothing changes
      const models = [half, three.path].map((base, i) => ({ name: ['half', 'three'][i], base_path: base }));
      await grpc.clients.model('HandleReloadConfigRequest', {
        config: { model_config_list: { config: models } },
      });
      const served = async () => (await call(app, { method: 'GET', url: '/v1/models/three' })).status;
      assert.equal(await served(), 200);
      await app.ctr.reloadModelConfig(); // the same file text, applied again: 'three' is gone
      assert.equal(await served(), 404);
    } finally {
      grpc.clients.close();
      await grpc.server.stop();
      await app.close();
      await three.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
