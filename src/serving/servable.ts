import type { LoadedModel } from '../graph/model.ts';

/** A model name and one of its versions: what TF Serving calls a servable id. */
export type ServableId = { readonly name: string; readonly version: number };

/**
 * One loaded, warmed-up and verified version of a model. The manager creates it (through the loader) and owns
 * it: requests borrow it through a ServableHandle and must release the handle when their prediction is done;
 * the manager disposes `model` only after the last handle on it is released (so an unload or a reload never
 * pulls weights from under a running request). Servables are immutable; `model` is safe to call concurrently.
 */
export interface Servable {
  readonly id: ServableId;
  readonly model: LoadedModel;
  /** Date.now() when it became AVAILABLE. */
  readonly loadedAtMs: number;
}

/** A borrowed servable. `release()` is idempotent; forgetting it keeps the version from ever being disposed. */
export type ServableHandle = { readonly servable: Servable; release(): void };

/** pino's calling convention (object first), which Fastify's logger also has. */
export type Logger = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};
