import cluster from 'node:cluster';
import type { FastifyInstance, FastifyListenOptions } from 'fastify';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join } from 'node:path';
import { containerCpuCount } from '../config/container-cpus.ts';
import { FLAG_TABLE } from '../config/flag-table.ts';
import { loadConfig, type ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import { startGrpcServer, type GrpcServer } from '../grpc/grpc-server.ts';
import { clusterMetricsSource, localLink, workerLink } from '../http/cluster-link.ts';
import { REPLACEMENT_ENV, REUSE_PORT_ENV, runPrimary } from './cluster-primary.ts';
import { Metrics } from '../metrics/metrics.ts';
import type { CliIo, Command } from './command.ts';
import { commandUsage, tokenizeFlags, usageError } from './parse-flags.ts';

/**
 * `ctr-serve serve` (docs/flags.md): TF Serving's flag names, as `--flag=value` or `--flag value`. Listens until
 * io.stopSignal, then stops accepting, lets in-flight requests finish, and returns 0. With `--workers` > 1 this
 * process becomes the cluster primary (src/cli/cluster-primary.ts) and each worker runs this same command.
 */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

const command: Command = {
  summary: 'serve',
  async run(args, io) {
    if (args.includes('--help') || args.includes('-h')) {
      io.stdout.write(commandUsage('serve'));
      return 0;
    }
    const config = await readConfig(args, io);
    if (cluster.isPrimary) warnIgnoredFlags(config, io);
    if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, io);
    return runServer(config, io);
  },
};
export default command;

/** Raw serve flags (strings, `true` for a boolean alone); loadConfig validates them as config. */
export function parseServeFlags(args: readonly string[]): Record<string, string | boolean> {
  const { flags, positionals } = tokenizeFlags(args, FLAG_TABLE.serve.flags);
  if (positionals.length > 0) {
    throw usageError(`unexpected argument "${positionals[0]}" (flags look like --name=value)`);
  }
  return flags;
}

export async function readConfig(args: readonly string[], io: Pick<CliIo, 'cwd'>): Promise<ServingConfig> {
  const flags = parseServeFlags(args);
  const resolvePath = (p: string) => (isAbsolute(p) ? p : join(io.cwd, p));
  const readFlagFile = async (key: string) => {
    const value = flags[key];
    if (typeof value !== 'string') return undefined;
    const path = resolvePath(value);
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (err) {
      throw new CtrError('CTR_ERR_INVALID_CONFIG', `--${key}: cannot read ${path}`, { cause: err });
    }
  };
  if (typeof flags.model_base_path === 'string') flags.model_base_path = resolvePath(flags.model_base_path);
  const usesDefaultModels = flags.model_base_path === undefined && flags.model_config_file === undefined;
  return loadConfig({
    flags,
    modelConfigFile: await readFlagFile('model_config_file'),
    batchingParametersFile: await readFlagFile('batching_parameters_file'),
    monitoringConfigFile: await readFlagFile('monitoring_config_file'),
    defaultModelsDir: usesDefaultModels
      ? { path: DEFAULT_MODELS_DIR, names: await subdirectories(DEFAULT_MODELS_DIR) }
      : undefined,
    cpuCount: containerCpuCount(),
  });
}

