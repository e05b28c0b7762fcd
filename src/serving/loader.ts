import { CtrError, isCtrError } from '../errors/registry.ts';
import type { HostTensor, LoadedModel, SignatureSpec } from '../graph/model.ts';
import { checkAgainstWasm } from './backend-check.ts';
import { zeros } from './zero-inputs.ts';
import type { Servable, ServableId } from './servable.ts';

/**
 * The loader of TF Serving: turns a version directory into a Servable. It loads the model, warms it up with one
 * prediction on zeros of the default signature's input shapes (unknown dims as 1), and verifies that every
 * declared output came back, finite and shaped as declared. Only then does it hand the servable over; on any
 * failure it disposes what it loaded and throws (the loader's CtrError, or CTR_ERR_WARMUP_FAILED). A model on
 * a backend other than wasm must also predict what wasm does (backend-check.ts, CTR_ERR_BACKEND_MISMATCH).
 * Signatures fed with strings (serialized tf.Example) are not warmed up: there is no neutral example to feed; a
 * model whose own checks refuse zeros as data (an index computed from them outside its table: 400 codes) is
 * loaded without the output check.
 */
export async function loadServable(
  id: ServableId,
  path: string,
  loadModel: (path: string) => Promise<LoadedModel>,
  crossCheck?: (path: string, model: LoadedModel) => Promise<void>,
): Promise<Servable> {
  let model: LoadedModel;
  try {
    model = await loadModel(path);
  } catch (err) {
    if (isCtrError(err)) throw err;
    throw new CtrError('CTR_ERR_NOT_A_MODEL', `${id.name} version ${id.version}: cannot load ${path}`, {
      cause: err,
    });
  }
  try {
    await warmUp(model);
    if (model.info.backend !== 'wasm') await (crossCheck ?? checkAgainstWasm)(path, model);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return Object.freeze({ id: Object.freeze({ ...id }), model, loadedAtMs: Date.now() });
}

const DATA_REFUSALS: ReadonlySet<string> = new Set([
  'CTR_ERR_INDEX_OUT_OF_RANGE',
  'CTR_ERR_INVALID_ARGUMENT',
]);

export async function warmUp(model: LoadedModel): Promise<void> {
  const name = model.info.defaultSignature;
  const signature = model.info.signatures[name];
  if (!signature) {
    throw new CtrError('CTR_ERR_WARMUP_FAILED', `the default signature "${name}" is not in the model`);
  }
  if (Object.values(signature.inputs).some((s) => s.dtype === 'DT_STRING')) return;
  const inputs: Record<string, HostTensor> = {};
  for (const [alias, spec] of Object.entries(signature.inputs)) inputs[alias] = zeros(spec);
  let outputs: Record<string, HostTensor>;
  try {
    outputs = await model.predictHost(inputs, name);
  } catch (err) {
    // Zeros can be a bad input for the model itself (an index computed from them falls outside a table): the graph
    // ran up to a check of its data, as TensorFlow's kernel would refuse them; the outputs cannot be verified.
    if (isCtrError(err) && DATA_REFUSALS.has(err.code)) return;
    throw new CtrError(
      'CTR_ERR_WARMUP_FAILED',
      `warm-up prediction on zeros failed: ${(err as Error).message ?? String(err)}`,
      { cause: err },
    );
  }
  verifyOutputs(signature, outputs);
}

export function verifyOutputs(signature: SignatureSpec, outputs: Record<string, HostTensor>): void {
  for (const [alias, spec] of Object.entries(signature.outputs)) {
    const out = outputs[alias];
    if (!out) throw new CtrError('CTR_ERR_WARMUP_FAILED', `warm-up returned no output "${alias}"`);
    const size = out.shape.reduce((a, b) => a * b, 1);
    if (out.values.length !== size) {
      throw new CtrError(
        'CTR_ERR_WARMUP_FAILED',
        `output "${alias}" has ${out.values.length} values for shape [${out.shape}]`,
      );
    }
    if (spec.shape !== null) {
      const fits =
        spec.shape.length === out.shape.length && spec.shape.every((d, i) => d < 0 || d === out.shape[i]);
      if (!fits) {
        throw new CtrError(
          'CTR_ERR_WARMUP_FAILED',
          `output "${alias}" has shape [${out.shape}], the signature declares [${spec.shape}]`,
        );
      }
    }
    if (FLOAT_DTYPES.has(out.dtype)) {
      for (let i = 0; i < out.values.length; i++) {
        if (!Number.isFinite(out.values[i])) {
          throw new CtrError(
            'CTR_ERR_WARMUP_FAILED',
            `output "${alias}" is not finite at ${i} on zeros (${String(out.values[i])})`,
          );
        }
      }
    }
  }
}

const FLOAT_DTYPES = new Set(['DT_FLOAT', 'DT_DOUBLE', 'DT_HALF']);
