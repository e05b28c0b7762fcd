import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CtrError } from '../src/errors/registry.ts';
import { startCtrServe } from './child-server.ts';
import { rawClosedLoop } from './raw-closed-loop.ts';
import { formatTable } from './table.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** One status's latencies (ms) over a run: how many, median, p99, worst. */
export type StatusLatency = { n: number; p50Ms: number; p99Ms: number; maxMs: number };

export type OverloadRow = {
  readonly workers: number;
  readonly connections: number;
  readonly seconds: number;
  /** Answered (200) and refused (503, CTR_ERR_QUEUE_FULL) requests; anything else is `other`. */
  readonly answered: StatusLatency;
  readonly refused: StatusLatency;
  readonly other: number;
  /** The CPU-independent account (ServerAccount). */
  readonly account: ServerAccount;
};

/**
 * What the server processes did during the run, from /proc and ss: the 1-minute load average before and after,
 * the CPU the workers used (user + system) per request served, the share of a core each worker got
 * (CPU / wall), and how many connections each worker held at the end. A refusal waits for at most one turn of its
 * worker's event loop, which handles every request that arrived on its connections: in CPU time about
 * connections × CPU per request, plus one slice of model calls; wall time is that divided by the share.
 */
export type ServerAccount = {
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly cpuMsPerRequest: number;
  readonly share: number;
  readonly connections: readonly number[];
  /**
   * Answered requests' wait in the batch queue (ctr_batch_queue_wait_seconds over all workers, this run only):
   * how many, and how many waited over max_queue_delay_ms (100) and over twice it (bucket bounds 0.1 and 0.2 s).
   */
  readonly queueWait: { readonly n: number; readonly over100Ms: number; readonly over200Ms: number };
  /** The load client's own CPU over the run per wall time: near 100%, its loop's backlog is in the latencies. */
  readonly clientShare: number;
};

/**
 * Overload (issue 9): `ctr-serve serve --workers=W` on the bundled student (models/ctr-student, vocab 100), one
 * user × 1000 candidates per request, from `connections` keep-alive connections that each send their next
 * request as soon as the last one is answered or refused (a closed loop that ignores retry-after: the worst
 * client), for `seconds`, from a process of its own. Latency is split by status, so refusals and answers are
 * seen apart. Before the load, one reply is checked (1000 finite probabilities). The server starts fresh for
 * each worker count, and the connections are opened by the load itself, as a burst would.
 */
export async function runOverload(opts: {
  workers: readonly number[];
  connections: number;
  seconds: number;
}): Promise<OverloadRow[]> {
  const rows: OverloadRow[] = [];
  const body = JSON.stringify({
    requests: [
      {
        history: [...Array(12).keys()].map((i) => i + 1),
        candidates: [...Array(1000).keys()].map((i) => (i % 99) + 1),
      },
    ],
  });
  for (const workers of opts.workers) {
    const server = await startCtrServe([
      '--model_name=ctr-student',
      `--model_base_path=${join(REPO, 'models/ctr-student')}`,
      `--workers=${workers}`,
      '--file_system_poll_wait_seconds=0',
    ]);
    try {
      const url = `${server.url}/v1/ctr:predict`;
      await check(url, body);
      await closedLoopInProcess(url, body, 4, 1); // warm-up (JIT, the wasm heap), not measured
      const pids = workers > 1 ? childPids(server.pid) : [server.pid];
      const loadBefore = loadavg()[0]!;
      const cpuBefore = pids.map(cpuMs);
      const waitBefore = await queueWaitCounts(server.url);
      const t0 = performance.now();
      const r = await closedLoopInProcess(url, body, opts.connections, opts.seconds, () =>
        connectionsOf(new URL(url).port, pids),
      );
      const wallMs = performance.now() - t0;
      const cpu = pids.reduce((sum, pid, i) => sum + cpuMs(pid) - cpuBefore[i]!, 0);
      const served = r.answered.n + r.refused.n + r.other;
      const waitAfter = await queueWaitCounts(server.url);
      const waited = (k: keyof QueueWaitCounts) => waitAfter[k] - waitBefore[k];
      const account: ServerAccount = {
        loadBefore,
        loadAfter: loadavg()[0]!,
        cpuMsPerRequest: served ? cpu / served : 0,
        share: cpu / (wallMs * pids.length),
        connections: r.connections,
        clientShare: r.clientShare,
        queueWait: {
          n: waited('n'),
          over100Ms: waited('n') - waited('upTo100Ms'),
          over200Ms: waited('n') - waited('upTo200Ms'),
        },
      };
      const { answered, refused, other } = r;
      rows.push({
        workers,
        connections: opts.connections,
        seconds: opts.seconds,
        answered,
        refused,
        other,
        account,
      });
    } finally {
      await server.stop();
    }
  }
  return rows;
}

async function check(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const reply = (await res.json()) as { results?: { scores?: number[] }[] };
  const scores = reply.results?.[0]?.scores ?? [];
  if (res.status !== 200 || scores.length !== 1000 || !scores.every((p) => p >= 0 && p <= 1)) {
    throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `overload: the check request got HTTP ${res.status}`);
  }
}

type QueueWaitCounts = { n: number; upTo100Ms: number; upTo200Ms: number };

