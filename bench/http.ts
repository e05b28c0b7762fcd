import autocannon from 'autocannon';
import { CtrError } from '../src/errors/registry.ts';
import { startCtrServe, startNoopServer, type ChildServer } from './child-server.ts';
import { BENCH_MODEL } from './model-repo.ts';
import { pacedLoadInProcess } from './paced-load-process.ts';
import type { BenchReference } from './reference.ts';

export type HttpRow = {
  readonly scenario: string;
  readonly connections: number;
  /** Requests per second offered (evenly paced: paced-load.ts), or 'max' (autocannon, closed loop). */
  readonly rate: string;
  readonly reqPerSec: number;
  readonly predPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  /** For paced rows: the load process's own stalls (paced-load.ts). */
  readonly clientStalls?: string;
};

export type HttpOptions = {
  readonly durationSec: number;
  readonly connections: readonly number[];
  readonly workers: number;
  /** Extra `ctr-serve serve` flags (batching). */
  readonly serveFlags?: readonly string[];
};

const OVERLOAD_CONNECTIONS = 128;

export type Scenario = { name: string; url: string; body: string; rowsPerRequest: number };

/**
 * End to end over loopback: `ctr-serve serve` (with `workers` processes) and a no-op Fastify route as the HTTP
 * ceiling, each in its own process, driven by autocannon from this one. Before any load, one reply of each
 * kind is checked against expected.f32 (CTR_ERR_BENCH_CHECK_FAILED otherwise). Then: throughput and latency of
 * CTR 1 user × 1000 candidates, TF Serving `:predict` with 1000 rows and the no-op route at each connection
 * count; a single-row CTR request at one connection (latency floor); and p99 of 1 × 1000 at half the peak rate.
 */
export async function runHttp(ref: BenchReference, modelBase: string, opts: HttpOptions): Promise<HttpRow[]> {
  const rows: HttpRow[] = [];
  const noop = await startNoopServer();
  let server: ChildServer | undefined;
  try {
    server = await startCtrServe([
      `--model_name=${BENCH_MODEL}`,
      `--model_base_path=${modelBase}`,
      `--workers=${opts.workers}`,
      '--file_system_poll_wait_seconds=0',
      ...(opts.serveFlags ?? []),
    ]);
    const ctr1000 = ctrScenario(ref, server.url, 1000);
    const tf1000 = tfServingScenario(ref, server.url, 1000);
    await checkCtr(ref, ctr1000);
    await checkTfServing(ref, tf1000);
    const noopScenario = {
      name: 'no-op Fastify route (same body)',
      url: `${noop.url}/noop`,
      body: ctr1000.body,
      rowsPerRequest: 0,
    };
    for (const scenario of [noopScenario, ctr1000, tf1000]) {
      await load(scenario, 4, 1); // warm-up (JIT, the wasm heap's growth), not measured
      for (const connections of opts.connections) {
        rows.push(await load(scenario, connections, opts.durationSec));
      }
    }
    rows.push(await load(ctrScenario(ref, server.url, 1), 1, opts.durationSec));
    const peak = Math.max(...rows.filter((r) => r.scenario === ctr1000.name).map((r) => r.reqPerSec));
    const half = Math.max(1, Math.floor(peak / 2));
    // Round-robin over the connection pool (a load balancer's way), then Node's default agent (LIFO: the most
    // recently freed connection first, which keeps sending to the worker that just answered): paced-load.ts.
    rows.push(await paced(ctr1000, half, opts.durationSec, 'fifo'));
    rows.push(await paced(ctr1000, half, opts.durationSec, 'lifo'));
    // Overload: far more connections than the model keeps up with; admission control sheds the excess (503).
    rows.push({ ...(await load(ctr1000, OVERLOAD_CONNECTIONS, opts.durationSec)), rate: 'max (overload)' });
    return rows;
  } finally {
    await server?.stop();
    await noop.stop();
  }
}

