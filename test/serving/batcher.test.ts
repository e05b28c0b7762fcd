import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_BATCHING } from '../../src/config/serving-config.ts';
import { isCtrError } from '../../src/errors/registry.ts';
import { initBackend } from '../../src/graph/backend.ts';
import type { HostTensor } from '../../src/graph/model.ts';
import { Batcher, type BatcherConfig } from '../../src/serving/batcher.ts';
import type { Servable } from '../../src/serving/servable.ts';
import { noopServingMetrics, type ShedReason } from '../../src/serving/serving-metrics.ts';
import { floats, TfjsTestModel, type TestModelSpec } from '../helpers/tfjs-models.ts';

before(async () => {
  await initBackend();
});

const config = (over: Partial<BatcherConfig> = {}): BatcherConfig => ({
  ...DEFAULT_BATCHING,
  enabled: true,
  maxBatchSize: 64,
  batchTimeoutMs: 0,
  maxEnqueuedBatches: 8,
  predictTimeoutMs: 60000,
  ...over,
});

function servable(
  spec: TestModelSpec = { kind: 'affine', a: 0.5, b: 2 },
): Servable & { model: TfjsTestModel } {
  return { id: { name: 'half', version: 1 }, model: new TfjsTestModel(spec), loadedAtMs: 0 };
}

function gate(model: TfjsTestModel): () => void {
  let open!: () => void;
  model.gate = new Promise((resolve) => (open = resolve));
  return () => {
    model.gate = undefined;
    open();
  };
}

