import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/serving-config.ts';
import { isCtrError } from '../../src/errors/registry.ts';
import { call, post } from '../helpers/app-helpers.ts';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';

// Two versions that answer differently: 1 is TF Serving's half_plus_two (x/2 + 2), 2 is times_three_float (3x).
// Labels as in TF Serving's serving_config.md ("Assigning String Labels to Model Versions"), as text proto.
const HALF_PLUS_TWO = [2.5, 3];
const TIMES_THREE = [3, 6];

async function repo(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-labels-'));
  await symlink(fixture('tfserving/saved_model_half_plus_two_cpu/00000123'), join(dir, '1'));
  await symlink(fixture('tfjs/times_three_float'), join(dir, '2'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const configText = (base: string, labels: Record<string, number>, extra = '') => `model_config_list {
  config {
    name: 'm'
    base_path: '${base}'
    model_platform: 'tensorflow'
    model_version_policy { all {} }
${Object.entries(labels)
  .map(([k, v]) => `    version_labels { key: '${k}' value: ${v} }`)
  .join('\n')}
  }
${extra}}
`;

async function start(path: string, text: string, flags: Record<string, string> = {}) {
  await writeFile(path, text);
  const config = loadConfig({
    flags: { file_system_poll_wait_seconds: '0', log_level: 'silent', workers: '1', ...flags },
    modelConfigFile: { path, text },
  });
  return buildApp(config, { logger: false });
}

const predictions = async (app: Awaited<ReturnType<typeof buildApp>>, url: string) => {
  const res = await call(app, post(url, { instances: [1.0, 2.0] }));
  assert.equal(res.status, 200, res.text);
  return (res.body.predictions as number[]).flat();
};

test(
  'labels name versions for status, metadata and :predict; an unknown label is 400',
  { skip: skipWithoutFixtures },
  async () => {
    const r = await repo();
    const app = await start(join(r.dir, 'models.config'), configText(r.dir, { stable: 1, canary: 2 }));
    try {
      assert.deepEqual(await predictions(app, '/v1/models/m/labels/stable:predict'), HALF_PLUS_TWO);
      assert.deepEqual(await predictions(app, '/v1/models/m/labels/canary:predict'), TIMES_THREE);
      const status = await call(app, { method: 'GET', url: '/v1/models/m/labels/canary' });
      assert.deepEqual(
        status.body.model_version_status.map((s: { version: string }) => s.version),
        ['2'],
      );
      const meta = await call(app, { method: 'GET', url: '/v1/models/m/labels/stable/metadata' });
      assert.equal(meta.body.model_spec.version, '1');
      const unknown = await call(app, post('/v1/models/m/labels/nope:predict', { instances: [1.0] }));
      assert.equal(unknown.status, 400);
      assert.equal(unknown.headers['ctr-error-code'], 'CTR_ERR_UNKNOWN_VERSION_LABEL');
      assert.deepEqual(unknown.body, { error: 'Unrecognized servable version label: nope' });
    } finally {
      await app.close();
      await r.cleanup();
    }
  },
);

test(
  "a label may name only an AVAILABLE version unless --allow_version_labels_for_unavailable_models (TF Serving's rule)",
  { skip: skipWithoutFixtures },
  async () => {
    const r = await repo();
    const path = join(r.dir, 'models.config');
    try {
      await assert.rejects(
        start(path, configText(r.dir, { stable: 1, next: 3 })),
        (err: unknown) =>
          isCtrError(err) &&
          err.code === 'CTR_ERR_INVALID_CONFIG' &&
          /assign label to version 3 of model m, which is not currently available/.test(err.message),
      );
      const app = await start(path, configText(r.dir, { stable: 1, next: 3 }), {
        allow_version_labels_for_unavailable_models: 'true',
      });
      try {
        const next = await call(app, post('/v1/models/m/labels/next:predict', { instances: [1.0] }));
        assert.equal(next.status, 404, next.text);
        assert.equal(next.headers['ctr-error-code'], 'CTR_ERR_VERSION_NOT_FOUND');
      } finally {
        await app.close();
      }
    } finally {
      await r.cleanup();
    }
  },
);

test(
  'a re-read model config file moves labels, adds and removes models; a bad one changes nothing',
  { skip: skipWithoutFixtures },
  async () => {
    const r = await repo();
    const path = join(r.dir, 'models.config');
    const app = await start(path, configText(r.dir, { stable: 1 }));
    const reloader = () => app.ctr.reloadModelConfig();
    try {
      assert.deepEqual(await predictions(app, '/v1/models/m/labels/stable:predict'), HALF_PLUS_TWO);
      const second = `  config { name: 'other' base_path: '${r.dir}' model_version_policy { specific { versions: 1 } } }\n`;
      await writeFile(path, configText(r.dir, { stable: 2 }, second));
      await reloader();
      assert.deepEqual(await predictions(app, '/v1/models/m/labels/stable:predict'), TIMES_THREE);
      assert.deepEqual(await predictions(app, '/v1/models/other:predict'), HALF_PLUS_TWO);

      // A label moved to a version that is not AVAILABLE is refused as a whole: stable stays on 2.
      await writeFile(path, configText(r.dir, { stable: 7 }, second));
      await reloader();
      assert.deepEqual(await predictions(app, '/v1/models/m/labels/stable:predict'), TIMES_THREE);
      await writeFile(path, 'model_config_list { config { name: "m" ');
      await reloader();
      assert.deepEqual(await predictions(app, '/v1/models/m/labels/stable:predict'), TIMES_THREE);

      await writeFile(path, configText(r.dir, {}));
      await reloader();
      assert.equal((await call(app, { method: 'GET', url: '/v1/models/other' })).status, 404);
      const gone = await call(app, post('/v1/models/m/labels/stable:predict', { instances: [1.0] }));
      assert.equal(gone.status, 400);
    } finally {
      await app.close();
      await r.cleanup();
    }
  },
);
