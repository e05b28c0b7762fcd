import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueueDelayAdmission } from '../../src/serving/admission.ts';

test('bounds a burst on a cold process with a prior, and admits whenever nothing is queued', () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 100 });
  // Prior: 1 ms + 10 µs per row, so 1000-row requests cost 11 ms each: 10 fit in 100 ms, the 11th waits 110 ms.
  const admitted = Array.from({ length: 100 }, () => a.admit(1000)).filter(Boolean).length;
  assert.equal(admitted, 10);
  assert.equal(a.queuedRows, 10_000);
  const b = new QueueDelayAdmission({ maxQueueDelayMs: 1 });
  b.observe(10, 500);
  assert.ok(b.admit(10), 'an idle server admits even a request estimated far over budget');
});

test('fits a per-call and a per-row cost from calls of different sizes', () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 10 });
  for (let i = 0; i < 5; i++) {
    a.observe(1, 1.002);
    a.observe(1001, 3.002);
  }
  assert.ok(Math.abs(a.speed.perRowMs - 0.002) < 1e-9);
  assert.ok(Math.abs(a.speed.perCallMs - 1) < 1e-9);
  a.admit(1000);
  a.admit(1000);
  assert.ok(Math.abs(a.estimatedDelayMs - (2 * 1 + 2000 * 0.002)) < 1e-6);
});

test('calls of one size are charged per call, so small warm-up calls do not make large batches look slow', () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 10, maxBatchSize: 1024 });
  a.observe(1, 2);
  assert.deepEqual(a.speed, { perCallMs: 2, perRowMs: 0 });
  for (let i = 0; i < 16; i++) assert.ok(a.admit(64), `request ${i}`);
  // 1024 rows fill one batch: one call of about 2 ms.
  assert.equal(a.estimatedDelayMs, 2);
});

test('refuses once the queued work exceeds the budget and admits again as requests finish', () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 20 });
  a.observe(1000, 5);
  const admitted = Array.from({ length: 10 }, () => a.admit(1000)).filter(Boolean).length;
  // 5 queued calls are 25 ms: the 6th request would wait over 20 ms.
  assert.equal(admitted, 5);
  assert.equal(a.admit(1), false);
  a.finish(1000);
  a.finish(1000);
  assert.equal(a.admit(1000), true);
});

test('a budget of 0 turns the bound off', () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 0 });
  a.observe(1, 100);
  for (let i = 0; i < 50; i++) assert.ok(a.admit(1));
});

test("each queued call also waits for the event loop's gap between calls, so the bound holds in wall time", () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 50 });
  for (let i = 0; i < 20; i++) a.observe(1000, 2);
  assert.ok(a.admit(1000) && a.admit(1000));
  assert.equal(a.estimatedDelayMs, 4);
  // Under overload a turn of refusals runs between two calls: 18 ms measured, so each call costs 20 ms.
  for (let i = 0; i < 50; i++) a.observeGap(18);
  assert.ok(Math.abs(a.gapMs - 18) < 1e-9);
  assert.ok(Math.abs(a.estimatedDelayMs - 40) < 1e-9);
  assert.ok(a.admit(1000));
  assert.equal(a.admit(1000), false, '3 calls × 20 ms = 60 ms > 50 ms');
});

test('a gap not seen again for a second no longer counts (the overload is over)', async () => {
  const a = new QueueDelayAdmission({ maxQueueDelayMs: 50 });
  a.observe(1000, 2);
  a.observeGap(100);
  assert.equal(a.gapMs, 100);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal(a.gapMs, 0);
  assert.ok(a.admit(1000) && a.admit(1000), 'two calls of 2 ms fit again');
});
