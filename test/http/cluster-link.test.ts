import assert from 'node:assert/strict';
import type { Cluster, Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { localLink, servePrimaryCollect, workerLink } from '../../src/http/cluster-link.ts';

/**
 * node:cluster's IPC in one process: each FakeWorker is both the primary's handle on a worker and that worker's
 * own `cluster.worker` (send() from either side is delivered to the other, asynchronously like IPC).
 */
class FakeWorker extends EventEmitter {
  readonly toWorker = new EventEmitter();
  connected = true;
  constructor(
    readonly id: number,
    readonly primary: EventEmitter,
  ) {
    super();
  }
  isConnected() {
    return this.connected;
  }
  /** Primary → worker. */
  send(msg: unknown) {
    setImmediate(() => this.toWorker.emit('message', msg));
    return true;
  }
  /** The worker-side view: send() goes to the primary. */
  inside(): Worker {
    const { primary } = this;
    const handle = () => this;
    const view = new EventEmitter() as unknown as Worker;
    this.toWorker.on('message', (msg) => (view as unknown as EventEmitter).emit('message', msg));
    (view as unknown as { send: (m: unknown) => boolean }).send = (msg: unknown) => {
      setImmediate(() => primary.emit('message', handle(), msg));
      return true;
    };
    return view;
  }
}

function fakeCluster(n: number) {
  const primary = new EventEmitter();
  const workers = Array.from({ length: n }, (_, i) => new FakeWorker(i + 1, primary));
  (primary as unknown as { workers: Record<number, FakeWorker> }).workers = Object.fromEntries(
    workers.map((w) => [w.id, w]),
  );
  return { cluster: primary as unknown as Cluster, workers };
}

test('a collect from any worker gathers every worker value through the primary', async () => {
  const { cluster, workers } = fakeCluster(3);
  servePrimaryCollect(cluster);
  const links = workers.map((w) => workerLink(w.inside()));
  links.forEach((link, i) => link.provide('count', () => ({ worker: i, requests: 10 * (i + 1) })));
  const values = (await links[1]!.collect('count')) as { worker: number; requests: number }[];
  assert.deepEqual(values.map((v) => v.worker).sort(), [0, 1, 2]);
  assert.equal(
    values.reduce((a, v) => a + v.requests, 0),
    60,
  );
});

test('a worker that does not answer is left out after the timeout; a disconnected one is not asked', async () => {
  const { cluster, workers } = fakeCluster(3);
  servePrimaryCollect(cluster, 200);
  const links = workers.map((w) => workerLink(w.inside()));
  links[0]!.provide('x', () => 'a');
  links[1]!.provide('x', () => new Promise(() => {}));
  links[2]!.provide('x', () => 'c');
  workers[2]!.connected = false;
  assert.deepEqual(await links[0]!.collect('x'), ['a']);
});

test('a worker whose provider throws is left out, the others still answer', async () => {
  const { cluster, workers } = fakeCluster(2);
  servePrimaryCollect(cluster);
  const links = workers.map((w) => workerLink(w.inside()));
  links[0]!.provide('x', () => {
    throw new Error('boom');
  });
  links[1]!.provide('x', () => 2);
  assert.deepEqual(await links[0]!.collect('x'), [2]);
});

test('without workers the link answers with this process value alone', async () => {
  const link = localLink();
  link.provide('x', async () => 7);
  assert.deepEqual(await link.collect('x'), [7]);
});
