import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../errors/registry.ts';
import { hostToTensor, tensorToHost } from './tfjs/host-tensors.ts';
import type { HostTensor, LoadedModel } from './model.ts';

/**
 * LoadedModel.predict for a model that runs elsewhere (the model thread, model-thread.ts): the input tensors are
 * read to host arrays in the dtypes the signature declares, run by `predictHost`, and the outputs made into new
 * tensors that the caller owns. The inputs stay the caller's.
 */
export async function predictThroughHost(
  model: Pick<LoadedModel, 'info' | 'predictHost'>,
  inputs: Readonly<Record<string, tf.Tensor>>,
  signature?: string,
): Promise<Record<string, tf.Tensor>> {
  const name = signature ?? model.info.defaultSignature;
  const spec = model.info.signatures[name];
  if (!spec) throw new CtrError('CTR_ERR_SIGNATURE_NOT_FOUND', `no signature "${name}" in the model`);
  const host: Record<string, HostTensor> = {};
  for (const [alias, t] of Object.entries(inputs)) {
    const dtype = spec.inputs[alias]?.dtype ?? (t.dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32');
    host[alias] = await tensorToHost(t, dtype);
  }
  const outputs = await model.predictHost(host, name);
  const out: Record<string, tf.Tensor> = {};
  for (const [alias, h] of Object.entries(outputs)) {
    out[alias] = hostToTensor(
      alias,
      h,
      spec.outputs[alias] ?? { tensorName: alias, dtype: h.dtype, shape: null },
    );
  }
  return out;
}
