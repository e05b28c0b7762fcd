import { AsyncLocalStorage } from 'node:async_hooks';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Tensors made during one asynchronous graph execution, freed when it fails. tfjs-converter's executeAsync
 * (graph_executor.js, _executeAsync) disposes its intermediate tensors only when the whole graph has run: when a
 * kernel throws (an index refused by ../op/gather.ts, a shape error), the tensors already computed stay
 * allocated. tf.tidy cannot wrap an async call, and the engine's scopes are one stack shared by every request
 * in flight, so the tensors are collected per call through AsyncLocalStorage instead: the engine's trackTensor
 * (which every new tensor passes through) also records the tensor in the current call's set, if any.
 */
const calls = new AsyncLocalStorage<Set<tf.Tensor>>();
let hooked: object | undefined;

type TrackingEngine = { trackTensor(t: tf.Tensor, backend: unknown): void };

function hookEngine(): void {
  const engine = tf.engine() as unknown as TrackingEngine;
  if (hooked === engine) return;
  hooked = engine;
  const track = engine.trackTensor;
  engine.trackTensor = function (this: unknown, t: tf.Tensor, backend: unknown) {
    track.call(this, t, backend);
    const made = calls.getStore();
    if (!made) return;
    made.add(t);
    // Long loops make many short-lived tensors: keep only the live ones.
    if (made.size > 4096) for (const m of made) if (m.isDisposed) made.delete(m);
  };
}

/** Runs `run`; if it rejects, every tensor made meanwhile by this call and still alive is disposed first. */
export async function freeTensorsOnFailure<T>(run: () => Promise<T>): Promise<T> {
  hookEngine();
  const made = new Set<tf.Tensor>();
  try {
    return await calls.run(made, run);
  } catch (err) {
    for (const t of made) if (!t.isDisposed) t.dispose();
    throw err;
  }
}
