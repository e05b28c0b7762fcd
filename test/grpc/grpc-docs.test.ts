import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { GrpcServer } from '../../src/grpc/grpc-server.ts';
import { grpcServices } from '../../src/grpc/protos.ts';
import { appFor } from '../helpers/app-helpers.ts';
import { fixture, REPO_ROOT, skipWithoutFixtures } from '../helpers/fixtures.ts';
import { grpcError, grpcFor, type GrpcClients } from '../helpers/grpc-client.ts';

// gRPC's UNIMPLEMENTED (grpc/grpc doc/statuscodes.md): what grpc-js answers for a method with no handler.
const UNIMPLEMENTED = 12;

/** Every rpc of the served services, as the vendored .proto files declare them (`/package.Service/Method`). */
function rpcs(): { client: keyof Omit<GrpcClients, 'close'>; method: string; path: string }[] {
  const services = grpcServices();
  const out = [];
  for (const [client, def] of [
    ['prediction', services.predictionService],
    ['model', services.modelService],
    ['inference', services.inferenceService],
  ] as const) {
    for (const [method, m] of Object.entries(def)) out.push({ client, method, path: m.path });
  }
  return out;
}

describe(
  'drift: every rpc of the vendored services is served, documented and counted',
  { skip: skipWithoutFixtures },
  () => {
    let app: FastifyInstance;
    let grpc: { server: GrpcServer; clients: GrpcClients };
    before(async () => {
      app = await appFor([{ name: 'half', basePath: fixture('tfserving/saved_model_half_plus_two_cpu') }]);
      grpc = await grpcFor(app);
    });
    after(async () => {
      grpc?.clients.close();
      await grpc?.server.stop();
      await app?.close();
    });

    test('no rpc answers UNIMPLEMENTED (an empty request reaches a handler)', async () => {
      const all = rpcs();
      assert.ok(all.length >= 13, `${all.length} rpcs: the service definitions were not read`);
      for (const { client, method } of all) {
        const err = await grpc.clients[client](method, {}).then(
          () => undefined,
          (e: { code: number; details: string }) => e,
        );
        if (err) assert.notEqual(err.code, UNIMPLEMENTED, `${method}: ${err.details}`);
      }
      // A failing call is a coded one: the registry code rides in the trailer.
      const err = await grpcError(grpc.clients.model('HandleReloadConfigRequest', {}));
      assert.equal(err.ctrCode, 'CTR_ERR_INVALID_CONFIG');
    });

    test('docs/api.md names every rpc, and ctr_grpc_requests_total has a series per rpc called', async () => {
      const api = readFileSync(join(REPO_ROOT, 'docs/api.md'), 'utf8');
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      for (const { method, path } of rpcs()) {
        assert.match(api, new RegExp(`\\b${method}\\b`), `docs/api.md does not name ${method}`);
        assert.ok(text.includes(`ctr_grpc_requests_total{method="${path}"`), `no series for ${path}`);
      }
    });
  },
);
