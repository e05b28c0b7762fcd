import { parseRef } from '../graph/freeze/tensor-ref.ts';
import type { LoadedModel, ModelInfo, SignatureSpec, TensorSpec } from '../graph/model.ts';
import type { GraphDef } from '../graph/proto/types.ts';
import { rewriteSharedHistoryGraph } from '../graph/rewrite/index.ts';
import { loadModel, type LoadModelOptions } from '../graph/load-model.ts';
import { variantName, type SignatureVariant, type VariantContext } from '../graph/signature-variant.ts';
import { withSingleUserFold } from './single-user-fold.ts';

/** Kind of the shared-history variant in ModelInfo.variants. */
const SHARED_HISTORY = 'shared_history';
const USER_INDEX_NODE = 'ctr_serve/user_index';

/** Name of a signature's shared-history variant, as given to predict (`serving_default@shared_history`). */
export const sharedHistoryName = (signature: string): string => variantName(signature, SHARED_HISTORY);

/**
 * The CTR-shaped variant of a (history, candidate → ctr) signature (src/graph/rewrite/share-history.ts): it
 * takes `history` [U, L] (one row per user), `candidate` [N] and `user_index` int32 [N] (row → user) and returns
 * the signature's outputs for the N rows, equal to the signature fed each user's history repeated on its rows.
 * With one user it also folds that user's share of the dense layers (single-user-fold.ts). Declines any other
 * signature, and a history branch that cannot be shared.
 */
export const sharedHistoryVariant: SignatureVariant = {
  kind: SHARED_HISTORY,
  async build(ctx: VariantContext) {
    const { spec } = ctx;
    const { history, candidate } = spec.inputs;
    if (!history || !candidate || !spec.outputs.ctr || Object.keys(spec.inputs).length !== 2)
      return undefined;
    const ref = parseRef(history.tensorName);
    if (ref.index !== 0) return undefined;
    const variant = rewriteSharedHistoryGraph(
      ctx.graph,
      { history: ref.node, userIndex: USER_INDEX_NODE },
      { keepNodes: ctx.keepNodes, feedSegmentRows: true },
    );
    if (!variant) return undefined;
    const userIndex: TensorSpec = { tensorName: `${USER_INDEX_NODE}:0`, dtype: 'DT_INT32', shape: [-1] };
    const variantSpec = { ...spec, name: ctx.name, inputs: { ...spec.inputs, user_index: userIndex } };
    const compile = (g: GraphDef) => ctx.compile(variantSpec, g);
    return withSingleUserFold(compile(variant.graph), variant.graph, variant.frontier, compile);
  },
};

/** The variants the CTR adapter adds to every model it serves. */
export const CTR_VARIANTS: readonly SignatureVariant[] = [sharedHistoryVariant];

/** loadModel with the CTR adapter's variants: what `ctr-serve serve` loads. */
export function loadCtrModel(path: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  return loadModel(path, { variants: CTR_VARIANTS, ...opts });
}

/** The shared-history variant of `signature`, when the model has one. */
export function sharedHistorySpec(info: ModelInfo, signature: string): SignatureSpec | undefined {
  return info.variants?.[SHARED_HISTORY]?.[signature];
}
