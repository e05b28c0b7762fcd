import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { LoadedModel } from '../graph/model.ts';
import type { ServableHandle } from './servable.ts';
import type { ServingMetrics } from './serving-metrics.ts';

/**
 * The manager of TF Serving: it owns every loaded version of every configured model.
 *
 * Lifecycle: `start()` scans each model's base path once and loads its aspired versions (resolves when every
 * model has tried once, whether it succeeded or not), then polls every `fileSystemPollWaitSeconds`. A new version
 * is loaded, warmed up and verified before it becomes AVAILABLE; only then are versions the policy no longer
 * wants unloaded (availability-preserving: a version that fails to load ends in END with its error, and what was
 * serving keeps serving; it is not retried until its files change). Loads run one at a time per model.
 * `stop()` stops polling, refuses new acquires (CTR_ERR_SHUTTING_DOWN), waits for in-flight handles and disposes.
 *
 * Ownership: `acquire` hands out a borrowed servable; the manager disposes a version's model only once every
 * handle on it has been released.
 *
 * Failures of acquire/status: CTR_ERR_MODEL_NOT_FOUND, CTR_ERR_VERSION_NOT_FOUND, CTR_ERR_MODEL_UNAVAILABLE,
 * CTR_ERR_SHUTTING_DOWN.
 */

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export type VersionStatus = {
  readonly version: number;
  readonly state: VersionState;
  /** TF Serving's canonical code: 'OK', or e.g. 'UNKNOWN', 'NOT_FOUND', 'INVALID_ARGUMENT'. */
  readonly errorCode: string;
  /** Empty when OK; else `CTR_ERR_X: message`. */
  readonly errorMessage: string;
};

export type VersionEvent = VersionStatus & {
  readonly model: string;
  /** Seconds the load (read + warm-up + verify) took, on AVAILABLE and failed END events. */
  readonly loadSeconds?: number;
};

/** pino's calling convention (object first), which Fastify's logger also has. */
export type Logger = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

export type ManagerDeps = {
  readonly loadModel: (path: string) => Promise<LoadedModel>;
  readonly metrics?: ServingMetrics;
  readonly logger?: Logger;
};

export class ServableManager {
  readonly defaultModel: string;

  constructor(config: ServingConfig, deps: ManagerDeps) {
    this.defaultModel = config.defaultModel;
    void deps;
  }

  start(): Promise<void> {
    throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', 'the serving core is being written');
  }

  acquire(name: string, version?: number): ServableHandle {
    throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `${name}:${version} (the serving core is being written)`);
  }

  status(name: string, version?: number): VersionStatus[] {
    throw new CtrError('CTR_ERR_MODEL_UNAVAILABLE', `${name}:${version} (the serving core is being written)`);
  }

  modelNames(): string[] {
    return [];
  }

  isReady(): boolean {
    return false;
  }

  /** Subscribes to version state changes; returns the unsubscribe function. */
  onVersionEvent(listener: (event: VersionEvent) => void): () => void {
    void listener;
    return () => {};
  }

  /** Scans every base path and applies the changes now (what the poll timer does); for tests and admin. */
  pollNow(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
