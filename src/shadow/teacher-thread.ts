import { Worker } from 'node:worker_threads';
import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { ServableId } from '../serving/servable.ts';
import type { ShadowEvent, ShadowLogger } from './shadow-scorer.ts';
import type { TeacherJob, TeacherReply } from './teacher-worker.ts';

/**
 * The shadow teacher off the student's thread (docs/shadow.md): a worker_thread (teacher-worker.ts) with its own
 * tfjs backend and its own manager of the teacher models, so a teacher call never blocks the event loop that
 * answers student requests. `run` is the ShadowScorer's TeacherRunner: the scorer keeps its bounded queue and
 * drop counting on this side and sends one job at a time; the job's requests and CtrBatch are copied to the
 * thread, the scores come back as a transferred Float32Array. A teacher failure in the thread rejects `run` with
 * its code (CTR_ERR_QUEUE_FULL still counts as a drop). Until the thread has loaded its teacher, jobs fail with
 * the manager's CTR_ERR_MODEL_UNAVAILABLE, as they would in process.
 *
 * Lifecycle: one per app, started when a shadow pair is configured; `stop()` asks the thread to finish its
 * running job and unload, then terminates it; pending jobs reject with CTR_ERR_SHUTTING_DOWN.
 */
export class TeacherThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: TeacherResult) => void; reject: (e: Error) => void }>();
  readonly #ready: Promise<void>;
  readonly #tensorWaiters: ((n: number) => void)[] = [];
  #next = 0;
  #exited = false;

  /** Serves `teachers` (model names of `config`) on a new thread; `lowPriority`: SCHED_IDLE, nice 19 (Linux). */
  constructor(config: ServingConfig, teachers: readonly string[], logger?: ShadowLogger, lowPriority = true) {
    const names = new Set(teachers);
    const teacherConfig: ServingConfig = {
      ...config,
      models: config.models.filter((m) => names.has(m.name)).map((m) => ({ ...m, shadowModel: undefined })),
      defaultModel: teachers[0]!,
    };
    // The sources are TypeScript: the worker registers tsx's loader first, as bin/ctr-serve.js does.
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const entry = JSON.stringify(new URL('./teacher-worker.ts', import.meta.url).href);
    const code = `import(${tsx}).then((m) => { m.register(); return import(${entry}); })`;
    this.#worker = new Worker(code, {
      eval: true,
      workerData: { config: JSON.parse(JSON.stringify(teacherConfig)) as unknown, lowPriority },
    });
    this.#worker.unref();
    this.#ready = new Promise((resolve, reject) => {
      this.#worker.on('message', (msg: TeacherReply | 'ready' | LogMessage | { tensors: number }) => {
        if (msg === 'ready') return resolve();
        if ('tensors' in msg) return this.#tensorWaiters.shift()?.(msg.tensors);
        if ('log' in msg) return logger?.[msg.log === 'error' ? 'error' : 'warn'](msg.obj, msg.msg);
        const waiter = this.#pending.get(msg.job);
        this.#pending.delete(msg.job);
        if (!waiter) return;
        if ('error' in msg) {
          const { code, message } = msg.error;
          waiter.reject(code ? new CtrError(code as never, message) : new Error(message));
        } else {
          waiter.resolve({ id: msg.id, scores: msg.scores });
        }
      });
      this.#worker.once('error', (err) => {
        logger?.error({ err: err.message }, 'the shadow teacher thread failed');
        reject(err);
      });
      this.#worker.once('exit', () => {
        this.#exited = true;
        reject(new Error('the shadow teacher thread exited'));
        for (const w of this.#pending.values()) {
          w.reject(new CtrError('CTR_ERR_SHUTTING_DOWN', 'the shadow teacher thread stopped'));
        }
        this.#pending.clear();
      });
    });
    this.#ready.catch(() => undefined);
  }

  /** Resolves once the thread has tried its first load of every teacher (tests; the scorer does not wait). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The ShadowScorer's TeacherRunner. */
  readonly run = (teacher: string, event: ShadowEvent): Promise<TeacherResult> => {
    if (this.#exited) {
      return Promise.reject(new CtrError('CTR_ERR_SHUTTING_DOWN', 'the shadow teacher thread stopped'));
    }
    const job = this.#next++;
    const message: TeacherJob = { job, teacher, requests: event.requests, batch: event.batch };
    return new Promise((resolve, reject) => {
      this.#pending.set(job, { resolve, reject });
      this.#worker.postMessage(message);
    });
  };

  /** tf.memory().numTensors in the thread (tensors must not leak across jobs). */
  numTensors(): Promise<number> {
    return new Promise((resolve) => {
      this.#tensorWaiters.push(resolve);
      this.#worker.postMessage('tensors');
    });
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage('stop');
    const timer = setTimeout(() => void this.#worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

type TeacherResult = { readonly id: ServableId; readonly scores: Float32Array };
type LogMessage = { readonly log: string; readonly obj: object; readonly msg?: string };
