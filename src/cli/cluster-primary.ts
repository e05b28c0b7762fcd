import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { servePrimaryCollect } from '../http/cluster-link.ts';
import type { CliIo } from './command.ts';
import type { ServingConfig } from '../config/serving-config.ts';

/**
 * The cluster primary of `ctr-serve serve --workers=N`: it serves no HTTP itself. It forks N workers that run
 * the same command (each binds the port with SO_REUSEPORT on Linux, else node:cluster hands them one shared
 * listening socket; `--rest_api_port=0` gives every worker the same port), relays their collect requests
 * (/metrics, /v1/shadow; src/http/cluster-link.ts), replaces a worker that dies after it was listening, and on
 * io.stopSignal asks every worker to finish its in-flight requests and exit. Returns 0 after a clean stop, 1 when
 * a worker failed before it listened (a config or model error would only repeat).
 *
 * A replacement is forked with REPLACEMENT_ENV set and listens (so node:cluster hands it connections) only once
 * every model is AVAILABLE in it (serve-command.ts): the versions on disk may have changed since the start, and
 * a newest version that fails to load would leave it nothing to serve. TF Serving likewise starts its servers
 * only after ServerCore::Create has waited for the models (server_core.cc, WaitUntilModelsAvailable). The
 * workers still serving carry the traffic meanwhile.
 */
export const WORKER_STOP_GRACE_MS = 30_000;

/**
 * Set in every worker's environment on Linux: the port each worker binds itself with SO_REUSEPORT (below), the
 * one asked for or, for --rest_api_port=0, one the primary picked.
 */
export const REUSE_PORT_ENV = 'CTR_SERVE_REUSE_PORT';

/** Set in a replacement worker's environment (node:cluster's fork(env)). */
export const REPLACEMENT_ENV = 'CTR_SERVE_REPLACEMENT_WORKER';

export async function runPrimary(config: ServingConfig, io: CliIo): Promise<number> {
  // Workers accept from the shared socket themselves (SCHED_NONE), as one process does, instead of node:cluster's
  // round robin, where the primary accepts and hands each connection to a worker only after that worker's event
  // loop took the previous one: a burst of N new connections reached a worker busy with model calls one per
  // turn, and the requests sent on the rest waited unread, unseen by admission control, for seconds (issue 9;
  // bench/README.md, "Overload"). A busy worker accepts nothing while an idle one takes the connections.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // On Linux each worker goes further: it binds its own listening socket with SO_REUSEPORT and the kernel spreads
  // new connections evenly over the workers' sockets. From the one shared socket, the worker that woke first took
  // most of a burst (44/86 and 99/31 of 128 connections in bench/README.md, "Overload"), and its event-loop turn,
  // which bounds how long a refusal waits, grew with them.
  const reusePort = process.platform === 'linux' && hasReusePort() ? await pickPort(config) : undefined;
  servePrimaryCollect(cluster);
  let stopping = false;
  let address: string | undefined;
  const listening = new Set<number>();
  let failStartup!: (code: number) => void;
  const startupFailed = new Promise<number>((resolve) => (failStartup = resolve));

  const fork = (replaces?: number): Worker => {
    const worker = cluster.fork({
      ...(reusePort === undefined ? {} : { [REUSE_PORT_ENV]: String(reusePort) }),
      ...(replaces === undefined ? {} : { [REPLACEMENT_ENV]: String(replaces) }),
    });
    worker.on('message', (msg: { ctr?: string; address?: string; grpcPort?: number }) => {
      if (msg?.ctr !== 'listening') return;
      listening.add(worker.id);
      if (replaces !== undefined) {
        io.stderr.write(`ctr-serve: worker ${worker.process.pid} listening (replaces ${replaces})\n`);
      }
      if (address === undefined && listening.size === config.workers) {
        address = msg.address;
        if (msg.grpcPort !== undefined) {
          io.stdout.write(`ctr-serve gRPC listening on ${config.restApiHost}:${msg.grpcPort}\n`);
        }
        io.stdout.write(`ctr-serve listening on ${address} with ${config.workers} workers\n`);
      }
    });
    worker.on('exit', (code, signal) => {
      const wasListening = listening.delete(worker.id);
      if (stopping) return;
      io.stderr.write(`ctr-serve: worker ${worker.process.pid} exited (${signal ?? code})\n`);
      if (wasListening) fork(worker.process.pid);
      else failStartup(1);
    });
    return worker;
  };
  for (let i = 0; i < config.workers; i++) fork();

  const outcome = await Promise.race([io.stopSignal.then(() => 0), startupFailed]);
  stopping = true;
  await stopWorkers();
  return outcome;
}

/** net.Server#listen takes reusePort from Node 22.12 and 23.1 on; an older Node would ignore it (EADDRINUSE). */
function hasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** The port the workers bind: --rest_api_port, or for 0 a free one (bound with SO_REUSEPORT, then let go). */
async function pickPort(config: ServingConfig): Promise<number> {
  if (config.restApiPort !== 0) return config.restApiPort;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port: 0, host: config.restApiHost, reusePort: true }, resolve);
  });
  const { port } = probe.address() as import('node:net').AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function stopWorkers(): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          const timer = setTimeout(() => worker.kill('SIGKILL'), WORKER_STOP_GRACE_MS);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (worker.isConnected()) worker.send({ ctr: 'shutdown' });
          else worker.kill('SIGTERM');
        }),
    ),
  );
}
