import { CtrError } from '../errors/registry.ts';
import type { LoadedModel, LoadOptions } from './model.ts';
import type { GraphDef } from './proto/types.ts';

export type FreezeOptions = {
  /** Output node names ("ctr") or tensor names ("ctr:0"); default: the signature's outputs. */
  readonly outputs?: readonly string[];
  /** SavedModel tag set; default ['serve']. */
  readonly tags?: readonly string[];
  /** SavedModel signature whose outputs to keep when `outputs` is not given; default 'serving_default'. */
  readonly signature?: string;
};

/** Reads a frozen GraphDef or SavedModel at `path` and makes it runnable (see the contract in model.ts). */
export async function loadModel(path: string, _opts: LoadOptions = {}): Promise<LoadedModel> {
  throw new CtrError('CTR_ERR_NOT_A_MODEL', `loadModel is being written; cannot load ${path} yet`);
}

/** Freezes the model at `path` into one plain GraphDef cut at `outputs`. */
export async function freezeModel(path: string, _opts: FreezeOptions = {}): Promise<GraphDef> {
  throw new CtrError('CTR_ERR_NOT_A_MODEL', `freezeModel is being written; cannot freeze ${path} yet`);
}
