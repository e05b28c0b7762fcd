import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../graph/backend.ts';
import { CtrError } from '../errors/registry.ts';
import { RUN_MS, type HostTensor, type LoadedModel, type ModelInfo } from '../graph/model.ts';
import { predictThroughHost } from '../graph/predict-through-host.ts';

/**
 * The batch thread off the event loop (issue 9, bench/README.md "Overload"): a worker_thread with its own tfjs
 * backend that runs every model call of the serving thread, so the event loop only reads, refuses, queues and
 * answers requests, and a refusal never waits behind a model call. TF Serving's HTTP threads and batch threads
 * are apart in the same way.
 *
 * Lifecycle: one per serving process, started before the first load; `loader(inner)` wraps the manager's
 * loadModel: each version is loaded by `inner` on this thread (metadata, validation, what every other path uses)
 * and again in the model thread from the same directory; its `predictHost` runs there, and the loader's warm-up
 * checks that copy like any model. Disposing the version unloads both. Inputs are copied to the thread, outputs
 * come back as transferred buffers: no tensor crosses. A failure in the thread rejects with its CtrError code
 * (or a plain Error, which the batcher turns into CTR_ERR_EXECUTION); if the thread dies, every pending and later
 * call fails with CTR_ERR_EXECUTION and the process's health reports it.
 */
export class ModelThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  readonly #ready: Promise<void>;
  #next = 0;
  #dead: Error | undefined;
  #stopping = false;

  /** `onDeath`: the thread ended without `stop()` (an out-of-memory abort, a fault in the runtime). */
  constructor(data: ModelThreadData, onDeath: (err: Error) => void) {
    // The sources are TypeScript: the worker registers tsx's loader first, as bin/ctr-serve.js does.
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const entry = JSON.stringify(new URL('./model-thread-worker.ts', import.meta.url).href);
    const code = `import(${tsx}).then((m) => { m.register(); return import(${entry}); })`;
    this.#worker = new Worker(code, { eval: true, workerData: data });
    this.#worker.unref();
    this.#ready = new Promise((resolve, reject) => {
      this.#worker.on('message', (msg: Reply | ErrorReply | 'ready') => {
        if (msg === 'ready') return resolve();
        const waiter = this.#pending.get(msg.call);
        this.#pending.delete(msg.call);
        if (this.#pending.size === 0) this.#worker.unref();
        if (!waiter) return;
        if ('error' in msg) {
          const { code, message } = msg.error;
          waiter.reject(code ? new CtrError(code as never, message) : new Error(message));
        } else {
          waiter.resolve(msg);
        }
      });
      this.#worker.once('error', (err) => {
        this.#dead = err;
        reject(err);
      });
      this.#worker.once('exit', (code) => {
        const expected = this.#stopping;
        this.#dead ??= new Error(`the model thread exited (code ${code})`);
        if (!expected) onDeath(this.#dead);
        reject(this.#dead);
        for (const w of this.#pending.values()) w.reject(this.#dead);
        this.#pending.clear();
      });
    });
    this.#ready.catch(() => undefined);
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /** The manager's loadModel: the version is loaded in the thread; this side holds its info and calls it. */
  readonly loadModel = async (path: string): Promise<LoadedModel> => {
    const key = this.#next++;
    const { info } = await this.#call({ op: 'load', call: key, key, path });
    let disposed = false;
    const model: LoadedModel = {
      info: info!,
      predict: (inputs, signature) => predictThroughHost(model, inputs, signature),
      predictHost: async (inputs, signature) => {
        if (disposed) throw new CtrError('CTR_ERR_EXECUTION', 'the model has been disposed');
        const sig = signature ?? info!.defaultSignature;
        const call = this.#next++;
        const reply = await this.#call({ op: 'predict', call, key, signature: sig, inputs: copied(inputs) });
        return Object.assign(reply.outputs!, { [RUN_MS]: reply.runMs });
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        if (!this.#dead) this.#worker.postMessage({ op: 'unload', key } satisfies ModelThreadRequest);
      },
    };
    return model;
  };

  /** tf.memory().numTensors in the thread (tests: no tensor may outlive its call). */
  async numTensors(): Promise<number> {
    const call = this.#next++;
    return (await this.#call({ op: 'tensors', call })).tensors!;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#worker.terminate();
  }

  #call(msg: ModelThreadRequest & { call: number }): Promise<Reply> {
    if (this.#dead) return Promise.reject(this.#dead);
    return new Promise((resolve, reject) => {
      // Referenced while a call is pending (a process waiting on its model stays alive), not while idle.
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(msg.call, { resolve, reject });
      this.#worker.postMessage(msg);
    });
  }
}

/** What the thread is started with: its backend, and the loadModel it uses (a module URL and an export name). */
export type ModelThreadData = {
  readonly backend: BackendChoice;
  readonly loader: { readonly module: string; readonly name: string };
};
export type ModelThreadRequest =
  | { readonly op: 'load'; readonly call: number; readonly key: number; readonly path: string }
  | { readonly op: 'unload'; readonly key: number }
  | {
      readonly op: 'predict';
      readonly call: number;
      readonly key: number;
      readonly signature: string;
      readonly inputs: Record<string, HostTensor>;
    }
  | { readonly op: 'tensors'; readonly call: number };

type Reply = {
  readonly call: number;
  readonly info?: ModelInfo;
  readonly outputs?: Record<string, HostTensor>;
  readonly runMs?: number;
  readonly tensors?: number;
};
type ErrorReply = {
  readonly call: number;
  readonly error: { readonly code?: string; readonly message: string };
};

/**
 * The inputs as they can cross: a view into a larger buffer (a request body's bytes, Node's buffer pool) is cut
 * to its own values, since posting a view copies the whole buffer behind it.
 */
function copied(inputs: Readonly<Record<string, HostTensor>>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(inputs)) {
    const v = t.values;
    const whole = !ArrayBuffer.isView(v) || (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength);
    out[name] = whole ? t : { ...t, values: (v as Float32Array).slice() };
  }
  return out;
}

/** The buffers that can move instead of being copied: those a tensor's values cover whole (not wasm memory). */
export function wholeBuffers(tensors: Readonly<Record<string, HostTensor>>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const { values } of Object.values(tensors)) {
    if (
      ArrayBuffer.isView(values) &&
      values.byteOffset === 0 &&
      values.byteLength === values.buffer.byteLength
    ) {
      out.add(values.buffer as ArrayBuffer);
    }
  }
  return [...out];
}
