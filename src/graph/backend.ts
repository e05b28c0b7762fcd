import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<BackendName> | undefined;

/**
 * Picks the tfjs backend once per process: tfjs-node ("tensorflow") when it is installed and loads, else wasm,
 * else cpu. tfjs-node is an optionalDependency: its install downloads libtensorflow, which fails offline, and
 * npm then leaves it out.
 */
export function initBackend(preferred?: BackendName): Promise<BackendName> {
  chosen ??= pick(preferred);
  return chosen;
}

async function pick(preferred?: BackendName): Promise<BackendName> {
  const order: BackendName[] = preferred ? [preferred] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        const mod = '@tensorflow/tfjs-node';
        await import(mod);
      } else if (name === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // not installed or failed to initialise: try the next one
    }
  }
  throw new Error(`no tfjs backend could be initialised (tried ${order.join(', ')})`);
}
