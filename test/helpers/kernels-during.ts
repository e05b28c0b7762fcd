import * as tf from '@tensorflow/tfjs-core';

/**
 * Backend kernels called on the tfjs engine while `fn` runs, by name, and the error `fn` threw if any: tests use it
 * to show that a refused request never reached a kernel (issue 9: no unchecked index reaches wasm memory).
 */
export async function kernelsDuring(
  fn: () => Promise<unknown>,
): Promise<{ names: string[]; error?: unknown }> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const original = engine.runKernel;
  const names: string[] = [];
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    names.push(name);
    return original.call(this, name, ...rest);
  };
  try {
    await fn();
    return { names };
  } catch (error) {
    return { names, error };
  } finally {
    engine.runKernel = original;
  }
}
