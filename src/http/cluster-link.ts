import type { Cluster, Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { CtrError } from '../errors/registry.ts';

/**
 * How one process's view becomes the whole server's view with `--workers` (node:cluster). A request for
 * `/metrics` (or `/v1/shadow`) lands on one worker; that worker asks the primary, the primary asks every worker
 * for its local value of that kind, and hands the list back. Kinds are strings ('metrics', 'shadow', ...);
 * each process `provide`s its local value and `collect` returns every live worker's value (workers that do not
 * answer within COLLECT_TIMEOUT_MS are left out rather than failing the request). Without workers the link is
 * local: `collect` returns this process's value alone.
 *
 * `/metrics` merges the workers' registries with prom-client's AggregatorRegistry.aggregate (counters and
 * histograms summed, gauges by their `aggregator`).
 */
export interface ClusterLink {
  provide(kind: string, fn: () => unknown): void;
  collect(kind: string): Promise<unknown[]>;
}

export const COLLECT_TIMEOUT_MS = 5000;

type Message =
  | { ctr: 'collect'; kind: string; requestId: number }
  | { ctr: 'collected'; requestId: number; values: unknown[] }
  | { ctr: 'provide'; kind: string; gatherId: number }
  | { ctr: 'provided'; gatherId: number; value?: unknown; error?: string };

class Providers {
  readonly #fns = new Map<string, () => unknown>();
  provide(kind: string, fn: () => unknown): void {
    this.#fns.set(kind, fn);
  }
  async value(kind: string): Promise<unknown> {
    const fn = this.#fns.get(kind);
    if (!fn) throw new Error(`nothing provides "${kind}"`);
    return await fn();
  }
}

export function localLink(): ClusterLink {
  const providers = new Providers();
  return {
    provide: (kind, fn) => providers.provide(kind, fn),
    collect: async (kind) => [await providers.value(kind)],
  };
}

/** The worker side: answers the primary's `provide` requests and sends `collect` requests to it. */
export function workerLink(worker: Worker): ClusterLink {
  const providers = new Providers();
  const pending = new Map<number, (values: unknown[]) => void>();
  let nextId = 0;
  worker.on('message', (msg: Message) => {
    if (msg?.ctr === 'provide') {
      providers.value(msg.kind).then(
        (value) => worker.send({ ctr: 'provided', gatherId: msg.gatherId, value } satisfies Message),
        (err: Error) =>
          worker.send({ ctr: 'provided', gatherId: msg.gatherId, error: err.message } satisfies Message),
      );
    } else if (msg?.ctr === 'collected') {
      pending.get(msg.requestId)?.(msg.values);
      pending.delete(msg.requestId);
    }
  });
  return {
    provide: (kind, fn) => providers.provide(kind, fn),
    collect: (kind) =>
      new Promise((resolve, reject) => {
        const requestId = nextId++;
        // The primary answers within COLLECT_TIMEOUT_MS even when workers do not; this covers a primary gone.
        const timer = setTimeout(() => {
          pending.delete(requestId);
          reject(new CtrError('CTR_ERR_INTERNAL', `the cluster primary did not answer a "${kind}" collect`));
        }, COLLECT_TIMEOUT_MS * 2);
        pending.set(requestId, (values) => {
          clearTimeout(timer);
          resolve(values);
        });
        worker.send({ ctr: 'collect', kind, requestId } satisfies Message);
      }),
  };
}

/** The primary side: fans each worker's `collect` out to every connected worker and gathers the answers. */
export function servePrimaryCollect(cluster: Cluster, timeoutMs = COLLECT_TIMEOUT_MS): void {
  let nextGather = 0;
  const gathers = new Map<number, { values: unknown[]; pending: number; finish: () => void }>();
  cluster.on('message', (from: Worker, msg: Message) => {
    if (msg?.ctr === 'collect') {
      const gatherId = nextGather++;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w?.isConnected());
      const gather = {
        values: [] as unknown[],
        pending: workers.length,
        finish: () => {
          clearTimeout(timer);
          gathers.delete(gatherId);
          if (from.isConnected()) {
            from.send({
              ctr: 'collected',
              requestId: msg.requestId,
              values: gather.values,
            } satisfies Message);
          }
        },
      };
      const timer = setTimeout(gather.finish, timeoutMs);
      gathers.set(gatherId, gather);
      for (const w of workers) w.send({ ctr: 'provide', kind: msg.kind, gatherId } satisfies Message);
    } else if (msg?.ctr === 'provided') {
      const gather = gathers.get(msg.gatherId);
      if (!gather) return;
      if (msg.error === undefined) gather.values.push(msg.value);
      if (--gather.pending === 0) gather.finish();
    }
  });
}

/** `/metrics` over a link: every worker's registry, merged by prom-client's AggregatorRegistry. */
export function clusterMetricsSource(link: ClusterLink): { text(): Promise<string>; contentType: string } {
  return {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
    async text() {
      const perWorker = (await link.collect('metrics')) as object[];
      return AggregatorRegistry.aggregate(perWorker).metrics();
    },
  };
}
