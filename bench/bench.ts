import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/graph/backend.ts';
import { runBatching, type BatchingRow } from './batching.ts';
import { cpuSteadiness } from './cpu-steadiness.ts';
import { runHttp, type HttpRow } from './http.ts';
import { runMemory, type MemoryReport } from './memory.ts';
import { writeReferenceRepo } from './model-repo.ts';
import { runModelOnly, type ModelRow } from './model-only.ts';
import { overloadAccountTable, overloadTable, runOverload, type OverloadRow } from './overload.ts';
import { peerTable, runPeer, type PeerRow } from './peer.ts';
import { DEFAULT_PEER_DIR } from './peer-server.ts';
import { runShadowLoad, shadowLoadTable, type ShadowLoadRow } from './shadow-load.ts';
import { runRecurrent, type RecurrentRow } from './recurrent.ts';
import { loadBenchReference } from './reference.ts';
import { formatTable } from './table.ts';

export type BenchSection =
  'model' | 'recurrent' | 'http' | 'memory' | 'batching' | 'peer' | 'shadow' | 'overload';

/** Sections that run on the reference student; overload serves the bundled one (models/ctr-student). */
export const REFERENCE_SECTIONS: readonly BenchSection[] = ['model', 'http', 'memory', 'batching', 'peer'];

export type BenchOptions = {
  readonly sections: readonly BenchSection[];
  /** Shorter loops and fewer repeats, for a smoke run (numbers are rougher). */
  readonly quick: boolean;
  /** ../shared/bench-reference or another directory with the same files. */
  readonly referenceDir: string;
};

export type BenchReport = {
  readonly model?: ModelRow[];
  readonly http?: HttpRow[];
  readonly memory?: MemoryReport;
  readonly batching?: BatchingRow[];
  readonly recurrent?: RecurrentRow[];
  readonly overload?: OverloadRow[];
  readonly peer?: PeerRow[];
  readonly shadow?: ShadowLoadRow[];
};

/**
 * `npm run bench` / `ctr-serve bench`: builds the reference student's frozen graph in a temporary model
 * repository, then runs the asked sections and writes their tables to `out` as they finish. Fails with
 * CTR_ERR_BENCH_CHECK_FAILED when predictions are wrong (nothing is timed then).
 */
