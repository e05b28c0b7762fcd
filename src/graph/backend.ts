import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../errors/registry.ts';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/** `--backend`: one backend, or `auto` (tfjs-node when it loads, else wasm, else cpu). */
export type BackendChoice = BackendName | 'auto';

let active: { readonly choice: BackendChoice; readonly name: Promise<BackendName> } | undefined;

/**
 * Sets the process's tfjs backend once and returns its name; later calls without a choice (loadModel, training)
 * get the same one. The default is wasm, the backend every test runs on. tfjs-node ("tensorflow") is an
 * optionalDependency that npm installs only where libtensorflow downloads, so it is used only when asked for:
 * `tensorflow` fails with CTR_ERR_BACKEND_UNAVAILABLE (the import's own error as the cause) when it is absent
 * or does not initialise, and so does any backend asked for after another was set. `auto` tries tensorflow,
 * wasm, cpu in turn and reports what it skipped in `skipped`.
 */
export function initBackend(choice?: BackendChoice): Promise<BackendName> {
  if (active) {
    if (choice === undefined || choice === active.choice) return active.name;
    return active.name.then((name) => {
      if (choice === name) return name;
      throw new CtrError(
        'CTR_ERR_BACKEND_UNAVAILABLE',
        `--backend=${choice}: this process already runs on the ${name} backend`,
      );
    });
  }
  const chosen = choice ?? 'wasm';
  const name = pick(chosen === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [chosen]);
  active = { choice: chosen, name };
  // A failed explicit choice is not remembered: the caller reports it and the process ends (or a test goes on).
  name.catch(() => {
    if (active?.name === name) active = undefined;
  });
  return name;
}

/** Why `auto` skipped a backend, for the startup log. */
export const skipped: { name: BackendName; reason: string }[] = [];

async function pick(order: readonly BackendName[]): Promise<BackendName> {
  let last: unknown;
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        const mod = '@tensorflow/tfjs-node';
        await import(mod);
      } else if (name === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
      } else {
        await import('@tensorflow/tfjs-backend-cpu');
      }
      if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      return name;
    } catch (err) {
      last = err;
      skipped.push({ name, reason: (err as Error)?.message ?? String(err) });
    }
  }
  throw new CtrError(
    'CTR_ERR_BACKEND_UNAVAILABLE',
    `no tfjs backend could be initialised (tried ${order.join(', ')}): ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
    { cause: last },
  );
}