/** Lets the batcher start the first batch (it is now blocked at the gate). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const ys = (out: Record<string, HostTensor>) => Array.from(out.y!.values as Float32Array);

test('concurrent requests are merged into one model call and each gets its own rows back', async () => {
  const s = servable();
  const batcher = new Batcher(config());
  const open = gate(s.model);
  const first = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const rest = [floats(1), floats(2, 5), floats(10, 20, 30), floats(-4)].map((x) =>
    batcher.run(s, 'serving_default', { x }),
  );
  open();
  assert.deepEqual(ys(await first), [2]);
  const outs = await Promise.all(rest);
  assert.deepEqual(outs.map(ys), [[2.5], [3, 4.5], [7, 12, 17], [0]]);
  assert.deepEqual(
    outs.map((o) => o.y!.shape),
    [
      [1, 1],
      [2, 1],
      [3, 1],
      [1, 1],
    ],
  );
  assert.equal(s.model.calls, 2, 'one call for the first request, one for the four merged ones');
  assert.deepEqual(s.model.batchRows, [1, 7]);
  s.model.dispose();
});

test('requests that arrive in the same event-loop turn share one batch even with a 0 ms timeout', async () => {
  const s = servable();
  const batcher = new Batcher(config({ batchTimeoutMs: 0 }));
  const outs = await Promise.all(
    [1, 2, 3, 4, 5].map((v) => batcher.run(s, 'serving_default', { x: floats(v) })),
  );
  assert.deepEqual(outs.map(ys), [[2.5], [3], [3.5], [4], [4.5]]);
  assert.deepEqual(s.model.batchRows, [5]);
  s.model.dispose();
});

test('a batch closes at maxBatchSize rows and the rest go to the next batch', async () => {
  const s = servable();
  const batcher = new Batcher(config({ maxBatchSize: 4 }));
  const open = gate(s.model);
  const first = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const rest = [floats(1, 2), floats(3, 4), floats(5)].map((x) => batcher.run(s, 'serving_default', { x }));
  open();
  await first;
  assert.deepEqual((await Promise.all(rest)).map(ys), [[2.5, 3], [3.5, 4], [4.5]]);
  assert.deepEqual(s.model.batchRows, [1, 4, 1]);
  s.model.dispose();
});

test('a request larger than maxBatchSize runs alone', async () => {
  const s = servable();
  const batcher = new Batcher(config({ maxBatchSize: 2 }));
  const open = gate(s.model);
  const first = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const big = batcher.run(s, 'serving_default', { x: floats(1, 2, 3, 4, 5) });
  const small = batcher.run(s, 'serving_default', { x: floats(6) });
  open();
  await first;
  assert.deepEqual(ys(await big), [2.5, 3, 3.5, 4, 4.5]);
  assert.deepEqual(ys(await small), [5]);
  assert.deepEqual([...s.model.batchRows].sort(), [1, 1, 5]);
  s.model.dispose();
});

test('a full queue sheds requests at once with CTR_ERR_QUEUE_FULL (503) and counts them', async () => {
  const s = servable();
  const shed: ShedReason[] = [];
  const metrics = { ...noopServingMetrics, countShed: (r: ShedReason) => shed.push(r) };
  const batcher = new Batcher(config({ maxBatchSize: 1, maxEnqueuedBatches: 2 }), { metrics });
  const open = gate(s.model);
  const running = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const settled = Promise.allSettled(
    [1, 2, 3, 4, 5].map((v) => batcher.run(s, 'serving_default', { x: floats(v) })),
  );
  open();
  const results = await settled;
  await running;
  const codes = results.map((r) =>
    r.status === 'fulfilled' ? 200 : isCtrError(r.reason) ? r.reason.statusCode : 0,
  );
  assert.deepEqual(codes, [200, 200, 503, 503, 503]);
  for (const r of results.slice(2))
    assert.equal(r.status === 'rejected' && r.reason.code, 'CTR_ERR_QUEUE_FULL');
  assert.deepEqual(shed, ['queue_full', 'queue_full', 'queue_full']);
  assert.deepEqual(ys((results[1] as PromiseFulfilledResult<Record<string, never>>).value), [3]);
  s.model.dispose();
});

test('requests over the queue-delay budget are refused while the admitted ones still hold the model', async () => {
  const s = servable();
  // Admission prior (admission.ts): 1 ms per call + 10 µs per row. A request is admitted while the work already
  // queued fits the budget: 1.5 ms admits the first two 1-row requests (0 and 1.01 ms queued) and no more.
  const batcher = new Batcher(config({ enabled: false, maxEnqueuedBatches: 100, maxQueueDelayMs: 1.5 }));
  const open = gate(s.model);
  const settledWhileHeld: number[] = [];
  const settled = Promise.allSettled(
    [1, 2, 3, 4].map((v, i) =>
      batcher.run(s, 'serving_default', { x: floats(v) }).finally(() => settledWhileHeld.push(i)),
    ),
  );
  await settle();
  assert.deepEqual(settledWhileHeld, [2, 3]);
  open();
  const codes = (await settled).map((r) => (r.status === 'rejected' ? r.reason.code : 'ok'));
  assert.deepEqual(codes, ['ok', 'ok', 'CTR_ERR_QUEUE_FULL', 'CTR_ERR_QUEUE_FULL']);
  s.model.dispose();
});

test('with batching disabled each request runs directly in its own model call', async () => {
  const s = servable();
  const batcher = new Batcher(config({ enabled: false }));
  const outs = await Promise.all(
    [floats(1), floats(2), floats(3)].map((x) => batcher.run(s, 'serving_default', { x })),
  );
  assert.deepEqual(outs.map(ys), [[2.5], [3], [3.5]]);
  assert.equal(s.model.calls, 3);
  s.model.dispose();
});

test('with batching disabled requests beyond maxEnqueuedBatches in flight are shed', async () => {
  const s = servable();
  const batcher = new Batcher(config({ enabled: false, maxEnqueuedBatches: 2 }));
  const open = gate(s.model);
  const settled = Promise.allSettled(
    [1, 2, 3].map((v) => batcher.run(s, 'serving_default', { x: floats(v) })),
  );
  open();
  const codes = (await settled).map((r) => (r.status === 'rejected' ? r.reason.code : 'ok'));
  assert.deepEqual(codes, ['ok', 'ok', 'CTR_ERR_QUEUE_FULL']);
  s.model.dispose();
});

test('requests on a signature without a free batch dim are never merged', async () => {
  const s = servable({ kind: 'scalar', factor: 3 });
  const batcher = new Batcher(config());
  const open = gate(s.model);
  const x = (v: number) => ({ x: { dtype: 'DT_FLOAT' as const, shape: [], values: Float32Array.of(v) } });
  const outs = Promise.all([1, 2, 3].map((v) => batcher.run(s, 'serving_default', x(v))));
  await settle();
  open();
  assert.deepEqual((await outs).map(ys), [[3], [6], [9]]);
  assert.equal(s.model.calls, 3);
  s.model.dispose();
});

test('when a merged call fails each request is retried alone, so only the bad one fails', async () => {
  const s = servable({ kind: 'affine', a: 0.5, b: 2, failOnNegative: true });
  const batcher = new Batcher(config());
  const open = gate(s.model);
  const first = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const settled = Promise.allSettled(
    [floats(1), floats(-1), floats(2)].map((x) => batcher.run(s, 'serving_default', { x })),
  );
  open();
  await first;
  const results = await settled;
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? ys(r.value) : r.reason.code)),
    [[2.5], 'CTR_ERR_EXECUTION', [3]],
  );
  s.model.dispose();
});

test('a request that waited longer than predictTimeoutMs fails with CTR_ERR_TIMEOUT (504)', async () => {
  const s = servable();
  // The first request must start within the timeout (one event-loop turn; generous, as a loaded machine can stall a
  // turn for hundreds of ms), the second waits longer than the timeout behind it (timers never fire early).
  const timeoutMs = 1000;
  const batcher = new Batcher(config({ predictTimeoutMs: timeoutMs }));
  const open = gate(s.model);
  const first = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const late = batcher.run(s, 'serving_default', { x: floats(1) });
  await new Promise((resolve) => setTimeout(resolve, timeoutMs + 50));
  open();
  await first;
  await assert.rejects(
    late,
    (err) => isCtrError(err) && err.code === 'CTR_ERR_TIMEOUT' && err.statusCode === 504,
  );
  s.model.dispose();
});

test('stop lets queued batches finish and refuses new requests with CTR_ERR_SHUTTING_DOWN', async () => {
  const s = servable();
  const batcher = new Batcher(config());
  const open = gate(s.model);
  const first = batcher.run(s, 'serving_default', { x: floats(0) });
  await settle();
  const queued = batcher.run(s, 'serving_default', { x: floats(2) });
  const stopped = batcher.stop();
  await assert.rejects(batcher.run(s, 'serving_default', { x: floats(1) }), {
    code: 'CTR_ERR_SHUTTING_DOWN',
  });
  open();
  await stopped;
  assert.deepEqual(ys(await first), [2]);
  assert.deepEqual(ys(await queued), [3]);
  assert.equal(batcher.pendingBatches, 0);
  s.model.dispose();
});

test('a burst through the batcher leaves no tensors behind', async () => {
  const s = servable();
  const batcher = new Batcher(config({ maxBatchSize: 16, maxEnqueuedBatches: 4 }));
  const baseline = tf.memory().numTensors;
  const results = await Promise.allSettled(
    Array.from({ length: 200 }, (_, i) => batcher.run(s, 'serving_default', { x: floats(i, i + 1) })),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.ok(ok.length > 0);
  assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason.code === 'CTR_ERR_QUEUE_FULL'));
  assert.equal(tf.memory().numTensors, baseline);
  s.model.dispose();
});

test('every model call and queue wait is reported to the metrics hooks', async () => {
  const s = servable();
  const inference: [string, number][] = [];
  let waits = 0;
  const metrics = {
    ...noopServingMetrics,
    observeInference: (id: { name: string; version: number }, seconds: number, rows: number) =>
      inference.push([`${id.name}:${id.version} ${seconds >= 0}`, rows]),
    observeQueueWait: (seconds: number) => (waits += seconds >= 0 ? 1 : 0),
  };
  const batcher = new Batcher(config(), { metrics });
  await Promise.all([floats(1, 2), floats(3)].map((x) => batcher.run(s, 'serving_default', { x })));
  assert.deepEqual(inference, [['half:1 true', 3]]);
  assert.equal(waits, 2);
  s.model.dispose();
});
