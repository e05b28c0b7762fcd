import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertClose, fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { appFor, call, modelRepo, post } from '../helpers/app-helpers.ts';

test(
  'a new version and then a broken one arrive while requests run: none fails, the broken one shows END, the good one serves',
  { skip: skipWithoutFixtures, timeout: 120_000 },
  async () => {
    const repo = await modelRepo({ 1: fixture('tfserving/saved_model_half_plus_two_cpu/00000123') });
    const app = await appFor([{ name: 'hpt', basePath: repo.path }]);
    try {
      let stop = false;
      const answers: { status: number; predictions?: number[][]; text: string }[] = [];
      const traffic = (async () => {
        while (!stop) {
          const res = await call(app, post('/v1/models/hpt:predict', { instances: [[1.0], [2.0], [5.0]] }));
          answers.push({ status: res.status, predictions: res.body.predictions, text: res.text });
        }
      })();

      await symlink(fixture('tfserving/saved_model_half_plus_two_2_versions/00000124'), join(repo.path, '2'));
      await app.ctr.manager.pollNow();
      const meta2 = await call(app, { method: 'GET', url: '/v1/models/hpt/metadata' });
      assert.equal(meta2.body.model_spec.version, '2');

      await mkdir(join(repo.path, '3'));
      await writeFile(join(repo.path, '3', 'saved_model.pb'), Buffer.from('this is not a protobuf'));
      await app.ctr.manager.pollNow();
      const broken = await call(app, { method: 'GET', url: '/v1/models/hpt/versions/3' });
      assert.equal(broken.status, 200, broken.text);
      assert.equal(broken.body.model_version_status[0].state, 'END');
      assert.match(broken.body.model_version_status[0].status.error_message, /CTR_ERR_/);
      const meta = await call(app, { method: 'GET', url: '/v1/models/hpt/metadata' });
      assert.equal(meta.body.model_spec.version, '2');
      assert.equal((await call(app, { method: 'GET', url: '/readyz' })).status, 200);

      stop = true;
      await traffic;
      assert.ok(answers.length > 0);
      for (const a of answers) {
        assert.equal(a.status, 200, a.text);
        assertClose(a.predictions!.flat(), [2.5, 3.0, 4.5]);
      }
    } finally {
      await app.close();
      await repo.cleanup();
    }
  },
);
