import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { skipWithoutBenchReference } from '../helpers/fixtures.ts';
import { appFor } from './app-helpers.ts';
import { referenceRows, writeReferenceStudent } from './reference-model.ts';

type Reply = { status: number; body: string; ms: number };

/** One POST on its own connection (no keep-alive), timed from the first byte sent to the last byte read. */
function postJson(port: number, path: string, body: string): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - t0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// The burst comes from another process, as real clients do: while the model holds this process's event loop the
// requests pile up in the kernel and arrive together (a client in this process could only send between batches).
const BURST_CLIENT = `
const http = require('node:http');
const [port, path, count] = process.argv.slice(1);
const body = require('node:fs').readFileSync(0, 'utf8');
const one = () => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
  });
  req.on('error', reject);
  req.end(body);
});
Promise.all(Array.from({ length: Number(count) }, one)).then((r) => process.stdout.write(JSON.stringify(r)));
`;

async function burst(port: number, path: string, body: string, count: number): Promise<Reply[]> {
  const child = spawn(process.execPath, ['-e', BURST_CLIENT, String(port), path, String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(body);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const [code] = await once(child, 'close');
  assert.equal(code, 0, 'the burst client failed');
  return JSON.parse(Buffer.concat(chunks).toString()) as Reply[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 80 connections each sending 1 user × 1000 candidates at once, to a server allowed 20 ms of queued model work:
// far above what it can run in that time, so most must be refused at once; the rest answered correctly.
for (const batching of ['true', 'false'])
  test(
    `over real sockets a burst beyond the queue-delay budget gets fast 503s, correct scores for the rest, and the server stays up (enable_batching=${batching})`,
    { skip: skipWithoutBenchReference, timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ctr-http-overload-'));
      await writeReferenceStudent(join(dir, 'ctr-student', '1'));
      const app = await appFor([{ name: 'ctr-student', basePath: join(dir, 'ctr-student') }], {
        max_queue_delay_ms: '20',
        enable_batching: batching,
      });
      try {
        await app.listen({ port: 0, host: '127.0.0.1' });
        const { port } = app.server.address() as AddressInfo;
        const rows = referenceRows();
        const candidates = Array.from({ length: 1000 }, (_, i) => rows[i]!.candidate);
        const body = JSON.stringify({ requests: [{ history: rows[0]!.history, candidates }] });
        // Warm-up (the admission's speed estimate needs a measured call), and the reference answer.
        let reference: Reply | undefined;
        for (let i = 0; i < 3; i++) reference = await postJson(port, '/v1/ctr:predict', body);
        assert.equal(reference!.status, 200, reference!.body);
        const expected: number[] = JSON.parse(reference!.body).results[0].scores;
        assert.ok(Math.abs(expected[0]! - rows[0]!.expected) <= 1e-5, 'row 0 matches expected.f32');
        const tensorsBefore = tf.memory().numTensors;

        const replies = await burst(port, '/v1/ctr:predict', body, 80);
        const ok = replies.filter((r) => r.status === 200);
        const shed = replies.filter((r) => r.status === 503);
        assert.equal(ok.length + shed.length, replies.length, `statuses: ${replies.map((r) => r.status)}`);
        assert.ok(shed.length >= 40, `only ${shed.length} of 80 were shed`);
        assert.ok(ok.length >= 1, 'nothing was served');
        for (const r of shed) assert.equal(JSON.parse(r.body).code, 'CTR_ERR_QUEUE_FULL');
        for (const r of ok) assert.deepEqual(JSON.parse(r.body).results[0].scores, expected);
        // Refusals do not wait for the model: they come back faster than the answers.
        assert.ok(
          median(shed.map((r) => r.ms)) < median(ok.map((r) => r.ms)),
          `503 median ${median(shed.map((r) => r.ms))} ms, 200 median ${median(ok.map((r) => r.ms))} ms`,
        );

        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(health.status, 200);
        await health.arrayBuffer();
        const after = await postJson(port, '/v1/ctr:predict', body);
        assert.equal(after.status, 200, 'the server answers again once the burst is over');
        assert.equal(tf.memory().numTensors, tensorsBefore);
      } finally {
        await app.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
