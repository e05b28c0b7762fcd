import type { ModelConfig, ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import { loadServable } from './loader.ts';
import type { LoadedModel } from '../graph/model.ts';
import type { Logger, Servable, ServableHandle } from './servable.ts';
import { ServableRef } from './servable-ref.ts';
import { noopServingMetrics, type ServingMetrics } from './serving-metrics.ts';
import { aspiredVersions, scanVersions, type VersionDir } from './source.ts';
import { VersionLabels } from './version-labels.ts';
import {
  enterState,
  servingEntry,
  statusList,
  type VersionEntry,
  type VersionEvent,
  type VersionState,
  type VersionStatus,
} from './version-status.ts';

export type { VersionEvent, VersionState, VersionStatus } from './version-status.ts';
export type { Logger } from './servable.ts';

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
 * Ownership: `acquire` hands out a borrowed servable; its model is disposed once every handle is released.
 * Failures of acquire/status: CTR_ERR_MODEL_NOT_FOUND, CTR_ERR_VERSION_NOT_FOUND, CTR_ERR_MODEL_UNAVAILABLE,
 * CTR_ERR_SHUTTING_DOWN.
 */

export type ManagerDeps = {
  readonly loadModel: (path: string) => Promise<LoadedModel>;
  readonly metrics?: ServingMetrics;
  readonly logger?: Logger;
};
type ModelEntry = {
  config: ModelConfig;
  readonly versions: Map<number, VersionEntry>;
  cycle: Promise<void>;
  queued?: Promise<void>;
  lastScanError?: string;
};

export class ServableManager {
  readonly defaultModel: string;
  readonly #config: ServingConfig;
  readonly #deps: ManagerDeps;
  readonly #metrics: ServingMetrics;
  readonly #models = new Map<string, ModelEntry>();
  readonly #listeners = new Set<(event: VersionEvent) => void>();
  readonly #retiring = new Set<Promise<void>>();
  readonly #labels = new VersionLabels();
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(config: ServingConfig, deps: ManagerDeps) {
    this.defaultModel = config.defaultModel;
    this.#config = config;
    this.#deps = deps;
    this.#metrics = deps.metrics ?? noopServingMetrics;
    for (const m of config.models) {
      this.#models.set(m.name, { config: m, versions: new Map(), cycle: Promise.resolve() });
    }
  }

  async start(): Promise<void> {
    await this.pollNow();
    this.#armPoll();
  }

  acquire(name: string, version?: number): ServableHandle {
    if (this.#stopping) throw new CtrError('CTR_ERR_SHUTTING_DOWN', 'the server is shutting down');
    const model = this.#model(name);
    const entry = servingEntry(name, model.versions, version);
    return entry.current.acquire();
  }

  status(name: string, version?: number): VersionStatus[] {
    return statusList(name, this.#model(name).versions, version);
  }

  /** The version a label names (TF Serving's version_labels); CTR_ERR_UNKNOWN_VERSION_LABEL when none. */
  resolveLabel(name: string, label: string): number {
    this.#model(name);
    return this.#labels.resolve(name, label);
  }

  /**
   * TF Serving's ReloadConfig: models no longer listed are unloaded, new ones loaded, changed paths and policies
   * scanned; then the labels are set (applyLabels: CTR_ERR_INVALID_CONFIG leaves the previous ones).
   */
  async reloadConfig(models: readonly ModelConfig[], allowUnavailableLabels: boolean): Promise<void> {
    const removed = [...this.#models.values()].filter((m) => !models.some((c) => c.name === m.config.name));
    for (const config of models) {
      const model = this.#models.get(config.name);
      if (model) model.config = config;
      else this.#models.set(config.name, { config, versions: new Map(), cycle: Promise.resolve() });
    }
    const unloads = removed.map(async (m) => {
      this.#models.delete(m.config.name);
      await (m.queued ?? m.cycle);
      await Promise.all([...m.versions.values()].map((e) => this.#unload(m, e)));
    });
    await Promise.all([this.pollNow(), ...unloads]);
    this.applyLabels(models, allowUnavailableLabels);
  }

  /** Sets the labels of `models` (see reloadConfig); at start, after the first load. */
  applyLabels(models: readonly ModelConfig[], allowUnavailable: boolean): void {
    const available = (name: string, version: number) =>
      this.#models.get(name)?.versions.get(version)?.state === 'AVAILABLE';
    this.#labels.update(models, available, allowUnavailable);
  }

  modelNames(): string[] {
    return [...this.#models.keys()];
  }

  /** True when every configured model has an AVAILABLE version. */
  isReady(): boolean {
    if (this.#stopping) return false;
    return [...this.#models.values()].every((m) =>
      [...m.versions.values()].some((e) => e.state === 'AVAILABLE'),
    );
  }

  /** Subscribes to version state changes; returns the unsubscribe function. Listeners must not throw. */
  onVersionEvent(listener: (event: VersionEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Scans every base path and applies the changes now (what the poll timer does); for tests and admin. */
  async pollNow(): Promise<void> {
    await Promise.all([...this.#models.values()].map((m) => this.#queueCycle(m)));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const models = [...this.#models.values()];
    await Promise.all(models.map((m) => m.queued ?? m.cycle));
    await Promise.all(models.flatMap((m) => [...m.versions.values()].map((e) => this.#unload(m, e))));
    await Promise.all(this.#retiring);
  }

  #model(name: string): ModelEntry {
    const model = this.#models.get(name);
    if (!model) throw new CtrError('CTR_ERR_MODEL_NOT_FOUND', `no model named "${name}" is configured`);
    return model;
  }

  #armPoll(): void {
    const seconds = this.#config.fileSystemPollWaitSeconds;
    if (seconds <= 0 || this.#stopping) return;
    this.#timer = setTimeout(() => {
      void this.pollNow().finally(() => this.#armPoll());
    }, seconds * 1000);
    this.#timer.unref();
  }

  // One scan-and-apply per model at a time; a poll arriving while one is queued joins it.
  #queueCycle(model: ModelEntry): Promise<void> {
    if (this.#stopping) return model.cycle;
    model.queued ??= model.cycle.then(async () => {
      model.queued = undefined;
      try {
        await this.#cycle(model);
      } catch (err) {
        this.#deps.logger?.error({ err, model: model.config.name }, 'model repository scan failed');
      }
    });
    model.cycle = model.queued;
    return model.queued;
  }

  async #cycle(model: ModelEntry): Promise<void> {
    const { name, basePath, versionPolicy } = model.config;
    const { found, error } = await scanVersions(basePath);
    if (found.length === 0) {
      const why = error ?? `no version directories under ${basePath}`;
      if (why !== model.lastScanError) this.#deps.logger?.warn({ model: name, basePath }, why);
      model.lastScanError = why;
      return; // keep serving what is loaded (TF Serving does the same)
    }
    model.lastScanError = undefined;
    const aspired = aspiredVersions(found, versionPolicy);
    const toLoad = aspired
      .filter((dir) => {
        const e = model.versions.get(dir.version);
        if (e?.current && e.fingerprint === dir.fingerprint) return false;
        return e?.failedFingerprint !== dir.fingerprint;
      })
      .reverse(); // newest first: it is the one unversioned requests get
    for (const dir of toLoad) {
      const e = model.versions.get(dir.version);
      if (!e?.current) this.#setState(model, this.#entry(model, dir.version), 'START');
    }
    for (const dir of toLoad) {
      if (this.#stopping) return;
      await this.#load(model, dir);
    }
    const wanted = new Set(aspired.map((d) => d.version));
    const wantedServing = aspired.some((d) => model.versions.get(d.version)?.state === 'AVAILABLE');
    if (!wantedServing) return; // availability first: keep what serves until an aspired version does
    for (const e of model.versions.values()) {
      if (e.current && e.state === 'AVAILABLE' && !wanted.has(e.version)) void this.#unload(model, e);
    }
  }

  #entry(model: ModelEntry, version: number): VersionEntry {
    let e = model.versions.get(version);
    if (!e) {
      e = { version, state: 'START', errorCode: 'OK', errorMessage: '' };
      model.versions.set(version, e);
    }
    return e;
  }

  async #load(model: ModelEntry, dir: VersionDir): Promise<void> {
    const name = model.config.name;
    const entry = this.#entry(model, dir.version);
    const reload = entry.current !== undefined;
    if (!reload) this.#setState(model, entry, 'LOADING');
    const t0 = performance.now();
    let servable: Servable;
    try {
      servable = await loadServable({ name, version: dir.version }, dir.path, this.#deps.loadModel);
    } catch (err) {
      const loadSeconds = (performance.now() - t0) / 1000;
      this.#metrics.countLoad(name, 'failure', loadSeconds);
      entry.failedFingerprint = dir.fingerprint;
      this.#deps.logger?.error(
        { err, model: name, version: dir.version, path: dir.path },
        'version failed to load',
      );
      if (!reload) this.#setState(model, entry, 'END', err, loadSeconds);
      return;
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    this.#metrics.countLoad(name, 'success', loadSeconds);
    if (this.#stopping) {
      servable.model.dispose();
      return;
    }
    const previous = entry.current;
    entry.current = new ServableRef(servable);
    entry.fingerprint = dir.fingerprint;
    entry.failedFingerprint = undefined;
    this.#metrics.setModelInfo(servable.id, servable.model.info);
    this.#setState(model, entry, 'AVAILABLE', undefined, loadSeconds);
    this.#deps.logger?.info({ model: name, version: dir.version, loadSeconds, reload }, 'version available');
    if (previous) void this.#retire(previous);
  }

  async #unload(model: ModelEntry, entry: VersionEntry): Promise<void> {
    const loaded = entry.current;
    if (!loaded) return;
    entry.current = undefined;
    entry.fingerprint = undefined;
    this.#metrics.removeModelInfo(loaded.servable.id);
    this.#setState(model, entry, 'UNLOADING');
    await this.#retire(loaded);
    if (entry.state === 'UNLOADING') this.#setState(model, entry, 'END');
    this.#deps.logger?.info({ model: model.config.name, version: entry.version }, 'version unloaded');
  }

  #retire(ref: ServableRef): Promise<void> {
    const done = ref.retire((err) =>
      this.#deps.logger?.error({ err, id: ref.servable.id }, 'dispose failed'),
    );
    this.#retiring.add(done);
    void done.finally(() => this.#retiring.delete(done));
    return done;
  }

  #setState(
    model: ModelEntry,
    entry: VersionEntry,
    state: VersionState,
    err?: unknown,
    loadSeconds?: number,
  ): void {
    const event = enterState(model.config.name, entry, state, err, loadSeconds);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (e) {
        this.#deps.logger?.error({ err: e }, 'version event listener threw');
      }
    }
  }
}
