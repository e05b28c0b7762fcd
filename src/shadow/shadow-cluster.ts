import type { ShadowPairSnapshot } from './shadow-pair.ts';

/**
 * Pools shadow state over `--workers` processes for `GET /v1/shadow`, the way prom-client's AggregatorRegistry
 * pools `/metrics`: the worker that got the request asks the primary, the primary asks every live worker for its
 * pair snapshots (plain data, see shadow-pair.ts) over the cluster IPC channel, and sends them all back; the
 * asking worker merges them. Workers that do not answer within `timeoutMs` are left out (never hang the request).
 *
 * Transport is injected (`process` in a worker, `cluster` in the primary), so the protocol is testable without
 * forking. Messages carry a `ctrShadow` key and are ignored by everything else on the channel.
 */
export type WorkerChannel = {
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
};

export type PrimaryChannel = {
  /** Live workers (cluster.workers). */
  workers(): Iterable<{ readonly id: number; send(message: unknown): unknown }>;
  on(event: 'message', listener: (worker: { readonly id: number }, message: unknown) => void): unknown;
};

type Msg =
  | { ctrShadow: 'collect'; id: number }
  | { ctrShadow: 'collected'; id: number; workers: ShadowPairSnapshot[][] }
  | { ctrShadow: 'snapshot?'; id: number }
  | { ctrShadow: 'snapshot'; id: number; pairs: ShadowPairSnapshot[] };

const isMsg = (m: unknown): m is Msg =>
  typeof m === 'object' && m !== null && typeof (m as { ctrShadow?: unknown }).ctrShadow === 'string';

export const DEFAULT_CLUSTER_TIMEOUT_MS = 2000;

/**
 * In a worker: answers the primary's snapshot requests, and returns the function that collects every worker's
 * snapshots (falls back to this worker's own when the primary does not answer in time).
 */
export function shadowWorkerBridge(
  channel: WorkerChannel,
  snapshot: () => ShadowPairSnapshot[],
  timeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS,
): () => Promise<ShadowPairSnapshot[][]> {
  let nextId = 0;
  const pending = new Map<number, (workers: ShadowPairSnapshot[][]) => void>();
  channel.on('message', (m) => {
    if (!isMsg(m)) return;
    if (m.ctrShadow === 'snapshot?') channel.send({ ctrShadow: 'snapshot', id: m.id, pairs: snapshot() });
    else if (m.ctrShadow === 'collected') pending.get(m.id)?.(m.workers);
  });
  return () =>
    new Promise((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => finish([snapshot()]), timeoutMs);
      function finish(workers: ShadowPairSnapshot[][]): void {
        clearTimeout(timer);
        pending.delete(id);
        resolve(workers);
      }
      pending.set(id, finish);
      channel.send({ ctrShadow: 'collect', id });
    });
}

/** In the primary: fans each worker's collect request out to all workers and sends the answers back. */
export function shadowPrimaryBridge(cluster: PrimaryChannel, timeoutMs = DEFAULT_CLUSTER_TIMEOUT_MS): void {
  let nextId = 0;
  const rounds = new Map<number, { waiting: Set<number>; got: ShadowPairSnapshot[][]; done: () => void }>();
  cluster.on('message', (worker, m) => {
    if (!isMsg(m)) return;
    if (m.ctrShadow === 'snapshot') {
      const round = rounds.get(m.id);
      if (!round || !round.waiting.delete(worker.id)) return;
      round.got.push(m.pairs);
      if (round.waiting.size === 0) round.done();
      return;
    }
    if (m.ctrShadow !== 'collect') return;
    const asker = [...cluster.workers()].find((w) => w.id === worker.id);
    const id = nextId++;
    const targets = [...cluster.workers()];
    const round = {
      waiting: new Set(targets.map((w) => w.id)),
      got: [] as ShadowPairSnapshot[][],
      done: () => {
        clearTimeout(timer);
        rounds.delete(id);
        asker?.send({ ctrShadow: 'collected', id: m.id, workers: round.got });
      },
    };
    const timer = setTimeout(round.done, timeoutMs);
    rounds.set(id, round);
    for (const w of targets) w.send({ ctrShadow: 'snapshot?', id });
    if (targets.length === 0) round.done();
  });
}
