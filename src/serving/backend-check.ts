import { Worker } from 'node:worker_threads';
import { CtrError } from '../errors/registry.ts';
import type { HostTensor, LoadedModel, SignatureSpec } from '../graph/model.ts';
import { zeros } from './zero-inputs.ts';

/**
 * A version loaded on a backend other than wasm (tfjs-node, cpu: `--backend`) is served only if it predicts what
 * wasm, the tested backend, predicts: at load, its default signature runs on zeros and on a probe of in-range
 * values, here and in a worker thread on wasm, and every output must agree within float32 rounding (absolute
 * 1e-4 plus relative 1e-3: kernels differ in summation order and fused ops). Else CTR_ERR_BACKEND_MISMATCH, and
 * the loader disposes the model. `reference` is the worker by default; tests pass their own.
 */
export type Reference = (
  path: string,
  signature: string,
  inputs: Record<string, HostTensor>[],
) => Promise<Record<string, HostTensor>[]>;

export async function checkAgainstWasm(
  path: string,
  model: LoadedModel,
  reference: Reference = wasmReference,
): Promise<void> {
  const name = model.info.defaultSignature;
  const signature = model.info.signatures[name];
  if (!signature || Object.values(signature.inputs).some((s) => s.dtype === 'DT_STRING')) return;
  const sets = [zeroInputs(signature), probeInputs(signature)];
  const mine: Record<string, HostTensor>[] = [];
  for (const set of sets) mine.push(await model.predictHost(set, name));
  const theirs = await reference(path, name, sets);
  mine.forEach((outputs, k) =>
    compareOutputs(outputs, theirs[k]!, model.info.backend, k === 0 ? 'zeros' : 'probe'),
  );
}

export function compareOutputs(
  mine: Record<string, HostTensor>,
  wasm: Record<string, HostTensor>,
  backend: string,
  what: string,
): void {
  for (const [alias, t] of Object.entries(wasm)) {
    const other = mine[alias];
    const a = (other?.values ?? []) as ArrayLike<number>;
    const b = t.values as ArrayLike<number>;
    const bad = (detail: string) =>
      new CtrError(
        'CTR_ERR_BACKEND_MISMATCH',
        `output "${alias}" on ${what} differs between the ${backend} and wasm backends: ${detail}`,
      );
    if (!other || other.shape.join() !== t.shape.join()) throw bad(`shape [${other?.shape}] vs [${t.shape}]`);
    for (let i = 0; i < b.length; i++) {
      const x = Number(a[i]);
      const y = Number(b[i]);
      if (!(Math.abs(x - y) <= 1e-4 + 1e-3 * Math.abs(y)) && !(Number.isNaN(x) && Number.isNaN(y))) {
        throw bad(`element ${i} is ${x} vs ${y}`);
      }
    }
  }
}

function zeroInputs(signature: SignatureSpec): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(signature.inputs).map(([alias, spec]) => [alias, zeros(spec)]));
}

/** Deterministic non-zero inputs: integers within each input's index guard (else 0..2), floats in [-1, 1]. */
function probeInputs(signature: SignatureSpec): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [alias, spec] of Object.entries(signature.inputs)) {
    const z = zeros(spec);
    const limit = signature.indexRanges?.[alias]?.limit ?? 3;
    const values = z.values as unknown as { length: number; [i: number]: unknown };
    for (let i = 0; i < values.length; i++) {
      if (z.values instanceof Float32Array || z.values instanceof Float64Array) values[i] = Math.sin(i + 1);
      else if (typeof values[i] === 'number') values[i] = (i * 7 + 1) % Math.max(1, limit);
      else if (typeof values[i] === 'boolean') values[i] = i % 2 === 0;
    }
    out[alias] = z;
  }
  return out;
}

export const wasmReference: Reference = (path, signature, inputs) =>
  new Promise((resolve, reject) => {
    // The sources are TypeScript: the worker registers tsx's loader first, as bin/ctr-serve.js does.
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const entry = JSON.stringify(new URL('./wasm-reference-worker.ts', import.meta.url).href);
    const code = `import(${tsx}).then((m) => { m.register(); return import(${entry}); })`;
    const worker = new Worker(code, { eval: true, workerData: { path, signature, inputs } });
    worker.once('message', (msg: { outputs?: Record<string, HostTensor>[]; error?: string }) => {
      void worker.terminate();
      if (msg.outputs) resolve(msg.outputs);
      else reject(new CtrError('CTR_ERR_BACKEND_MISMATCH', `the wasm reference failed: ${msg.error}`));
    });
    worker.once('error', (err) =>
      reject(
        new CtrError('CTR_ERR_BACKEND_MISMATCH', `the wasm reference failed: ${err.message}`, { cause: err }),
      ),
    );
  });
