import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-wasm 4.22 lacks UnsortedSegmentSum, the kernel behind GatherV2's gradient (every embedding
 * table's gradient). Rather than train on the pure-JS cpu backend (slow), the trainer registers this JS kernel for
 * wasm: it reads the inputs, sums rows by segment id, and writes a new wasm tensor. Serving never needs it.
 * Registered once, and only when wasm has none (another module may have added one).
 */
export function registerWasmTrainingKernels(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const b = backend as unknown as {
        readSync(id: unknown): ArrayLike<number>;
        makeOutput(
          shape: number[],
          dtype: string,
          memoryOffset?: number,
          values?: ArrayLike<number>,
        ): tf.TensorInfo;
      };
      const xv = b.readSync(x.dataId);
      const ids = b.readSync(segmentIds.dataId);
      const inner = x.shape.slice(segmentIds.shape.length).reduce((a, c) => a * c, 1);
      const out = new Float32Array(numSegments * inner);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i]!;
        if (s < 0 || s >= numSegments) continue;
        for (let k = 0; k < inner; k++) out[s * inner + k]! += xv[i * inner + k]!;
      }
      return b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, undefined, out);
    },
  });
}
