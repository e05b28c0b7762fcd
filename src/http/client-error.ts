import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { CtrError, type ErrorCode } from '../errors/registry.ts';
import { errorReplyParts } from './error-reply.ts';

/**
 * Fastify's `clientErrorHandler`: what a connection gets when Node's HTTP parser refuses its bytes (a malformed
 * request line, header, Content-Length or chunk), its headers overflow, or it stops sending mid-request. There is
 * no request (no URL, so no API to pick an error shape from), so the answer is written to the socket directly, in
 * the CTR error shape with the registry code in `ctr-error-code`, as every other refusal; then the socket is
 * closed, since its byte stream cannot be trusted. Fastify's default answers the same statuses without a code.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer (Node's own clientError handler returns there too).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const ctr = clientErrorOf(err);
  this.log.debug({ code: ctr.code, cause: err.code }, 'client error');
  if (socket.writable) {
    // No URL: the CTR error shape, with the headers every error reply carries (error-reply.ts).
    const { headers, body } = errorReplyParts('', ctr);
    const text = JSON.stringify(body);
    const head = Object.entries({
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      connection: 'close',
    }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`HTTP/1.1 ${ctr.statusCode} ${STATUS_CODES[ctr.statusCode]}\r\n${head.join('')}\r\n${text}`);
  }
  socket.destroy();
}

function clientErrorOf(err: NodeJS.ErrnoException): CtrError {
  const [code, message]: [ErrorCode, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ['CTR_ERR_HEADERS_TOO_LARGE', 'the request headers are larger than the limit']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['CTR_ERR_CLIENT_TIMEOUT', 'the request was not received in time']
        : ['CTR_ERR_MALFORMED_HTTP', `malformed HTTP request (${err.code ?? 'parse error'})`];
  return new CtrError(code, message);
}
