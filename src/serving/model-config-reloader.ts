import { readFile } from 'node:fs/promises';
import { parseModelConfigFile } from '../config/model-config-file.ts';
import { reloadedModels, type ModelConfig, type ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { ServableManager } from './manager.ts';
import type { Logger } from './servable.ts';

/**
 * `--model_config_file_poll_wait_seconds` (TF Serving's periodic config reload, server_core.cc ReloadConfig):
 * every so many seconds the model config file is read again and, when its text changed (or the last attempt
 * failed), its models are applied with ServableManager.reloadConfig: models added or removed, base paths,
 * version policies and version labels changed. A file that no longer parses, or labels naming versions that
 * are not AVAILABLE, are logged and change nothing; the next poll tries again (so a label waiting for its
 * version applies once that version is AVAILABLE). Shadow pairs and the default model stay as started.
 *
 * `apply` is ModelService/HandleReloadConfigRequest (model_servers/model_service_impl.cc → ServerCore::
 * ReloadConfig): the models given replace the served ones through the same path, one reload at a time, and the
 * caller hears the outcome. As in TF Serving, the file's next poll applies the file again over it.
 */
export class ModelConfigReloader {
  readonly #config: ServingConfig;
  readonly #manager: ServableManager;
  readonly #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #applied: string | undefined;
  #stopped = false;
  #running: Promise<void> = Promise.resolve();

  constructor(config: ServingConfig, manager: ServableManager, logger?: Logger) {
    this.#config = config;
    this.#manager = manager;
    this.#logger = logger;
  }

  /** Polls from now on when the config came from a file and the poll interval is > 0. */
  start(): void {
    if (!this.#config.modelConfigFile || this.#config.modelConfigFilePollWaitSeconds <= 0) return;
    this.#arm();
  }

  /** Reads and applies the file once (what each poll does); resolves when applied or refused. */
  reloadNow(): Promise<void> {
    this.#running = this.#running.then(() => this.#reload());
    return this.#running;
  }

  /**
   * Serves `models` from now on (checked as a reloaded file's models are); resolves once every one of them has
   * tried to load. Fails with CTR_ERR_INVALID_CONFIG (nothing changed) or, as ServerCore's
   * WaitUntilConfiguredModelsAvailable, CTR_ERR_MODELS_NOT_AVAILABLE naming the models with no AVAILABLE version.
   */
  apply(models: readonly ModelConfig[]): Promise<void> {
    const run = this.#running.then(async () => {
      const checked = reloadedModels(this.#config, models);
      await this.#manager.reloadConfig(checked, this.#config.allowVersionLabelsForUnavailableModels);
      this.#applied = undefined; // the file, when polled, is applied again at its next poll
      this.#logger?.info({ models: checked.map((m) => m.name) }, 'model config reloaded over gRPC');
      const missing = checked
        .map((m) => ({ name: m.name, status: this.#manager.status(m.name) }))
        .filter(({ status }) => !status.some((v) => v.state === 'AVAILABLE'));
      if (missing.length > 0) {
        const what = missing.map(({ name, status }) =>
          [name, ...status.map((v) => v.errorMessage).filter(Boolean)].join(': '),
        );
        throw new CtrError(
          'CTR_ERR_MODELS_NOT_AVAILABLE',
          `Some models did not become available: {${what.join(', ')}}`,
        );
      }
    });
    this.#running = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.reloadNow().finally(() => this.#arm());
    }, this.#config.modelConfigFilePollWaitSeconds * 1000);
    this.#timer.unref();
  }

  async #reload(): Promise<void> {
    const path = this.#config.modelConfigFile;
    if (!path || this.#stopped) return;
    try {
      const text = await readFile(path, 'utf8');
      if (text === this.#applied) return;
      const parsed = parseModelConfigFile(text, path);
      const models = reloadedModels(this.#config, parsed.models);
      await this.#manager.reloadConfig(models, this.#config.allowVersionLabelsForUnavailableModels);
      if (this.#applied !== undefined) {
        this.#logger?.info({ path, models: models.map((m) => m.name) }, 'model config file reloaded');
      }
      this.#applied = text;
    } catch (err) {
      this.#logger?.error({ err, path }, 'model config file not applied; the previous config stays');
    }
  }
}
