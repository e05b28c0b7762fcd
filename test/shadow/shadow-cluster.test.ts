import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { shadowPrimaryBridge, shadowWorkerBridge } from '../../src/shadow/shadow-cluster.ts';
import { ShadowPair, shadowPairsJson, type ShadowPairSnapshot } from '../../src/shadow/shadow-pair.ts';

/**
 * A cluster in one process: each message crosses a JSON round trip on a later tick, as Node's cluster IPC
 * (default 'json' serialization) delivers it.
 */
function fakeCluster(workerCount: number, silent: Set<number> = new Set()) {
  const primary = new EventEmitter();
  const deliver = (target: EventEmitter, ...args: unknown[]) =>
    setImmediate(() => target.emit('message', ...args.map((a) => JSON.parse(JSON.stringify(a)) as unknown)));
  const workers = Array.from({ length: workerCount }, (_, i) => {
    const id = i + 1;
    const proc = new EventEmitter();
    const handle = { id, send: (m: unknown) => (silent.has(id) ? undefined : deliver(proc, m)) };
    const channel = {
      send: (m: unknown) =>
        setImmediate(() => primary.emit('message', handle, JSON.parse(JSON.stringify(m)))),
      on: (e: 'message', f: (m: unknown) => void) => proc.on(e, f),
    };
    return { handle, channel };
  });
  shadowPrimaryBridge(
    {
      workers: () => workers.map((w) => w.handle),
      on: (e, f) => primary.on(e, f),
    },
    100,
  );
  return workers;
}

function pairWith(values: number[]): ShadowPair {
  const pair = new ShadowPair('student', 'teacher', 0.5, { windowSize: 1000, topK: 2 });
  pair.counts.sampled += values.length + 1;
  pair.counts.scored += values.length;
  pair.counts.dropped += 1;
  for (const v of values) {
    pair.record(
      { name: 'student', version: 3 },
      { name: 'teacher', version: 1 },
      [v, v / 2],
      [v / 2, v],
      [0, 2],
    );
  }
  return pair;
}

test('GET /v1/shadow data from any worker pools every worker: counts summed, agreement merged', async () => {
  const workers = fakeCluster(3);
  const pairs = [pairWith([0.2, 0.4]), pairWith([0.6]), pairWith([0.8, 0.1, 0.3])];
  const collectors = workers.map((w, i) => shadowWorkerBridge(w.channel, () => [pairs[i].snapshot()], 1000));
  const got = await collectors[1]();
  assert.equal(got.length, 3);
  const pooled = shadowPairsJson(got).pairs[0];
  const alone = pairWith([0.2, 0.4, 0.6, 0.8, 0.1, 0.3]);
  const want = shadowPairsJson([[alone.snapshot()]]).pairs[0];
  assert.deepEqual(pooled.requests, { sampled: 9, scored: 6, dropped: 3, errors: 0, timeouts: 0 });
  assert.equal(pooled.predictions, 12);
  for (const key of [
    'mae',
    'kl',
    'pearson',
    'mean_ctr_student',
    'mean_ctr_teacher',
    'topk_overlap',
  ] as const) {
    assert.ok(Math.abs(pooled.cumulative[key]! - want.cumulative[key]!) < 1e-12, key);
  }
  assert.equal(pooled.window.predictions, 12);
});

test('a worker that does not answer is left out after the timeout instead of hanging the request', async () => {
  const workers = fakeCluster(3, new Set([3]));
  const pairs = [pairWith([0.2]), pairWith([0.6]), pairWith([0.9])];
  const collectors = workers.map((w, i) => shadowWorkerBridge(w.channel, () => [pairs[i].snapshot()], 1000));
  const started = Date.now();
  const got: ShadowPairSnapshot[][] = await collectors[0]();
  assert.equal(got.length, 2);
  assert.ok(Date.now() - started < 900);
  assert.equal(shadowPairsJson(got).pairs[0].requests.scored, 2);
});

test('without an answer from the primary a worker reports its own state', async () => {
  const silentPrimary = { send: () => undefined, on: () => undefined };
  const pair = pairWith([0.5]);
  const got = await shadowWorkerBridge(silentPrimary, () => [pair.snapshot()], 20)();
  assert.equal(got.length, 1);
  assert.equal(shadowPairsJson(got).pairs[0].requests.scored, 1);
});
