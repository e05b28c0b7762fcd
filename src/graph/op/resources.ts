import { CtrError } from '../../errors/registry.ts';

type Entry = { readonly kind: string; readonly value: unknown; readonly free?: () => void };

/** Every live resource by id. Kernels are global (tfjs-converter's registerOp), so they find state here. */
const live = new Map<string, Entry>();
let nextScope = 0;

/**
 * The stateful resources (lookup tables, ...) of one loaded model version, TensorFlow's ResourceMgr of a
 * Session: made at load, reached by kernels through an id that load writes into the node's attrs, freed all at
 * once by dispose() when the version unloads. Ids are unique per process, so two versions of one model never
 * share a table.
 */
export class ResourceScope {
  readonly #prefix = `ctr_serve/resources/${nextScope++}/`;
  readonly #ids: string[] = [];
  #disposed = false;

  /** Registers `value` under `key` (unique in this scope); returns the id kernels look it up by. */
  add(key: string, kind: string, value: unknown, free?: () => void): string {
    if (this.#disposed) throw new Error('resource scope already disposed');
    const id = this.#prefix + key;
    if (live.has(id)) throw new Error(`resource ${key} registered twice`);
    live.set(id, { kind, value, free });
    this.#ids.push(id);
    return id;
  }

  get size(): number {
    return this.#ids.length;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const id of this.#ids) {
      live.get(id)?.free?.();
      live.delete(id);
    }
    this.#ids.length = 0;
  }
}

/** The live resource `id` of `kind`; CTR_ERR_EXECUTION when its version was unloaded or it is of another kind. */
export function resourceOf<T>(id: string, kind: string, where: string): T {
  const e = live.get(id);
  if (!e) throw new CtrError('CTR_ERR_EXECUTION', `${where}: resource ${id} is gone (model unloaded)`);
  if (e.kind !== kind) {
    throw new CtrError('CTR_ERR_INVALID_GRAPH', `${where}: resource ${id} is a ${e.kind}, not a ${kind}`);
  }
  return e.value as T;
}

/** Number of live resources in the process (tests: a disposed version leaves none behind). */
export function liveResourceCount(): number {
  return live.size;
}
