// Student latency with shadow scoring off and on, against a deliberately slow (compute-heavy) teacher.
//   node --import tsx bench/shadow-latency.ts [--requests=1000] [--rate=100] [--candidates=100] [--rates=0,0.05,0.2]
// Each configuration starts `ctr-serve serve --workers=1` as its own process (so the client does not share its
// event loop), sends CTR requests at a fixed open-loop rate (1 user × N candidates) over keep-alive connections,
// and reports the student's p50/p99 latency and how many shadow jobs were scored or dropped.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildReferenceStudentGraph, type ReferenceStudentWeights } from './reference-student.ts';
import { encodeGraphDef } from '../src/graph/proto/encode.ts';
import { loadBenchReference } from './reference.ts';

const REPO = new URL('..', import.meta.url).pathname;
const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    candidates: { type: 'string', default: '100' },
    rates: { type: 'string', default: '0,0.05,0.2' },
  },
});

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A teacher with ~28× the student's multiply-adds per row: 64-dim embeddings, a 192-512-256-1 MLP. */
function heavyTeacher(vocab: number, L: number): ReferenceStudentWeights {
  const r = rng(42);
  const arr = (n: number, scale: number) => Float32Array.from({ length: n }, () => (r() - 0.5) * 2 * scale);
  const D = 64;
  const E = arr(vocab * D, 0.5);
  E.fill(0, 0, D);
  return {
    E,
    W1: arr(3 * D * 512, 0.1),
    b1: arr(512, 0.1),
    W2: arr(512 * 256, 0.06),
    b2: arr(256, 0.1),
    W3: arr(256, 0.1),
    b3: arr(1, 0.1),
    vocabSize: vocab,
    embeddingDim: D,
    historyLength: L,
  };
}

const IO = {
  inputs: { history: 'history:0', candidate: 'candidate:0' },
  outputs: { ctr: 'ctr:0', logit: 'logit:0' },
};

async function writeModel(base: string, name: string, w: ReferenceStudentWeights): Promise<void> {
  const dir = join(base, name, '1');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(buildReferenceStudentGraph(w)));
  await writeFile(join(dir, 'model.json'), JSON.stringify({ ...IO, vocab_size: w.vocabSize }));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(modelsDir: string, sampleRate: number) {
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'bin/ctr-serve.js'),
      'serve',
      `--model_config_file=${join(modelsDir, 'models.json')}`,
      '--rest_api_port=0',
      '--port=0',
      '--rest_api_host=127.0.0.1',
      '--workers=1',
      '--file_system_poll_wait_seconds=0',
      '--log_level=error',
      `--shadow_sample_rate=${sampleRate}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const n = Number(opts.requests);
  const intervalMs = 1000 / Number(opts.rate);
  const r = rng(7);
  const body = () =>
    JSON.stringify({
      requests: [
        {
          history: Array.from({ length: 30 }, () => 1 + Math.floor(r() * 19999)),
          candidates: Array.from({ length: Number(opts.candidates) }, () => 1 + Math.floor(r() * 19999)),
        },
      ],
    });
  const send = async (): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${url}/v1/ctr:predict`, { method: 'POST', body: body() });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 50; i++) await send(); // warm-up
  const latencies: Promise<number>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const wait = t0 + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    latencies.push(send());
  }
  const ms = (await Promise.all(latencies)).sort((a, b) => a - b);
  await sleep(500);
  const shadow = (await (await fetch(`${url}/v1/shadow`)).json()) as {
    pairs: { requests: Record<string, number> }[];
  };
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  return { sampleRate, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), shadow: shadow.pairs[0]?.requests };
}

const ref = await loadBenchReference(join(REPO, '../shared/bench-reference'));
const dir = await mkdtemp(join(tmpdir(), 'ctr-shadow-bench-'));
try {
  await writeModel(dir, 'ctr-student', ref.weights);
  await writeModel(dir, 'ctr-teacher', heavyTeacher(ref.weights.vocabSize, ref.weights.historyLength));
  await writeFile(
    join(dir, 'models.json'),
    JSON.stringify({
      default_model: 'ctr-student',
      model_config_list: [
        { name: 'ctr-student', base_path: join(dir, 'ctr-student'), shadow_model: 'ctr-teacher' },
        { name: 'ctr-teacher', base_path: join(dir, 'ctr-teacher') },
      ],
    }),
  );
  console.log(
    `${opts.requests} requests at ${opts.rate}/s, 1 user × ${opts.candidates} candidates, one worker; teacher ≈ 28× the student's multiply-adds per row`,
  );
  console.log(
    '| shadow sample rate | student p50 (ms) | student p99 (ms) | shadow sampled / scored / dropped |',
  );
  console.log('|---|---|---|---|');
  for (const rate of opts.rates.split(',').map(Number)) {
    const res = await run(dir, rate);
    const s = res.shadow;
    console.log(
      `| ${rate} | ${res.p50.toFixed(2)} | ${res.p99.toFixed(2)} | ${s ? `${s.sampled} / ${s.scored} / ${s.dropped}` : '-'} |`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
