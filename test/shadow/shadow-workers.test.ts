import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildCtrBatch, ctrBatchInputs, type CtrUserRequest } from '../../src/ctr/ctr-batch.ts';
import { loadCtrModel } from '../../src/ctr/shared-history-variant.ts';
import { assertClose } from '../helpers/fixtures.ts';
import { ctrTraffic, writeCtrModel } from '../helpers/ctr-models.ts';
import { startServer } from '../helpers/serve-process.ts';

async function probabilities(dir: string, requests: CtrUserRequest[], L: number): Promise<number[]> {
  const model = await loadCtrModel(dir);
  try {
    return Array.from(
      (await model.predictHost(ctrBatchInputs(buildCtrBatch(requests, L)))).ctr!.values as Float32Array,
    );
  } finally {
    model.dispose();
  }
}

test(
  "with --workers=2, GET /v1/shadow on any worker pools both workers' shadow scoring",
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-shadow-workers-'));
    await writeCtrModel(dir, 'ctr-student', { seed: 3, historyLength: 6, noise: 0.2 });
    await writeCtrModel(dir, 'ctr-teacher', { seed: 3, historyLength: 6 });
    const configFile = join(dir, 'models.json');
    await writeFile(
      configFile,
      JSON.stringify({
        default_model: 'ctr-student',
        model_config_list: [
          {
            name: 'ctr-student',
            base_path: join(dir, 'ctr-student'),
            shadow_model: 'ctr-teacher',
            shadow_sample_rate: 1,
          },
          { name: 'ctr-teacher', base_path: join(dir, 'ctr-teacher') },
        ],
      }),
    );
    const server = startServer([
      '--rest_api_port=0',
      '--port=0',
      '--rest_api_host=127.0.0.1',
      '--workers=2',
      `--model_config_file=${configFile}`,
      '--file_system_poll_wait_seconds=0',
      '--log_level=warn',
    ]);
    try {
      const url = await server.url;
      const batches = Array.from({ length: 16 }, (_, i) => ctrTraffic(100 + i, 2));
      for (const requests of batches) {
        // A fresh connection each time: the cluster primary hands connections to the workers round-robin.
        const res = await fetch(`${url}/v1/ctr:predict`, {
          method: 'POST',
          body: JSON.stringify({ requests }),
          headers: { connection: 'close', 'content-type': 'application/json' },
        });
        assert.equal(res.status, 200, await res.text());
      }
      let pair: any;
      for (let i = 0; i < 300; i++) {
        const body = (await (
          await fetch(`${url}/v1/shadow`, { headers: { connection: 'close' } })
        ).json()) as any;
        pair = body.pairs[0];
        if (pair.requests.scored + pair.requests.errors >= batches.length) break;
        await sleep(50);
      }
      assert.deepEqual(pair.requests, { sampled: 16, scored: 16, dropped: 0, errors: 0, timeouts: 0 });
      const all = batches.flat();
      assert.equal(
        pair.predictions,
        all.reduce((n, r) => n + r.candidates.length, 0),
      );
      const s = await probabilities(join(dir, 'ctr-student', '1'), all, 6);
      const t = await probabilities(join(dir, 'ctr-teacher', '1'), all, 6);
      const mae = s.reduce((a, x, i) => a + Math.abs(x - t[i]!), 0) / s.length;
      assertClose([pair.cumulative.mae, pair.window.mae], [mae, mae], 1e-5, 1e-7);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /^ctr_shadow_total\{outcome="scored"\} 16$/m);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, server.output());
    } finally {
      server.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  },
);
