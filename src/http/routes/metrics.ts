import type { FastifyInstance } from 'fastify';

/** Prometheus exposition text and its content type (prom-client's Registry has this shape). */
export type MetricsSource = { text(): Promise<string>; readonly contentType: string };

/**
 * Prometheus text at `/metrics` and at TF Serving's `/monitoring/prometheus/metrics`. `text` is this process's
 * registry, or with `--workers` the primary's aggregate of every worker (src/metrics/cluster-metrics.ts).
 */
export function registerMetricsRoutes(app: FastifyInstance, source: MetricsSource): void {
  for (const url of ['/metrics', '/monitoring/prometheus/metrics']) {
    app.get(url, async (_request, reply) => {
      const text = await source.text();
      return reply.type(source.contentType).send(text);
    });
  }
}
