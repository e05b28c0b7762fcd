import type { FastifyInstance } from 'fastify';

/** Prometheus exposition text and its content type (prom-client's Registry has this shape). */
export type MetricsSource = { text(): Promise<string>; readonly contentType: string };

/**
 * Prometheus text at `/metrics`, at TF Serving's `/monitoring/prometheus/metrics`, and at the path of
 * `--monitoring_config_file`'s prometheus_config (hidden from openapi.yaml: it is the operator's). `text` is this
 * process's registry, or with `--workers` the primary's aggregate of every worker (src/metrics/cluster-metrics.ts).
 */
export function registerMetricsRoutes(app: FastifyInstance, source: MetricsSource): void {
  const configured = app.ctr.config.prometheusPath;
  const urls = ['/metrics', '/monitoring/prometheus/metrics'];
  for (const url of [...urls, ...(configured && !urls.includes(configured) ? [configured] : [])]) {
    const schema = urls.includes(url) ? undefined : { hide: true };
    app.get(url, { schema }, async (_request, reply) => {
      const text = await source.text();
      return reply.type(source.contentType).send(text);
    });
  }
}
