import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { ERRORS } from '../../src/errors/registry.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';
import { appFor, checkResponse } from '../helpers/app-helpers.ts';

/** Writes raw bytes on a fresh connection and resolves with everything the server wrote before closing it. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(reply));
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; it wrote ${JSON.stringify(reply)}`));
    }, 10_000).unref();
  });
}

/**
 * Bytes Node's HTTP parser refuses never reach a route: src/http/client-error.ts answers them on the socket with
 * the registry's status and code (issue 9: every bad request a coded 4xx), and the server goes on serving.
 */
describe('requests that are not valid HTTP', () => {
  let app: FastifyInstance;
  let port = 0;
  before(async () => {
    app = await appFor([{ name: 'ctr-student', basePath: join(REPO_ROOT, 'models/ctr-student') }]);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app?.close();
  });

  const cases: [string, string, keyof typeof ERRORS][] = [
    [
      'a header line without a colon',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      'CTR_ERR_MALFORMED_HTTP',
    ],
    [
      'a Content-Length that is not a number',
      'POST /v1/ctr:predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
      'CTR_ERR_MALFORMED_HTTP',
    ],
    [
      'a chunk size that is not hexadecimal',
      'POST /v1/ctr:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      'CTR_ERR_MALFORMED_HTTP',
    ],
    [
      'headers over the size limit',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
      'CTR_ERR_HEADERS_TOO_LARGE',
    ],
  ];
  for (const [what, bytes, code] of cases) {
    test(`${what}: ${ERRORS[code].status} ${code}, then the connection closes`, async () => {
      const reply = await raw(port, bytes);
      const [head = '', body = ''] = reply.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${ERRORS[code].status} `), reply);
      assert.match(head, new RegExp(`\\r\\nctr-error-code: ${code}\\r\\n`, 'i'), reply);
      const json = JSON.parse(body) as { code: string; statusCode: number };
      assert.equal(json.code, code);
      assert.equal(json.statusCode, ERRORS[code].status);
      const health = await request(app.server).get('/healthz').expect(200);
      checkResponse('GET', '/healthz', health.status, health.headers, health.text);
    });
  }
});
