import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../graph/backend.ts';
import type { LoadedModel } from '../graph/model.ts';
import { wholeBuffers, type ModelThreadData, type ModelThreadRequest } from './model-thread.ts';

/**
 * The model thread's side (model-thread.ts starts it): its own tfjs backend and the models the serving thread
 * asked for, each loaded here from its version directory by the loader module it was given; it runs the predictions the batcher posts, one
 * after the other, and posts the outputs back with their buffers transferred.
 */
const { backend, loader } = workerData as ModelThreadData;
await initBackend(backend);
const load = (await import(loader.module))[loader.name] as (path: string) => Promise<LoadedModel>;
const models = new Map<number, LoadedModel>();

function fail(call: number, err: unknown): void {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && e.code.startsWith('CTR_ERR_') ? e.code : undefined;
  parentPort!.postMessage({ call, error: { code, message: String(e?.message ?? err) } });
}

async function handle(msg: ModelThreadRequest): Promise<void> {
  if (msg.op === 'unload') {
    models.get(msg.key)?.dispose();
    models.delete(msg.key);
    return;
  }
  if (msg.op === 'tensors') {
    parentPort!.postMessage({ call: msg.call, tensors: tf.memory().numTensors });
    return;
  }
  if (msg.op === 'load') {
    const model = await load(msg.path);
    models.set(msg.key, model);
    parentPort!.postMessage({ call: msg.call, info: model.info });
    return;
  }
  const model = models.get(msg.key);
  if (!model) throw new Error(`model ${msg.key} is not loaded in the model thread`);
  const t0 = performance.now();
  const outputs = await model.predictHost(msg.inputs, msg.signature);
  const runMs = performance.now() - t0;
  parentPort!.postMessage({ call: msg.call, outputs, runMs }, wholeBuffers(outputs));
}

// Predictions run one at a time, in order: the thread is one batch thread. A load runs beside them (a new version
// loading must not stall the one serving, as on the event loop before); an unload only comes after the version's
// last prediction was answered (the manager disposes a version once its last handle is released).
let chain = Promise.resolve();
parentPort!.on('message', (msg: ModelThreadRequest) => {
  const run = () => handle(msg).catch((err: unknown) => fail('call' in msg ? msg.call : -1, err));
  if (msg.op === 'predict') chain = chain.then(run);
  else void run();
});
parentPort!.postMessage('ready');
