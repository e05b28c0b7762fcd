import autocannon from 'autocannon';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCtrServe } from './child-server.ts';
import { BENCH_MODEL } from './model-repo.ts';
import type { BenchReference } from './reference.ts';

export type BatchingRow = {
  readonly config: string;
  readonly scenario: string;
  readonly connections: number;
  readonly reqPerSec: number;
  readonly predPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failed: number;
};

export type BatchingSetting = { readonly maxBatchSize: number; readonly batchTimeoutMs: number } | 'off';

export type BatchingOptions = {
  readonly durationSec: number;
  readonly connections: number;
  readonly settings: readonly BatchingSetting[];
};

/**
 * Tunes the batcher by measurement: small requests (TF Serving `:predict` with one row, CTR with 1 user × 10
 * candidates) from many connections against one `ctr-serve` process (one core, so the batcher alone decides),
 * for each batching setting, written as TF Serving's batching parameters file.
 */
export async function runBatching(
  ref: BenchReference,
  modelBase: string,
  root: string,
  opts: BatchingOptions,
): Promise<BatchingRow[]> {
  const rows: BatchingRow[] = [];
  const L = ref.historyLength;
  const history = Array.from(ref.history.subarray(0, L));
  const scenarios = [
    {
      name: 'TF Serving :predict 1 row',
      path: `/v1/models/${BENCH_MODEL}:predict`,
      body: JSON.stringify({ instances: [{ history, candidate: ref.candidate[0] }] }),
      rows: 1,
    },
    {
      name: '/v1/ctr:predict 1 × 10',
      path: '/v1/ctr:predict',
      body: JSON.stringify({
        requests: [{ history, candidates: Array.from(ref.candidate.subarray(0, 10)) }],
      }),
      rows: 10,
    },
  ];
  for (const [i, setting] of opts.settings.entries()) {
    const flags = [
      '--workers=1',
      '--file_system_poll_wait_seconds=0',
      `--model_name=${BENCH_MODEL}`,
      `--model_base_path=${modelBase}`,
    ];
    let label = 'batching off';
    if (setting !== 'off') {
      const file = join(root, `batching-${i}.txt`);
      const micros = Math.round(setting.batchTimeoutMs * 1000);
      const text = `max_batch_size { value: ${setting.maxBatchSize} }\nbatch_timeout_micros { value: ${micros} }\n`;
      await writeFile(file, text);
      flags.push('--enable_batching', `--batching_parameters_file=${file}`);
      label = `max_batch_size ${setting.maxBatchSize}, timeout ${setting.batchTimeoutMs} ms`;
    }
    const server = await startCtrServe(flags);
    try {
      for (const s of scenarios) {
        // warm-up: a fresh server needs a few seconds of traffic before its JIT and wasm heap settle
        await autocannon({
          url: `${server.url}${s.path}`,
          method: 'POST',
          body: s.body,
          connections: 8,
          duration: 3,
        });
        const r = await autocannon({
          url: `${server.url}${s.path}`,
          method: 'POST',
          body: s.body,
          headers: { 'content-type': 'application/json' },
          connections: opts.connections,
          duration: opts.durationSec,
        });
        rows.push({
          config: label,
          scenario: s.name,
          connections: opts.connections,
          reqPerSec: r.requests.average,
          predPerSec: r.requests.average * s.rows,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
          failed: r.non2xx + r.errors,
        });
      }
    } finally {
      await server.stop();
    }
  }
  return rows;
}
