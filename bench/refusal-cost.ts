// Server CPU per overload refusal (issue 9; bench/README.md "Overload"), apart from any model time:
//   node --import tsx bench/refusal-cost.ts [--seconds=4] [--connections=128] [--path=/v1/ctr:predict]
// One app in this process (buildApp, --workers=1) serves model "m", a stub with the CTR signature whose calls are
// held until the end: one request is admitted and held, max_queue_delay_ms is 0.001 (under the 1 ms prior cost of
// the held call), so every request of the load is refused. The load is bench/overload.ts's client (a process of
// its own: keep-alive connections that each send 1 × 1000 again the moment their last reply arrives). Prints this
// process's user + system CPU per refusal and the client's refusal latency. Copy the file into another tree to
// compare (`node --import tsx bench/refusal-cost.ts` there, alternating).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/serving-config.ts';
import type { HostTensor, LoadedModel, TensorSpec } from '../src/graph/model.ts';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '128' },
    path: { type: 'string', default: '/v1/ctr:predict' },
  },
});
const REPO = fileURLToPath(new URL('..', import.meta.url));

let release!: () => void;
const held = new Promise<void>((resolve) => (release = resolve));
let holdCalls = false; // from the held request on (load-time calls, if any, run)
const spec = (dtype: TensorSpec['dtype'], shape: number[]): TensorSpec => ({ tensorName: '', dtype, shape });
const stub: LoadedModel = {
  info: {
    format: 'frozen_graph',
    tags: [],
    defaultSignature: 'serving_default',
    backend: 'wasm',
    signatures: {
      serving_default: {
        name: 'serving_default',
        methodName: 'tensorflow/serving/predict',
        inputs: { history: spec('DT_INT32', [-1, 12]), candidate: spec('DT_INT32', [-1]) },
        outputs: { ctr: spec('DT_FLOAT', [-1]) },
      },
    },
  },
  predict: () => Promise.reject(new Error('host calls only')),
  async predictHost(inputs): Promise<Record<string, HostTensor>> {
    if (holdCalls) await held;
    const rows = inputs.candidate?.shape[0] ?? 1;
    return { ctr: { dtype: 'DT_FLOAT', shape: [rows], values: new Float32Array(rows) } };
  },
  dispose: () => {},
};

const base = await mkdtemp(join(tmpdir(), 'refusal-cost-'));
await mkdir(join(base, '1'));
const config = loadConfig({
  flags: {
    model_name: 'm',
    model_base_path: base,
    max_queue_delay_ms: '0.001',
    log_level: 'silent',
    file_system_poll_wait_seconds: '0',
    workers: '1',
  },
});
const app = await buildApp(config, { loadModel: async () => stub, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
holdCalls = true;
const holding = app.ctr.service.predict({
  model: 'm',
  inputs: {
    history: { dtype: 'DT_INT32', shape: [1, 12], values: new Int32Array(12) },
    candidate: { dtype: 'DT_INT32', shape: [1], values: new Int32Array(1) },
  },
});
const body = JSON.stringify({
  requests: [
    {
      history: [...Array(12).keys()].map((i) => i + 1),
      candidates: [...Array(1000).keys()].map((i) => (i % 99) + 1),
    },
  ],
});
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${opts.path}`;
const loadBefore = loadavg()[0]!;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const client = spawn(
  process.execPath,
  ['--import', 'tsx', join(REPO, 'bench/overload.ts'), url, opts.connections, opts.seconds],
  { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] },
);
client.stdin.end(body);
const chunks: Buffer[] = [];
client.stdout.on('data', (c: Buffer) => chunks.push(c));
await once(client, 'close');
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - t0;
const r = JSON.parse(Buffer.concat(chunks).toString()) as {
  refused: { n: number; p50Ms: number; p99Ms: number; maxMs: number };
  answered: { n: number };
  other: number;
};
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(
  `${JSON.stringify({
    path: opts.path,
    refused: r.refused.n,
    notRefused: r.answered.n + r.other,
    cpuUsPerRefusal: Math.round((1000 * cpuMs) / Math.max(1, r.refused.n)),
    shareOfCore: Number((cpuMs / wallMs).toFixed(2)),
    refusedMs: [r.refused.p50Ms, r.refused.p99Ms, r.refused.maxMs],
    load: [loadBefore, loadavg()[0]!].map((l) => l.toFixed(1)).join(' / '),
  })}\n`,
);
release();
await holding;
await app.close();
await rm(base, { recursive: true, force: true });
