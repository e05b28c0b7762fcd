// A/B of two ctr-serve trees (e.g. a commit's worktree against main) with one client and the same request bodies:
//   node --import tsx bench/ab.ts --a=/work/wt-base --b=. [--rounds=4] [--duration=3] [--model-runs=4]
//     [--sections=http,model] [--only=ctr|tf] [--reference=../shared/bench-reference]
// http: each tree's `ctr-serve serve --workers=1` pinned to core 0 (`taskset -c 0`), started afresh per round, in
// the order A B, B A, A B, ...; bench/http.ts's bodies (written once, sent to both) from autocannon's CLI pinned to
// core 1; req/s and the server's CPU ms per answered request (/proc/PID/stat). Both trees' replies are first
// compared with each other and with expected.f32. model: each tree's own bench/model-only.ts in a fresh process on
// core 0 (bench/ab-model-child.ts), alternating, `--model-runs` processes per tree. bench/README.md shows a run.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, stop, waitUntil, type ChildServer } from './child-server.ts';
import { ctrScenario, tfServingScenario, type Scenario } from './http.ts';
import { BENCH_MODEL, writeReferenceRepo } from './model-repo.ts';
import { closedLoop, processTreeCpuMs } from './peer-server.ts';
import { abRows, abTable, type Sample } from './ab-table.ts';
import { checkReplies, type Body } from './ab-check.ts';
import { loadBenchReference, type BenchReference } from './reference.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: resolve(HERE, '..') },
    // Extra `serve` flags per side, space-separated (e.g. to equalise logging or admission between versions).
    'a-flags': { type: 'string', default: '' },
    'b-flags': { type: 'string', default: '' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '3' },
    'model-runs': { type: 'string', default: '4' },
    sections: { type: 'string', default: 'http,inject,model' },
    'inject-requests': { type: 'string', default: '1000' },
    // Only one route family's bodies ('ctr' or 'tf'): a loaded machine's minutes go to the rows in question.
    only: { type: 'string', default: '' },
    reference: { type: 'string', default: resolve(HERE, '../../shared/bench-reference') },
  },
});
if (!opts.a) throw new Error('--a=TREE is required (a worktree of the commit to compare against)');
const trees = { A: resolve(opts.a), B: resolve(opts.b) };
const extra = {
  A: opts['a-flags'].split(' ').filter(Boolean),
  B: opts['b-flags'].split(' ').filter(Boolean),
};
const sections = opts.sections.split(',');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const ref = await loadBenchReference(opts.reference);
const root = await mkdtemp(join(tmpdir(), 'ctr-ab-'));
try {
  const repo = await writeReferenceRepo(ref, root);
  process.stdout.write(
    `A = ${trees.A} ${extra.A.join(' ')}\nB = ${trees.B} ${extra.B.join(' ')}\nstart ${new Date().toISOString()}, load ${load()}\n`,
  );
  if (sections.includes('http')) await httpAb(ref, repo.base, root);
  if (sections.includes('inject')) await injectAb(repo.base, root);
  if (sections.includes('model')) await modelAb(repo.version);
  process.stdout.write(`end ${new Date().toISOString()}, load ${load()}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}

async function writeBodies(dir: string): Promise<Body[]> {
  const L = ref.historyLength;
  const columnar = {
    inputs: {
      history: Array.from({ length: 1000 }, (_, i) => Array.from(ref.history.subarray(i * L, (i + 1) * L))),
      candidate: Array.from(ref.candidate.subarray(0, 1000)),
    },
  };
  const scenarios: [Scenario, number[], 'ctr' | 'tf'][] = [
    [ctrScenario(ref, '', 1000), [1, 4, 16], 'ctr'],
    [tfServingScenario(ref, '', 1000), [1, 4, 16], 'tf'],
    [
      {
        name: 'TF Serving :predict 1000 rows, columnar `inputs` (peer section)',
        url: `/v1/models/${BENCH_MODEL}:predict`,
        body: JSON.stringify(columnar),
        rowsPerRequest: 1000,
      },
      [4],
      'tf',
    ],
    [ctrScenario(ref, '', 1), [1], 'ctr'],
  ];
  const bodies: Body[] = [];
  for (const [i, [s, connections, kind]] of scenarios.entries()) {
    const file = join(dir, `ab-body-${i}.json`);
    await writeFile(file, s.body);
    bodies.push({ name: s.name, path: s.url, file, body: s.body, rows: s.rowsPerRequest, connections, kind });
  }
  return opts.only ? bodies.filter((b) => b.kind === opts.only) : bodies;
}

async function startTree(side: 'A' | 'B', modelBase: string): Promise<ChildServer> {
  const tree = trees[side];
  const help = await output(process.execPath, ['bin/ctr-serve.js', 'serve', '--help'], tree);
  // gRPC off where the tree has it (bench/http.ts passes --port=0 too); older trees have no such flag.
  const grpcOff = help.includes('--port=') ? ['--port=0'] : [];
  const port = await freePort();
  const argv = ['-c', '0', process.execPath, 'bin/ctr-serve.js', 'serve', `--rest_api_port=${port}`];
  const flags = [
    '--rest_api_host=127.0.0.1',
    `--model_name=${BENCH_MODEL}`,
    `--model_base_path=${modelBase}`,
    '--workers=1',
    '--file_system_poll_wait_seconds=0',
    ...grpcOff,
    ...extra[side],
  ];
  const child = spawn('taskset', [...argv, ...flags], {
    cwd: tree,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(child, 120_000, async () => (await fetch(`${url}/readyz`)).status === 200);
  return { url, pid: child.pid!, stop: () => stop(child) };
}

async function httpAb(r: BenchReference, modelBase: string, dir: string): Promise<void> {
  const bodies = await writeBodies(dir);
  const replies: Record<string, unknown[]> = {};
  for (const side of ['A', 'B'] as const) {
    const s = await startTree(side, modelBase);
    try {
      replies[side] = await Promise.all(bodies.map(async (b) => post(`${s.url}${b.path}`, b.body)));
    } finally {
      await s.stop();
    }
  }
  process.stdout.write(`${checkReplies(r, bodies, replies.A!, replies.B!)}\n`);
  const samples: Sample[] = [];
  const rounds = Number(opts.rounds);
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const s = await startTree(side, modelBase);
      try {
        for (const b of bodies) await drive(s, b, 4, 1); // warm-up (JIT, wasm heap growth), not measured
        for (const b of bodies) {
          for (const c of b.connections) {
            const m = await drive(s, b, c, Number(opts.duration));
            samples.push({ side, row: `${b.name} @ ${c}`, round, ...m, load1: loadavg()[0]! });
          }
        }
      } finally {
        await s.stop();
      }
      process.stdout.write(`round ${round + 1}/${rounds} ${side} done, load ${load()}\n`);
    }
  }
  process.stdout.write(`\n## HTTP, one worker on core 0, client on core 1\n\n${abTable(abRows(samples))}\n`);
}

async function drive(s: ChildServer, b: Body, connections: number, durationSec: number) {
  const cpu0 = await processTreeCpuMs(s.pid);
  const r = await closedLoop(`${s.url}${b.path}`, b.file, { connections, durationSec, cpus: '1' });
  const cpuMs = (await processTreeCpuMs(s.pid)) - cpu0;
  return { perSec: r.reqPerSec, cpuMs: cpuMs / Math.max(1, r.answered), failed: r.non2xx + r.errors };
}

/** In-process CPU per request (bench/ab-inject-child.ts), a fresh process per side and run, on core 0. */
async function injectAb(modelBase: string, dir: string): Promise<void> {
  const bodies = await writeBodies(dir);
  const list = join(dir, 'ab-bodies.json');
  await writeFile(list, JSON.stringify(bodies.map(({ name, path, file }) => ({ name, path, file }))));
  const samples: Sample[] = [];
  const runs = Number(opts['model-runs']);
  const child = join(HERE, 'ab-inject-child.ts');
  for (let run = 0; run < runs; run++) {
    for (const side of run % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const args = ['-c', '0', process.execPath, '--import', 'tsx', child, trees[side], modelBase, list];
      const out = await output('taskset', [...args, opts['inject-requests'], ...extra[side]], HERE);
      const line = out.split('\n').find((l) => l.startsWith('AB_RESULT '))!;
      const result = JSON.parse(line.slice('AB_RESULT '.length)) as Record<string, number>;
      for (const [row, cpuMs] of Object.entries(result)) {
        samples.push({ side, row, round: run, perSec: 1000 / cpuMs, cpuMs, failed: 0, load1: loadavg()[0]! });
      }
      process.stdout.write(`inject run ${run + 1}/${runs} ${side} done, load ${load()}\n`);
    }
  }
  process.stdout.write(
    `\n## In process (inject(), one request at a time, core 0): requests per CPU-second; CPU ms per request\n\n` +
      `${abTable(abRows(samples))}\n`,
  );
}

async function modelAb(modelVersion: string): Promise<void> {
  const samples: Sample[] = [];
  const runs = Number(opts['model-runs']);
  const child = join(HERE, 'ab-model-child.ts');
  for (let run = 0; run < runs; run++) {
    for (const side of run % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const args = ['-c', '0', process.execPath, '--import', 'tsx', child, trees[side], modelVersion];
      const out = await output('taskset', [...args, opts.reference], HERE);
      const { rows } = JSON.parse(out.trim().split('\n').pop()!) as {
        rows: { variant: string; batch: string; predPerSec: number; predPerCpuSec: number }[];
      };
      for (const row of rows) {
        samples.push({
          side,
          row: `${row.variant} @ ${row.batch}`,
          round: run,
          perSec: row.predPerSec,
          // CPU ms per 1000 predictions.
          cpuMs: 1e6 / row.predPerCpuSec,
          failed: 0,
          load1: loadavg()[0]!,
        });
      }
      process.stdout.write(`model run ${run + 1}/${runs} ${side} done, load ${load()}\n`);
    }
  }
  process.stdout.write(
    `\n## Model only, one process per sample on core 0 (predictions/s; CPU ms per 1000 predictions)\n\n` +
      `${abTable(abRows(samples))}\n`,
  );
}

async function post(url: string, body: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const json: unknown = await res.json();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

function output(cmd: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('error', fail);
    child.once('close', (code) =>
      code === 0 ? done(out) : fail(new Error(`${cmd} exited ${code}: ${err}`)),
    );
  });
}