/** Once per start (the primary, not each worker): TF Serving flags given that do nothing here. */
function warnIgnoredFlags(config: ServingConfig, io: Pick<CliIo, 'stderr'>): void {
  for (const name of config.ignoredFlags) {
    const why = FLAG_TABLE.serve.flags.find((spec) => spec.name === name)?.ignored;
    io.stderr.write(`ctr-serve: warning: --${name} is TF Serving's and has no effect here: ${why}\n`);
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** One HTTP server: this process alone, or one cluster worker sharing the primary's port. */
async function runServer(config: ServingConfig, io: CliIo): Promise<number> {
  const worker = cluster.isWorker ? cluster.worker : undefined;
  // Listened for from the start: a stop asked for while models load is honoured once the server is up.
  const stopRequested = Promise.race([
    io.stopSignal,
    new Promise<string>((resolve) => {
      worker?.on('message', (msg: { ctr?: string }) => msg?.ctr === 'shutdown' && resolve('shutdown'));
      worker?.on('disconnect', () => resolve('primary gone'));
    }),
  ]);
  const link = worker ? workerLink(worker) : localLink();
  const metrics = new Metrics();
  // Imported here, not at the top: the cluster primary serves no HTTP and need not load tfjs and Fastify.
  const { buildApp } = await import('../app.ts');
  const app = await buildApp(config, {
    metrics,
    link,
    metricsSource: worker ? clusterMetricsSource(link) : metrics,
  });
  // A replacement worker takes no connection before its models serve (cluster-primary.ts): the versions on disk
  // may have changed since the cluster started (a newest version that fails to load leaves it with none).
  if (worker && io.env[REPLACEMENT_ENV] !== undefined && !app.ctr.manager.isReady()) {
    app.log.warn('replacement worker: waiting for every model to be AVAILABLE before listening');
    if ((await Promise.race([stopRequested, ready(app.ctr.manager)])) !== 'ready') {
      await app.close();
      return 0;
    }
  }
  const reusePort = worker ? io.env[REUSE_PORT_ENV] : undefined;
  // Fastify hands its listen options to net.Server#listen, whose reusePort (Node ≥ 22.12) its types do not list.
  const listenOptions: FastifyListenOptions =
    reusePort === undefined
      ? { port: config.restApiPort, host: config.restApiHost }
      : ({
          port: Number(reusePort),
          host: config.restApiHost,
          exclusive: true,
          reusePort: true,
        } as FastifyListenOptions);
  const address = await app.listen(listenOptions);
  const grpc = await startGrpc(app, worker !== undefined);
  if (worker) {
    worker.send({ ctr: 'listening', address, grpcPort: grpc?.port });
  } else {
    if (grpc) io.stdout.write(`ctr-serve gRPC listening on ${config.restApiHost}:${grpc.port}\n`);
    io.stdout.write(`ctr-serve listening on ${address}\n`);
  }
  const reason = await stopRequested;
  app.log.info({ reason }, 'shutting down: finishing in-flight requests');
  app.ctr.stopTaking();
  await Promise.all([acceptQueueDrained(app.server), grpc?.stop()]);
  await app.close();
  return 0;
}

/**
 * The gRPC server beside the HTTP one (--port; 0 = none), over the same app (src/grpc/grpc-server.ts). In a
 * cluster worker HandleReloadConfigRequest is not served: a call reaches one worker (handle-reload-config.ts).
 */
async function startGrpc(app: FastifyInstance, inCluster: boolean): Promise<GrpcServer | undefined> {
  const { config, manager, service, metrics, applyModelConfig } = app.ctr;
  if (config.grpc.port === 0) return undefined;
  try {
    return await startGrpcServer(
      {
        config,
        manager,
        service,
        metrics,
        logger: app.log,
        applyModelConfig: inCluster ? undefined : applyModelConfig,
      },
      { host: config.restApiHost },
    );
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** Resolves 'ready' once every configured model has an AVAILABLE version (the manager's polls load them). */
function ready(manager: {
  isReady(): boolean;
  onVersionEvent(listener: () => void): () => void;
}): Promise<'ready'> {
  return new Promise((resolve) => {
    const unsubscribe = manager.onVersionEvent(() => {
      if (!manager.isReady()) return;
      unsubscribe();
      resolve('ready');
    });
    if (manager.isReady()) {
      unsubscribe();
      resolve('ready');
    }
  });
}

// Closing the listening socket resets the connections the kernel (or, with --workers, the cluster primary) has
// queued for this process but not yet handed over: clients would see ECONNRESET for requests they had sent. So
// the server keeps accepting, answering 503 CTR_ERR_SHUTTING_DOWN, until no connection has arrived for a quiet
// period (at most SHUTDOWN_DRAIN_MAX_MS).
const SHUTDOWN_QUIET_MS = 150;
const SHUTDOWN_DRAIN_MAX_MS = 3000;

async function acceptQueueDrained(server: import('node:net').Server): Promise<void> {
  const started = Date.now();
  let last = Date.now();
  const onConnection = () => (last = Date.now());
  server.on('connection', onConnection);
  try {
    while (Date.now() - last < SHUTDOWN_QUIET_MS && Date.now() - started < SHUTDOWN_DRAIN_MAX_MS) {
      await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_QUIET_MS / 3));
    }
  } finally {
    server.off('connection', onConnection);
  }
}