/** ctr_batch_queue_wait_seconds's count and its 0.1 s and 0.2 s buckets, summed over label sets, from /metrics. */
async function queueWaitCounts(url: string): Promise<QueueWaitCounts> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    n: sum(/^ctr_batch_queue_wait_seconds_count(?:\{[^}]*\})? (\d+)/gm),
    upTo100Ms: sum(/^ctr_batch_queue_wait_seconds_bucket\{[^}]*le="0\.1"[^}]*\} (\d+)/gm),
    upTo200Ms: sum(/^ctr_batch_queue_wait_seconds_bucket\{[^}]*le="0\.2"[^}]*\} (\d+)/gm),
  };
}

type LoopResult = { answered: StatusLatency; refused: StatusLatency; other: number; clientShare: number };

/** The worker processes of a `--workers` primary. */
function childPids(pid: number): number[] {
  return execFileSync('pgrep', ['-P', String(pid)])
    .toString()
    .trim()
    .split('\n')
    .map(Number);
}

/** User + system CPU of `pid` so far, in ms (/proc/<pid>/stat utime + stime, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Established connections to `port` held by each of `pids` (ss names the owning process). */
function connectionsOf(port: string, pids: readonly number[]): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`]).toString();
  return pids.map((pid) => out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length);
}

async function closedLoopInProcess(
  url: string,
  body: string,
  connections: number,
  seconds: number,
): Promise<LoopResult>;
async function closedLoopInProcess(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  sample: () => number[],
): Promise<LoopResult & { connections: number[] }>;
async function closedLoopInProcess(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  sample?: () => number[],
): Promise<LoopResult & { connections?: number[] }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', SELF, url, String(connections), String(seconds)],
    {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  child.stdin.end(body);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  // The connections each worker holds, sampled near the end of the run (all are open by then).
  let held: number[] | undefined;
  const timer = sample && setTimeout(() => (held = sample()), Math.max(0, seconds * 1000 - 500));
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new CtrError('CTR_ERR_BENCH_CHECK_FAILED', `the overload client exited with ${code}`);
  const result = JSON.parse(Buffer.concat(chunks).toString()) as LoopResult;
  return sample ? { ...result, connections: held ?? [] } : result;
}

/** The client (raw-closed-loop.ts): latencies split by status, and its own share of a core. */
async function closedLoop(
  url: string,
  body: Buffer,
  connections: number,
  seconds: number,
): Promise<LoopResult> {
  const r = await rawClosedLoop(url, body, connections, seconds);
  let other = r.failed;
  for (const [status, ms] of r.byStatus) if (status !== 200 && status !== 503) other += ms.length;
  return {
    answered: summary(r.byStatus.get(200) ?? []),
    refused: summary(r.byStatus.get(503) ?? []),
    other,
    clientShare: r.cpuMs / r.wallMs,
  };
}

/** The CPU-independent account of each run (ServerAccount), one row per worker count. */
export function overloadAccountTable(rows: readonly OverloadRow[]): string {
  return formatTable(
    [
      'workers',
      'load avg before / after',
      'connections per worker',
      'server CPU ms per request',
      'share of a core per worker',
      'refusal p99 × share (CPU ms)',
      'client share of a core',
      'answers queued > 100 / > 200 ms',
    ],
    rows.map((r) => [
      r.workers,
      `${r.account.loadBefore.toFixed(1)} / ${r.account.loadAfter.toFixed(1)}`,
      r.account.connections.join(' / '),
      r.account.cpuMsPerRequest.toFixed(2),
      `${Math.round(r.account.share * 100)}%`,
      Math.round(r.refused.p99Ms * r.account.share),
      `${Math.round(r.account.clientShare * 100)}%`,
      `${pct(r.account.queueWait.over100Ms, r.account.queueWait.n)} / ${pct(r.account.queueWait.over200Ms, r.account.queueWait.n)}`,
    ]),
  );
}

export function overloadTable(rows: readonly OverloadRow[]): string {
  return formatTable(
    ['workers', 'status', 'requests', 'p50 ms', 'p99 ms', 'max ms'],
    rows.flatMap((r) => [
      [r.workers, '200 answered', r.answered.n, r.answered.p50Ms, r.answered.p99Ms, r.answered.maxMs],
      [r.workers, '503 refused', r.refused.n, r.refused.p50Ms, r.refused.p99Ms, r.refused.maxMs],
      ...(r.other > 0 ? [[r.workers, 'other / errors', r.other, '', '', '']] : []),
    ]),
  );
}

function pct(k: number, n: number): string {
  return n > 0 ? `${((100 * k) / n).toFixed(1)}%` : '-';
}

function summary(ms: number[]): StatusLatency {
  if (ms.length === 0) return { n: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  ms.sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!);
  return { n: ms.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: Math.round(ms[ms.length - 1]!) };
}

if (process.argv[1] === SELF) {
  const [url, connections, seconds] = process.argv.slice(2);
  const input: Buffer[] = [];
  for await (const c of process.stdin) input.push(c as Buffer);
  const result = await closedLoop(url!, Buffer.concat(input), Number(connections), Number(seconds));
  process.stdout.write(JSON.stringify(result));
}