async function load(
  s: Scenario,
  connections: number,
  durationSec: number,
  overallRate?: number,
): Promise<HttpRow> {
  const result = await autocannon({
    url: s.url,
    method: 'POST',
    body: s.body,
    headers: { 'content-type': 'application/json' },
    connections,
    duration: durationSec,
    ...(overallRate ? { overallRate } : {}),
  });
  // Answers only: shed requests (503) are counted under "failed", not as throughput.
  const answered = result['2xx'] / Math.max(1, result['2xx'] + result.non2xx);
  const reqPerSec = result.requests.average * answered;
  return {
    scenario: s.name,
    connections,
    rate: overallRate ? `${overallRate}/s (half peak)` : 'max',
    reqPerSec,
    predPerSec: reqPerSec * s.rowsPerRequest,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/**
 * Half the peak rate, evenly paced (paced-load.ts says why not autocannon's rate), from a process of its own after
 * as long again unmeasured at the same rate (paced-load-process.ts).
 */
async function paced(
  s: Scenario,
  ratePerSec: number,
  durationSec: number,
  scheduling: 'fifo' | 'lifo',
): Promise<HttpRow> {
  const r = await pacedLoadInProcess(s.url, s.body, ratePerSec, durationSec, scheduling, durationSec);
  return {
    scenario: s.name,
    connections: r.maxInFlight,
    rate: `${ratePerSec}/s even (half peak), ${scheduling === 'fifo' ? 'round-robin' : 'LIFO'} pool`,
    reqPerSec: r.reqPerSec,
    predPerSec: r.reqPerSec * s.rowsPerRequest,
    p50Ms: Math.round(r.p50Ms * 10) / 10,
    p99Ms: Math.round(r.p99Ms * 10) / 10,
    non2xx: r.failed,
    errors: 0,
    clientStalls:
      `GC ${r.clientGcPauses} pauses, ${r.clientGcMs.toFixed(1)} ms in all (longest ${r.clientMaxGcMs.toFixed(1)} ms); ` +
      `event-loop delay up to ${r.clientMaxLoopDelayMs.toFixed(1)} ms`,
  };
}

export function ctrScenario(ref: BenchReference, url: string, candidates: number): Scenario {
  const L = ref.historyLength;
  const body = {
    requests: [
      {
        id: 'u0',
        history: Array.from(ref.history.subarray(0, L)),
        candidates: Array.from(ref.candidate.subarray(0, candidates)),
      },
    ],
  };
  return {
    name: `/v1/ctr:predict 1 × ${candidates}`,
    url: `${url}/v1/ctr:predict`,
    body: JSON.stringify(body),
    rowsPerRequest: candidates,
  };
}

export function tfServingScenario(ref: BenchReference, url: string, rows: number): Scenario {
  const L = ref.historyLength;
  const instances = Array.from({ length: rows }, (_, i) => ({
    history: Array.from(ref.history.subarray(i * L, (i + 1) * L)),
    candidate: ref.candidate[i],
  }));
  return {
    name: `TF Serving :predict ${rows} rows`,
    url: `${url}/v1/models/${BENCH_MODEL}:predict`,
    body: JSON.stringify({ instances }),
    rowsPerRequest: rows,
  };
}

async function post(s: Scenario): Promise<unknown> {
  const res = await fetch(s.url, {
    method: 'POST',
    body: s.body,
    headers: { 'content-type': 'application/json' },
  });
  const json: unknown = await res.json();
  if (res.status !== 200)
    throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `${s.name}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function checkCtr(ref: BenchReference, s: Scenario): Promise<void> {
  const reply = (await post(s)) as { results?: { scores?: number[] }[] };
  const scores = reply.results?.[0]?.scores ?? [];
  // Row 0 of the reference is (history 0, candidate 0): the first score must be expected[0].
  const ok =
    scores.length === s.rowsPerRequest &&
    scores.every(Number.isFinite) &&
    Math.abs(scores[0] - ref.expected[0]) <= 1e-5;
  if (!ok)
    throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `${s.name}: the reply does not match expected.f32`);
}

async function checkTfServing(ref: BenchReference, s: Scenario): Promise<void> {
  const reply = (await post(s)) as { predictions?: { ctr?: number }[] };
  const preds = reply.predictions ?? [];
  const bad = preds.findIndex((p, i) => !(Math.abs((p.ctr ?? NaN) - ref.expected[i]) <= 1e-5));
  if (preds.length !== s.rowsPerRequest || bad >= 0) {
    throw new CtrError(
      'CTR_ERR_BENCH_CHECK_FAILED',
      `${s.name}: prediction ${bad} does not match expected.f32`,
    );
  }
}
