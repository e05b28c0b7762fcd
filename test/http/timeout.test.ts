import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { appFor, call, post } from '../helpers/app-helpers.ts';

// A 300 ms batch timeout keeps a lone request waiting longer than predict_timeout_ms allows.
test(
  'a request that waits longer than predict_timeout_ms answers 504 CTR_ERR_TIMEOUT with the TF Serving error body',
  { skip: skipWithoutFixtures, timeout: 60_000 },
  async () => {
    const app = await appFor(
      [{ name: 'hpt', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') }],
      { enable_batching: 'true', predict_timeout_ms: '20' },
      {},
      'max_batch_size { value: 1000 }\nbatch_timeout_micros { value: 300000 }\n',
    );
    try {
      const res = await call(app, post('/v1/models/hpt:predict', { instances: [[1.0]] }));
      assert.equal(res.status, 504, res.text);
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.equal(res.headers['ctr-error-code'], 'CTR_ERR_TIMEOUT');
    } finally {
      await app.close();
    }
  },
);
