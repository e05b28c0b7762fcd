import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '../src/graph/load-model.ts';
import type { BenchReference } from './reference.ts';

export type MemoryReport = {
  readonly predictions: number;
  readonly calls: number;
  readonly seconds: number;
  /** RSS in MiB after warm-up, at the end, and the extremes seen in between. */
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssMinMiB: number;
  readonly rssMaxMiB: number;
  readonly numTensorsStart: number;
  readonly numTensorsEnd: number;
  /** RSS stayed within ±10% of its post-warm-up value and no tensor leaked (bench/README.md targets). */
  readonly flat: boolean;
};

const MiB = 1024 * 1024;

/**
 * A long run through the path HTTP takes (LoadedModel.predictHost on host arrays, batch 1024, rewritten
 * graph): RSS and tf.memory().numTensors after a warm-up and across `predictions` predictions.
 */
export async function runMemory(
  ref: BenchReference,
  modelPath: string,
  predictions: number,
): Promise<MemoryReport> {
  const model = await loadModel(modelPath);
  try {
    const batch = ref.rows;
    const inputs = {
      history: { dtype: 'DT_INT32' as const, shape: [batch, ref.historyLength], values: ref.history },
      candidate: { dtype: 'DT_INT32' as const, shape: [batch], values: ref.candidate },
    };
    for (let i = 0; i < 50; i++) await model.predictHost(inputs);
    global.gc?.();
    const rssStart = process.memoryUsage().rss;
    const numTensorsStart = tf.memory().numTensors;
    let rssMin = rssStart;
    let rssMax = rssStart;
    const calls = Math.ceil(predictions / batch);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      await model.predictHost(inputs);
      if (i % 50 === 0) {
        const rss = process.memoryUsage().rss;
        rssMin = Math.min(rssMin, rss);
        rssMax = Math.max(rssMax, rss);
      }
    }
    global.gc?.();
    const rssEnd = process.memoryUsage().rss;
    const numTensorsEnd = tf.memory().numTensors;
    return {
      predictions: calls * batch,
      calls,
      seconds: (performance.now() - t0) / 1000,
      rssStartMiB: rssStart / MiB,
      rssEndMiB: rssEnd / MiB,
      rssMinMiB: Math.min(rssMin, rssEnd) / MiB,
      rssMaxMiB: Math.max(rssMax, rssEnd) / MiB,
      numTensorsStart,
      numTensorsEnd,
      flat: Math.abs(rssEnd - rssStart) <= 0.1 * rssStart && numTensorsEnd === numTensorsStart,
    };
  } finally {
    model.dispose();
  }
}
