import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcError, grpcFor } from '../helpers/grpc-client.ts';
import { grpcTensor, tensorValues } from '../helpers/tensor-helpers.ts';

// Version 1 is TF Serving's half_plus_two (x/2 + 2), version 2 times_three_float (3x); labels as TF Serving's
// serving_config.md writes them. ModelSpec.version_label picks the version as /labels/{label} does over REST.
test(
  'ModelSpec.version_label names the version Predict and GetModelStatus use',
  { skip: skipWithoutFixtures },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-grpc-labels-'));
    await symlink(fixture('tfserving/saved_model_half_plus_two_cpu/00000123'), join(dir, '1'));
    await symlink(fixture('tfjs/times_three_float'), join(dir, '2'));
    const text = `model_config_list {
  config {
    name: 'm'
    base_path: '${dir}'
    model_platform: 'tensorflow'
    model_version_policy { all {} }
    version_labels { key: 'stable' value: 1 }
    version_labels { key: 'canary' value: 2 }
  }
}
`;
    const path = join(dir, 'models.config');
    await writeFile(path, text);
    const config = loadConfig({
      flags: { file_system_poll_wait_seconds: '0', log_level: 'silent', workers: '1' },
      modelConfigFile: { path, text },
    });
    const app = await buildApp(config, { logger: false });
    const grpc = await grpcFor(app);
    try {
      const x = grpcTensor({ dtype: 'DT_FLOAT', shape: [2], values: [1, 2] }, true);
      const predict = async (version_label: string) => {
        const res = await grpc.clients.prediction('Predict', {
          model_spec: { name: 'm', version_label },
          inputs: { x },
        });
        return {
          version: res.model_spec.version.value,
          values: tensorValues(Object.values<any>(res.outputs)[0]),
        };
      };
      assert.deepEqual(await predict('stable'), { version: '1', values: [2.5, 3] });
      assert.deepEqual(await predict('canary'), { version: '2', values: [3, 6] });
      const status = await grpc.clients.model('GetModelStatus', {
        model_spec: { name: 'm', version_label: 'canary' },
      });
      assert.deepEqual(
        status.model_version_status.map((s: any) => s.version),
        ['2'],
      );
      const err = await grpcError(
        grpc.clients.prediction('Predict', {
          model_spec: { name: 'm', version_label: 'nope' },
          inputs: { x },
        }),
      );
      // model_servers/server_core.cc: an unknown label is InvalidArgument ("Unrecognized servable version label").
      assert.equal(err.code, 3, err.details);
      assert.equal(err.ctrCode, 'CTR_ERR_UNKNOWN_VERSION_LABEL');
    } finally {
      grpc.clients.close();
      await grpc.server.stop();
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
