import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The access log (docs/api.md, logging): Fastify's two lines per request ("incoming request", "request
 * completed") are off (`disableRequestLogging`); instead one line per answered request, for a sample of them
 * (`--access_log_sample_rate`, at info) and for every request slower than `--slow_request_ms` (at warn).
 * Failed requests are logged where they fail (error-reply.ts: 4xx at info, 5xx at error), whatever the sample.
 */
export type AccessLogOptions = {
  readonly sampleRate: number;
  readonly slowMs: number;
  /** Uniform [0, 1); Math.random unless a test seeds one. */
  readonly random?: () => number;
};

export function accessLogHook(
  opts: AccessLogOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const random = opts.random ?? Math.random;
  return async (request, reply) => {
    const ms = reply.elapsedTime;
    const slow = ms >= opts.slowMs;
    if (!slow && !(opts.sampleRate > 0 && random() < opts.sampleRate)) return;
    const line = {
      req: { method: request.method, url: request.url },
      res: { statusCode: reply.statusCode },
      responseTime: ms,
    };
    if (slow) request.log.warn(line, `slow request (≥ ${opts.slowMs} ms)`);
    else request.log.info(line, 'request completed');
  };
}
