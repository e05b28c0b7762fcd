import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
// The package's own export, as a user imports it (package.json "exports": "./client").
import { CtrServeClient, CtrServeError } from 'ctr-serve/client';
import { appFor } from '../helpers/app-helpers.ts';
import { fixture, skipWithoutBenchReference, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { referenceRows, writeReferenceStudent } from '../helpers/reference-model.ts';

describe(
  'ctr-serve/client against a running server',
  { skip: skipWithoutFixtures || skipWithoutBenchReference },
  () => {
    let app: FastifyInstance;
    let dir: string;
    let client: CtrServeClient;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ctr-client-'));
      await writeReferenceStudent(join(dir, 'ctr-student', '1'));
      await symlink(fixture('tfserving/saved_model_half_plus_two_2_versions'), join(dir, 'hpt'));
      app = await appFor([
        { name: 'ctr-student', basePath: join(dir, 'ctr-student') },
        { name: 'hpt', basePath: join(dir, 'hpt'), policy: { all: {} } },
      ]);
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      client = new CtrServeClient({ baseUrl: address, timeoutMs: 30_000 });
    });
    after(async () => {
      client?.close();
      await app?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('the CTR API: scores equal the reference predictions', async () => {
      const rows = referenceRows().slice(0, 4);
      const res = await client.ctrPredict({
        requests: rows.map((r, i) => ({ id: `u${i}`, history: r.history, candidates: [r.candidate] })),
        top_k: 1,
      });
      assert.deepEqual(res.model, { name: 'ctr-student', version: '1' });
      res.results.forEach((r, i) => {
        assert.equal(r.id, `u${i}`);
        assert.ok(Math.abs(r.scores[0]! - rows[i]!.expected) <= 1e-5);
        assert.deepEqual(r.top, [0]);
      });
    });

    test("TF Serving's REST API: predict, status and metadata by version", async () => {
      const res = await client.predict('hpt', { instances: [1.0, 2.0, 5.0] }, { version: 123 });
      assert.deepEqual(res.predictions!.flat(), [2.5, 3, 4.5]); // half_plus_two: x / 2 + 2
      const status = await client.modelStatus('hpt');
      assert.deepEqual(
        status.model_version_status.map((s) => [s.version, s.state]),
        [
          ['124', 'AVAILABLE'],
          ['123', 'AVAILABLE'],
        ],
      );
      assert.equal((await client.modelMetadata('hpt')).model_spec.version, '124');
      assert.deepEqual(await client.ready(), { status: 'ready' });
    });

    test('a 4xx arrives as CtrServeError with the stable code, not retried', async () => {
      await assert.rejects(
        client.predict('nope', { instances: [1] }),
        (err: unknown) =>
          err instanceof CtrServeError && err.status === 404 && err.code === 'CTR_ERR_MODEL_NOT_FOUND',
      );
      await assert.rejects(
        client.ctrPredict({ requests: [{ candidates: [] }] }),
        (err: unknown) => err instanceof CtrServeError && err.status === 400,
      );
    });
  },
);

/** A server answering 503 with Retry-After `n` times, then 200; it records when each request came. */
async function flakyServer(
  failures: number,
  retryAfter: string,
): Promise<{ server: Server; url: string; times: number[] }> {
  const times: number[] = [];
  const server = createServer((req, res) => {
    times.push(Date.now());
    req.resume();
    if (times.length <= failures) {
      res
        .writeHead(503, { 'retry-after': retryAfter, 'ctr-error-code': 'CTR_ERR_QUEUE_FULL' })
        .end('{"error":"full"}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"predictions":[NaN,Infinity,1.0]}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, times };
}

test('503 is retried after Retry-After, on one kept-alive connection', async () => {
  const { server, url, times } = await flakyServer(2, '1');
  const sockets = new Set<unknown>();
  server.on('connection', (s) => sockets.add(s));
  const client = new CtrServeClient({ baseUrl: url, retries: 2 });
  try {
    const res = await client.predict('m', { instances: [1] });
    assert.equal(times.length, 3);
    // A lower bound only (the client waited as told); load can only lengthen it.
    assert.ok(times[1]! - times[0]! >= 950 && times[2]! - times[1]! >= 950, `waited ${times.join(',')}`);
    assert.equal(sockets.size, 1, 'keep-alive: one connection for the three requests');
    assert.ok(Number.isNaN((res.predictions as number[])[0]));
    assert.equal((res.predictions as number[])[1], Infinity);
  } finally {
    client.close();
    server.close();
  }
});

test('503 after the last retry, or with a Retry-After beyond maxRetryDelayMs, is the error', async () => {
  const { server, url, times } = await flakyServer(10, '0');
  const client = new CtrServeClient({ baseUrl: url, retries: 1 });
  try {
    await assert.rejects(
      client.predict('m', { instances: [1] }),
      (err: unknown) =>
        err instanceof CtrServeError && err.status === 503 && err.code === 'CTR_ERR_QUEUE_FULL',
    );
    assert.equal(times.length, 2);
  } finally {
    client.close();
    server.close();
  }
  const slow = await flakyServer(10, '120');
  const impatient = new CtrServeClient({ baseUrl: slow.url, maxRetryDelayMs: 5000 });
  try {
    await assert.rejects(impatient.predict('m', { instances: [1] }), CtrServeError);
    assert.equal(slow.times.length, 1);
  } finally {
    impatient.close();
    slow.server.close();
  }
});

test('an attempt past timeoutMs fails instead of hanging', async () => {
  const server = createServer(() => {}); // never answers
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = new CtrServeClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 200 });
  try {
    await assert.rejects(client.ready(), /no complete reply within 200 ms/);
  } finally {
    client.close();
    server.closeAllConnections();
    server.close();
  }
});
