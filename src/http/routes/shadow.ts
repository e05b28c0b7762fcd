import type { FastifyInstance } from 'fastify';
import type { ShadowJson } from '../../shadow/shadow-pair.ts';

/**
 * `GET /v1/shadow` (docs/shadow.md): every student/teacher pair with its request counts and agreement, pooled over all
 * workers. Without shadow scoring configured the list is empty.
 */
export function registerShadowRoutes(
  app: FastifyInstance,
  shadow: { json(): Promise<ShadowJson> } | undefined,
): void {
  app.get('/v1/shadow', async (_request, reply) => {
    const body: ShadowJson = shadow ? await shadow.json() : { pairs: [] };
    return reply.type('application/json').send(JSON.stringify(body));
  });
}
