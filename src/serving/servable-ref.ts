import type { Servable, ServableHandle } from './servable.ts';

/**
 * The manager's hold on one loaded servable: it counts the handles requests have borrowed, and `retire()`
 * disposes the model once the last of them is released (immediately when none is out). A retired ref hands out
 * no new handles: the manager stops offering it before retiring it. `dispose` errors go to `onDisposeError`.
 */
export class ServableRef {
  readonly servable: Servable;
  #inFlight = 0;
  #retired: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  constructor(servable: Servable) {
    this.servable = servable;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  acquire(): ServableHandle {
    this.#inFlight++;
    let released = false;
    return {
      servable: this.servable,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
        if (this.#inFlight === 0) this.#drained?.();
      },
    };
  }

  retire(onDisposeError: (err: unknown) => void): Promise<void> {
    this.#retired ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      try {
        this.servable.model.dispose();
      } catch (err) {
        onDisposeError(err);
      }
    })();
    return this.#retired;
  }
}
