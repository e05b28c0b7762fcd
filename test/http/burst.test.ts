import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { skipWithoutBenchReference } from '../helpers/fixtures.ts';
import { appFor, post } from '../helpers/app-helpers.ts';
import { referenceRows, writeReferenceStudent } from '../helpers/reference-model.ts';

// Capacity here: one batch thread, batches of at most 1000 rows, and 1 batch waiting. 200 concurrent requests of
// 300 candidates are far above it: the excess must be refused at once (503 CTR_ERR_QUEUE_FULL, counted), the rest
// answered correctly, and no tensor may be left behind.
test(
  'a burst far above capacity gets fast 503s for the excess, correct scores for the rest, and leaks no tensor',
  { skip: skipWithoutBenchReference, timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-http-burst-'));
    await writeReferenceStudent(join(dir, 'ctr-student', '1'));
    const app = await appFor(
      [{ name: 'ctr-student', basePath: join(dir, 'ctr-student') }],
      { enable_batching: 'true' },
      {},
      'max_batch_size { value: 1000 }\nbatch_timeout_micros { value: 1000 }\nmax_enqueued_batches { value: 1 }\nnum_batch_threads { value: 1 }\n',
    );
    try {
      const rows = referenceRows();
      const history = rows[0]!.history;
      const candidates = rows.slice(0, 300).map((r) => r.candidate);
      const body = { requests: [{ history, candidates }] };
      const reference = await app.inject(post('/v1/ctr:predict', body));
      assert.equal(reference.statusCode, 200, reference.body);
      const expected: number[] = reference.json().results[0].scores;
      // rows[0] is scored against its own candidate by the reference: anchor the expected scores to expected.f32.
      assert.ok(Math.abs(expected[0]! - rows[0]!.expected) <= 1e-5);
      const tensorsBefore = await app.ctr.numTensors();

      const order: number[] = [];
      const responses = await Promise.all(
        Array.from({ length: 200 }, () =>
          app.inject(post('/v1/ctr:predict', body)).then((res) => {
            order.push(res.statusCode);
            return res;
          }),
        ),
      );
      const ok = responses.filter((r) => r.statusCode === 200);
      const shed = responses.filter((r) => r.statusCode === 503);
      assert.equal(
        ok.length + shed.length,
        200,
        `unexpected statuses: ${responses.map((r) => r.statusCode)}`,
      );
      assert.ok(shed.length > 0, 'nothing was shed');
      assert.ok(ok.length > 0, 'nothing was served');
      for (const res of shed) assert.equal(res.json().code, 'CTR_ERR_QUEUE_FULL');
      // A request that ran alone took the one-user path (fold-user-dense.ts), one merged with others the shared
      // graph: the same values up to float32 rounding.
      for (const res of ok) {
        const scores: number[] = res.json().results[0].scores;
        assert.equal(scores.length, expected.length);
        assert.ok(scores.every((v, i) => Math.abs(v - expected[i]!) <= 1e-6));
      }
      // Shed requests do not wait behind the queue: every 503 came back before the last 200.
      assert.ok(order.lastIndexOf(503) < order.lastIndexOf(200), `completion order: ${order.join(' ')}`);

      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const counted = /^ctr_requests_shed_total\{reason="queue_full"\} (\d+)$/m.exec(metrics);
      assert.equal(Number(counted?.[1]), shed.length);
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal(await app.ctr.numTensors(), tensorsBefore);
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
