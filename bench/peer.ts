import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CtrError } from '../src/errors/registry.ts';
import { startCtrServe, type ChildServer } from './child-server.ts';
import { writeReferenceRepo } from './model-repo.ts';
import { closedLoop, preparePeer, processTreeCpuMs, startPeer, type LoadResult } from './peer-server.ts';
import type { BenchReference } from './reference.ts';
import { formatTable } from './table.ts';

/**
 * ctr-serve against the peer (../shared/bench-peer: one Fastify process with onnxruntime-node on the same
 * reference student), in one run: both servers up at once on the same cores (`taskset`), both checked against
 * expected.f32 before any load, then each route driven closed loop (autocannon, `connections` keep-alive
 * connections) from a process pinned to the load core, ctr-serve and the peer one after the other per route.
 * Setups: 1 worker vs 1 intra-op thread on core 0 (load on core 1); 2 workers vs 2 threads on cores 0-1. Each
 * run also reads the server's CPU time (processTreeCpuMs) before and after, for its CPU ms per answered request.
 */
export const PEER_MODEL = 'ref-student';

export type PeerRow = {
  readonly setup: string;
  readonly route: string;
  readonly ctr: MeasuredLoad;
  readonly peer: MeasuredLoad;
  /** Load average (1 min) when the row finished. */
  readonly load1: number;
};

export type PeerOptions = {
  readonly durationSec: number;
  readonly connections: number;
  readonly peerSource: string;
  readonly referenceDir: string;
  /** 1 and/or 2 (workers vs intra-op threads). */
  readonly setups: readonly number[];
};

/** A closed-loop run and the server's CPU time per answered request over it (its whole process tree). */
export type MeasuredLoad = LoadResult & { readonly cpuMsPerRequest: number };

type Route = { name: string; path: string; file: string; check: (reply: unknown) => string | undefined };

export async function runPeer(
  ref: BenchReference,
  root: string,
  opts: PeerOptions,
  out: NodeJS.WritableStream,
): Promise<PeerRow[]> {
  const peerDir = await preparePeer(opts.peerSource, root);
  if ('skipped' in peerDir) {
    out.write(`peer section skipped: ${peerDir.skipped}\n`);
    return [];
  }
  const repo = await writeReferenceRepo(ref, join(root, 'peer-models'), PEER_MODEL);
  const routes = await writeBodies(ref, root);
  const rows: PeerRow[] = [];
  for (const n of opts.setups) {
    const cpus = n === 1 ? '0' : '0,1';
    const setup = n === 1 ? '1 worker vs 1 thread' : `${n} workers vs ${n} threads`;
    let ctr: ChildServer | undefined;
    let peer: ChildServer | undefined;
    try {
      peer = await startPeer(peerDir.dir, opts.referenceDir, n, cpus);
      ctr = await startCtrServe(
        [`--model_name=${PEER_MODEL}`, `--model_base_path=${repo.base}`, `--workers=${n}`],
        120_000,
        cpus,
      );
      for (const server of [ctr, peer]) await checkServer(ref, server.url, routes);
      for (const route of routes.load) {
        const drive = async (s: ChildServer, sec: number): Promise<MeasuredLoad> => {
          const cpu0 = await processTreeCpuMs(s.pid);
          const load = await closedLoop(`${s.url}${route.path}`, route.file, {
            connections: opts.connections,
            durationSec: sec,
            cpus: '1',
          });
          const cpuMs = (await processTreeCpuMs(s.pid)) - cpu0;
          return { ...load, cpuMsPerRequest: cpuMs / Math.max(1, load.answered) };
        };
        await drive(ctr, 2); // warm-up (JIT, heap growth), not measured
        await drive(peer, 2);
        const c = await drive(ctr, opts.durationSec);
        const p = await drive(peer, opts.durationSec);
        rows.push({ setup, route: route.name, ctr: c, peer: p, load1: loadavg()[0]! });
      }
    } finally {
      await ctr?.stop();
      await peer?.stop();
    }
  }
  return rows;
}

