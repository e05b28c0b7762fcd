import type { FastifyInstance } from 'fastify';
import { CtrError } from '../../errors/registry.ts';
import type { ServableManager } from '../../serving/manager.ts';

/** `/healthz`: the process answers. `/readyz`: every configured model has an AVAILABLE version (else 503). */
export function registerHealthRoutes(app: FastifyInstance, manager: ServableManager): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    if (!manager.isReady()) {
      const waiting = manager
        .modelNames()
        .filter((name) => !manager.status(name).some((s) => s.state === 'AVAILABLE'));
      throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `no AVAILABLE version yet for: ${waiting.join(', ')}`);
    }
    return { status: 'ready' };
  });
}