export async function runBench(options: BenchOptions, out: NodeJS.WritableStream): Promise<BenchReport> {
  const backend = await initBackend();
  const needsReference = options.sections.some((s) => REFERENCE_SECTIONS.includes(s));
  const ref = needsReference ? await loadBenchReference(options.referenceDir) : undefined;
  const root = await mkdtemp(join(tmpdir(), 'ctr-bench-'));
  const report: {
    model?: ModelRow[];
    http?: HttpRow[];
    memory?: MemoryReport;
    batching?: BatchingRow[];
    recurrent?: RecurrentRow[];
    overload?: OverloadRow[];
    peer?: PeerRow[];
    shadow?: ShadowLoadRow[];
  } = {};
  try {
    const repo = ref ? await writeReferenceRepo(ref, root) : undefined;
    out.write(
      `ctr-serve bench: backend ${backend}, node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${cpus().length} CPUs), ${new Date().toISOString()}\n`,
    );
    const steady = cpuSteadiness(options.quick ? 4 : 10);
    out.write(
      `CPU steadiness (cpu-steadiness.ts, fixed work per 0.5 s window): min ${steady.min}, median ${steady.median}, ` +
        `max ${steady.max} (spread ${(steady.max / steady.min).toFixed(2)})\n`,
    );
    if (options.sections.includes('model')) {
      out.write(
        '\n## Model only (one core, reference student, predictions checked against expected.f32)\n\n',
      );
      const rows = await runModelOnly(ref!, repo!.version, {
        repeats: options.quick ? 1 : 3,
        minMs: options.quick ? 200 : 800,
        batches: [1, 64, 1024],
      });
      report.model = rows;
      out.write(`${modelTable(rows)}\n`);
    }
    if (options.sections.includes('recurrent')) {
      out.write(
        '\n## Recurrent student (one core; pooled vs BiLSTM student as `distill` exports them, one user × 1000 candidates, L = 50)\n\n',
      );
      const rows = await runRecurrent(root, {
        repeats: options.quick ? 1 : 3,
        minMs: options.quick ? 200 : 800,
      });
      report.recurrent = rows;
      out.write(
        `${formatTable(
          ['student', 'graph', 'ms per 1000 candidates', 'CPU ms per 1000'],
          rows.map((r) => [r.student, r.graph, r.msPer1000, r.cpuMsPer1000]),
        )}\n`,
      );
    }
    if (options.sections.includes('http')) {
      const workers = 2;
      out.write(
        `\n## End to end over loopback (ctr-serve --workers=${workers}; autocannon in this process, paced rows from their own)\n\n`,
      );
      const rows = await runHttp(ref!, repo!.base, {
        durationSec: options.quick ? 2 : 5,
        connections: options.quick ? [1, 8] : [1, 4, 16],
        workers,
      });
      report.http = rows;
      out.write(`${httpTable(rows, report.model)}\n`);
      for (const r of rows.filter((row) => row.clientStalls)) {
        out.write(`\nThe load process at ${r.rate}: ${r.clientStalls}.\n`);
      }
    }
    if (options.sections.includes('memory')) {
      const predictions = options.quick ? 100_000 : 1_000_000;
      out.write(
        `\n## Memory across ${predictions.toLocaleString('en-US')} predictions (predictHost, batch 1024)\n\n`,
      );
      const m = await runMemory(ref!, repo!.version, predictions);
      report.memory = m;
      out.write(`${memoryTable(m)}\n`);
    }
    if (options.sections.includes('peer')) {
      out.write(
        '\n## Against the peer (Fastify + onnxruntime-node, ../shared/bench-peer; same weights, same bodies, one run)\n\n',
      );
      const rows = await runPeer(
        ref!,
        root,
        {
          durationSec: options.quick ? 3 : 15,
          connections: 8,
          peerSource: DEFAULT_PEER_DIR,
          referenceDir: options.referenceDir,
          setups: [1, 2],
        },
        out,
      );
      report.peer = rows;
      if (rows.length > 0) out.write(`${peerTable(rows)}\n`);
    }
    if (options.sections.includes('shadow')) {
      const load = { ratePerSec: 100, durationSec: options.quick ? 3 : 10, candidates: 100 };
      out.write(
        `\n## Shadow scoring and the student's latency (default models, --workers=1 on core 0, ` +
          `1 user × ${load.candidates} at ${load.ratePerSec}/s even)\n\n`,
      );
      const rows = await runShadowLoad(load);
      report.shadow = rows;
      out.write(`${shadowLoadTable(rows)}\n`);
    }
    if (options.sections.includes('batching')) {
      const connections = 32;
      out.write(
        `\n## Batcher settings (one ctr-serve process, small requests, ${connections} connections)\n\n`,
      );
      const rows = await runBatching(ref!, repo!.base, root, {
        durationSec: options.quick ? 2 : 5,
        connections,
        settings: [
          'off',
          { maxBatchSize: 1024, batchTimeoutMs: 0 },
          { maxBatchSize: 1024, batchTimeoutMs: 1 },
          { maxBatchSize: 1024, batchTimeoutMs: 2 },
          { maxBatchSize: 256, batchTimeoutMs: 1 },
          { maxBatchSize: 8192, batchTimeoutMs: 1 },
          'off',
        ],
      });
      report.batching = rows;
      out.write(
        `${formatTable(
          ['setting', 'scenario', 'conns', 'req/s', 'predictions/s', 'p50 ms', 'p99 ms', 'failed'],
          rows.map((r) => [
            r.config,
            r.scenario,
            r.connections,
            r.reqPerSec,
            r.predPerSec,
            r.p50Ms,
            r.p99Ms,
            r.failed,
          ]),
        )}\n`,
      );
    }
    if (options.sections.includes('overload')) {
      const connections = 128;
      out.write(
        `\n## Overload (bundled student, 1 × 1000, ${connections} connections that retry at once; bench/overload.ts)\n\n`,
      );
      const rows = await runOverload({
        workers: [1, 2],
        connections,
        seconds: options.quick ? 3 : 6,
      });
      report.overload = rows;
      out.write(`${overloadTable(rows)}\n\n${overloadAccountTable(rows)}\n`);
    }
    return report;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function modelTable(rows: readonly ModelRow[]): string {
  const base = new Map(rows.filter((r) => r.variant === 'unrewritten').map((r) => [r.batch, r]));
  const body = rows.map((r) => {
    const b = base.get(r.batch);
    const ratio = b && r !== b ? `${(r.predPerSec / b.predPerSec).toFixed(1)}×` : '';
    return [r.variant, r.batch, r.predPerSec, r.msPerCall, r.predPerCpuSec, ratio];
  });
  return formatTable(
    ['graph', 'batch', 'predictions/s', 'ms/call', 'predictions/CPU-s', 'vs unrewritten'],
    body,
  );
}

/**
 * Two shares of end-to-end predictions/s, both over twice a single-core model-only rate of this run:
 * "of 2× batch 1024" uses the issue's model-only measure (batch 1024 of distinct rows on the rewritten graph);
 * "of 2× same shape" uses the model-only rate of the same request shape on the graph serving runs for it
 * (1 user × 1000: the shared-history variant with one user, as /v1/ctr:predict feeds it; TF Serving rows: batch
 * 1024), i.e. how much of both cores' model throughput survives HTTP, JSON and batching.
 */
function httpTable(rows: readonly HttpRow[], model: readonly ModelRow[] | undefined): string {
  const rate = (variant: string, batch: string) =>
    model?.find((r) => r.variant === variant && r.batch === batch)?.predPerSec;
  const base = (scenario: string) =>
    scenario.startsWith('/v1/ctr:predict 1 × 1000')
      ? rate('rewritten, shared history', '1 user × 1000')
      : scenario.startsWith('TF Serving')
        ? rate('rewritten', '1024')
        : undefined;
  const body = rows.map((r) => {
    const predicts = r.predPerSec > 0;
    const b = base(r.scenario);
    const b1024 = predicts && r.scenario.includes('1000') ? rate('rewritten', '1024') : undefined;
    const share = (x: number | undefined) => (x ? `${Math.round((100 * r.predPerSec) / (2 * x))}%` : '');
    return [
      r.scenario,
      r.connections,
      r.rate,
      r.reqPerSec,
      predicts ? r.predPerSec : '',
      share(b1024),
      share(b),
      r.p50Ms,
      r.p99Ms,
      r.non2xx + r.errors,
    ];
  });
  return formatTable(
    [
      'scenario',
      'conns',
      'rate',
      'req/s',
      'predictions/s',
      'of 2× batch 1024',
      'of 2× same shape',
      'p50 ms',
      'p99 ms',
      'failed',
    ],
    body,
  );
}

function memoryTable(m: MemoryReport): string {
  return formatTable(
    [
      'predictions',
      'seconds',
      'RSS start MiB',
      'RSS end MiB',
      'RSS min MiB',
      'RSS max MiB',
      'tensors start',
      'tensors end',
      'flat',
    ],
    [
      [
        m.predictions,
        m.seconds,
        m.rssStartMiB,
        m.rssEndMiB,
        m.rssMinMiB,
        m.rssMaxMiB,
        m.numTensorsStart,
        m.numTensorsEnd,
        m.flat ? 'yes' : 'NO',
      ],
    ],
  );
}
