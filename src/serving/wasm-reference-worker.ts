import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../graph/backend.ts';
import { loadModel } from '../graph/load-model.ts';
import type { HostTensor } from '../graph/model.ts';

/**
 * Worker thread of backend-check.ts: loads the model at `path` on wasm (a thread has its own tfjs, so the serving
 * thread's backend is untouched), runs each input set on `signature`, and posts the outputs, or the error text.
 */
type Job = { path: string; signature: string; inputs: Record<string, HostTensor>[] };
const { path, signature, inputs } = workerData as Job;
try {
  await initBackend('wasm');
  const model = await loadModel(path);
  try {
    const outputs = [];
    for (const set of inputs) outputs.push(await model.predictHost(set, signature));
    parentPort!.postMessage({ outputs });
  } finally {
    model.dispose();
  }
} catch (err) {
  parentPort!.postMessage({ error: (err as Error)?.message ?? String(err) });
}