/** Request bodies as files for autocannon (-i), and the check bodies (every reference row vs expected.f32). */
async function writeBodies(ref: BenchReference, root: string) {
  const L = ref.historyLength;
  const n = 1000;
  const hist = (i: number) => Array.from(ref.history.subarray(i * L, (i + 1) * L));
  const ctrBody = {
    requests: [{ id: 'u0', history: hist(0), candidates: Array.from(ref.candidate.subarray(0, n)) }],
  };
  const tfBody = {
    inputs: {
      history: Array.from({ length: n }, (_, i) => hist(i)),
      candidate: Array.from(ref.candidate.subarray(0, n)),
    },
  };
  const files = { ctr: join(root, 'peer-ctr-1x1000.json'), tf: join(root, 'peer-tf-1000.json') };
  await writeFile(files.ctr, JSON.stringify(ctrBody));
  await writeFile(files.tf, JSON.stringify(tfBody));
  const close = (a: number | undefined, i: number) =>
    a !== undefined && Math.abs(a - ref.expected[i]!) <= 1e-5;
  const load: Route[] = [
    {
      name: `CTR /v1/ctr/${PEER_MODEL}:predict, 1 user × ${n}`,
      path: `/v1/ctr/${PEER_MODEL}:predict`,
      file: files.ctr,
      // Row 0 of the reference is (history 0, candidate 0); the other candidates are checked by `every` below.
      check: (r) => {
        const s = (r as { results?: { scores?: number[] }[] }).results?.[0]?.scores ?? [];
        return s.length === n && close(s[0], 0) && s.every(Number.isFinite) ? undefined : 'scores';
      },
    },
    {
      name: `TF Serving :predict, ${n} columnar rows`,
      path: `/v1/models/${PEER_MODEL}:predict`,
      file: files.tf,
      check: (r) => {
        const c = (r as { outputs?: { ctr?: number[] } }).outputs?.ctr ?? [];
        const bad = c.findIndex((v, i) => !close(v, i));
        return c.length === n && bad < 0 ? undefined : `outputs.ctr[${bad}]`;
      },
    },
  ];
  // Every reference row as its own user: each score must be expected.f32's.
  const every = {
    requests: Array.from({ length: ref.rows }, (_, i) => ({
      history: hist(i),
      candidates: [ref.candidate[i]!],
    })),
  };
  const checkAll = (r: unknown) => {
    const res = (r as { results?: { scores?: number[] }[] }).results ?? [];
    const bad = ref.expected.findIndex((_, i) => !close(res[i]?.scores?.[0], i));
    return res.length === ref.rows && bad < 0 ? undefined : `results[${bad}]`;
  };
  return { load, every: { body: JSON.stringify(every), check: checkAll } };
}

async function checkServer(
  ref: BenchReference,
  url: string,
  routes: Awaited<ReturnType<typeof writeBodies>>,
): Promise<void> {
  const checks = [
    { name: `${ref.rows} users × 1 candidate`, path: routes.load[0]!.path, ...routes.every },
    ...(await Promise.all(routes.load.map(async (r) => ({ ...r, body: await readFile(r.file, 'utf8') })))),
  ];
  for (const c of checks) {
    const res = await fetch(`${url}${c.path}`, {
      method: 'POST',
      body: c.body,
      headers: { 'content-type': 'application/json' },
    });
    const json = (await res.json()) as unknown;
    const fault =
      res.status === 200 ? c.check(json) : `HTTP ${res.status} ${JSON.stringify(json).slice(0, 300)}`;
    if (fault !== undefined) {
      throw new CtrError(
        'CTR_ERR_BENCH_CHECK_FAILED',
        `${url} ${c.name}: the reply does not match expected.f32 (${fault})`,
      );
    }
  }
}

/** The side-by-side table: each server's req/s, p50 and p99, and ctr-serve's throughput over the peer's. */
export function peerTable(rows: readonly PeerRow[]): string {
  return formatTable(
    [
      'setup',
      'route',
      'ctr-serve req/s',
      'p50 ms',
      'p99 ms',
      'peer req/s',
      'p50 ms',
      'p99 ms',
      'ratio',
      'ctr-serve CPU ms/req',
      'peer CPU ms/req',
      'CPU ratio',
      'load avg',
    ],
    rows.map((r) => [
      r.setup,
      r.route,
      Math.round(r.ctr.reqPerSec),
      r.ctr.p50Ms,
      r.ctr.p99Ms,
      Math.round(r.peer.reqPerSec),
      r.peer.p50Ms,
      r.peer.p99Ms,
      `${(r.ctr.reqPerSec / Math.max(1e-9, r.peer.reqPerSec)).toFixed(2)}×`,
      r.ctr.cpuMsPerRequest.toFixed(2),
      r.peer.cpuMsPerRequest.toFixed(2),
      // Peer CPU over ctr-serve CPU: above 1 when ctr-serve spends less per request (like the throughput ratio).
      `${(r.peer.cpuMsPerRequest / Math.max(1e-9, r.ctr.cpuMsPerRequest)).toFixed(2)}×`,
      r.load1.toFixed(1),
    ]),
  );
}
