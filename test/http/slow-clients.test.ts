import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import request from 'supertest';
import { fixture, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { appFor, checkResponse } from '../helpers/app-helpers.ts';

/**
 * Opens a raw connection, sends a request line and maybe drips headers; resolves with ms until the server closed it and
 * what the server wrote first. The socket is read (resume) so that EOF is seen even when the server writes a 408 before
 * closing: which of Node's two guards drops the client (socket inactivity, silent; request timeout, 408) depends on
 * timing, and an unread 408 would keep the client's side from ever emitting 'close'.
 */
function slowClient(port: number, drip: boolean): Promise<{ ms: number; reply: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let reply = '';
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /v1/ctr:predict HTTP/1.1\r\nHost: x\r\n');
      if (drip) {
        const timer = setInterval(() => socket.write('x-slow: 1\r\n'), 100);
        socket.on('close', () => clearInterval(timer));
      }
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ ms: performance.now() - started, reply }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a ${drip ? 'dripping' : 'idle'} client for 25 s`));
    }, 25_000).unref();
  });
}

test(
  'idle and slow-dripping clients are dropped after connection_timeout_ms instead of holding the server',
  { skip: skipWithoutFixtures, timeout: 60_000 },
  async () => {
    const app = await appFor([{ name: 'broken', basePath: fixture('tfserving/bad_half_plus_two') }], {
      connection_timeout_ms: '400',
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      const [idle, drip] = await Promise.all([slowClient(port, false), slowClient(port, true)]);
      const [idleMs, dripMs] = [idle.ms, drip.ms];
      // Dropped soon after 400 ms (checked every 100 ms; the bound is loose for loaded machines), far from Node's
      // defaults (an idle socket: never; a dripping one: 30-60 s).
      assert.ok(idleMs >= 350 && idleMs < 15_000, `idle client dropped after ${idleMs} ms`);
      assert.ok(dripMs >= 350 && dripMs < 15_000, `dripping client dropped after ${dripMs} ms`);
      // Whatever was written before closing is a timeout reply, never a served request.
      for (const { reply } of [idle, drip])
        assert.ok(
          reply === '' || /^HTTP\/1\.1 408 .*\r\nctr-error-code: CTR_ERR_CLIENT_TIMEOUT\r\n/s.test(reply),
          reply,
        );
      const health = await request(app.server).get('/healthz').expect(200);
      checkResponse('GET', '/healthz', health.status, health.headers, health.text);
    } finally {
      await app.close();
    }
  },
);
