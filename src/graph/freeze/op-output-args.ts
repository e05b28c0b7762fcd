import type { ArgDef, AttrValue, FunctionDefLibrary, NodeDef } from '../proto/types.ts';

/**
 * Output argument lists of the registered ops that have more than one output argument (from
 * tensorflow/core/ops/*.cc). FunctionDef bodies name tensors "node:out_arg:idx"; turning that into a flat output
 * index needs the op's output args and their sizes. Ops not listed here have a single output arg, so the flat
 * index is idx itself.
 */
const MULTI_OUTPUT_ARGS: Record<string, readonly Partial<ArgDef>[]> = {
  Unique: [{ name: 'y' }, { name: 'idx' }],
  UniqueV2: [{ name: 'y' }, { name: 'idx' }],
  UniqueWithCounts: [{ name: 'y' }, { name: 'idx' }, { name: 'count' }],
  TopKV2: [{ name: 'values' }, { name: 'indices' }],
  Switch: [{ name: 'output_false' }, { name: 'output_true' }],
  RefSwitch: [{ name: 'output_false' }, { name: 'output_true' }],
  Merge: [{ name: 'output' }, { name: 'value_index' }],
  FusedBatchNorm: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'].map((name) => ({
    name,
  })),
  FusedBatchNormV2: ['y', 'batch_mean', 'batch_variance', 'reserve_space_1', 'reserve_space_2'].map(
    (name) => ({
      name,
    }),
  ),
  FusedBatchNormV3: [
    'y',
    'batch_mean',
    'batch_variance',
    'reserve_space_1',
    'reserve_space_2',
    'reserve_space_3',
  ].map((name) => ({ name })),
  BroadcastGradientArgs: [{ name: 'r0' }, { name: 'r1' }],
  SparseFillEmptyRows: [
    { name: 'output_indices' },
    { name: 'output_values' },
    { name: 'empty_row_indicator' },
    { name: 'reverse_index_map' },
  ],
  SparseReshape: [{ name: 'output_indices' }, { name: 'output_shape' }],
  ParseExample: [
    { name: 'sparse_indices', numberAttr: 'Nsparse' },
    { name: 'sparse_values', typeListAttr: 'sparse_types' },
    { name: 'sparse_shapes', numberAttr: 'Nsparse' },
    { name: 'dense_values', typeListAttr: 'Tdense' },
  ],
  ParseExampleV2: [
    { name: 'sparse_indices', numberAttr: 'num_sparse' },
    { name: 'sparse_values', typeListAttr: 'sparse_types' },
    { name: 'sparse_shapes', numberAttr: 'num_sparse' },
    { name: 'dense_values', typeListAttr: 'Tdense' },
    { name: 'ragged_values', typeListAttr: 'ragged_value_types' },
    { name: 'ragged_row_splits', typeListAttr: 'ragged_split_types' },
  ],
  ParseSingleExample: [
    { name: 'sparse_indices', numberAttr: 'num_sparse' },
    { name: 'sparse_values', typeListAttr: 'sparse_types' },
    { name: 'sparse_shapes', numberAttr: 'num_sparse' },
    { name: 'dense_values', typeListAttr: 'Tdense' },
  ],
  NonMaxSuppressionV4: [{ name: 'selected_indices' }, { name: 'valid_outputs' }],
  NonMaxSuppressionV5: [{ name: 'selected_indices' }, { name: 'selected_scores' }, { name: 'valid_outputs' }],
  MaxPoolWithArgmax: [{ name: 'output' }, { name: 'argmax' }],
  StringSplit: [{ name: 'indices' }, { name: 'values' }, { name: 'shape' }],
  StringSplitV2: [{ name: 'indices' }, { name: 'values' }, { name: 'shape' }],
  LookupTableExportV2: [{ name: 'keys' }, { name: 'values' }],
  SoftmaxCrossEntropyWithLogits: [{ name: 'loss' }, { name: 'backprop' }],
  SparseSoftmaxCrossEntropyWithLogits: [{ name: 'loss' }, { name: 'backprop' }],
  Qr: [{ name: 'q' }, { name: 'r' }],
  Svd: [{ name: 's' }, { name: 'u' }, { name: 'v' }],
};

function argSize(arg: Partial<ArgDef>, attr: Record<string, AttrValue>): number {
  if (arg.numberAttr) return attr[arg.numberAttr]?.i ?? 0;
  if (arg.typeListAttr) return attr[arg.typeListAttr]?.list?.type?.length ?? 0;
  return 1;
}

/**
 * Flat output index of `node`'s output `arg`[`idx`], or undefined when the op has no such output arg.
 * `library` resolves calls of library functions (by op name, or via the `f` attr of (Stateful)PartitionedCall,
 * whose single output arg is the type list Tout). An op outside the table is taken to have one output arg;
 * `seen` (node → the arg name first used for it) catches the case where that is wrong: a second arg name for
 * the same node gives undefined rather than a silently wrong index.
 */
export function flatOutputIndex(
  node: NodeDef,
  arg: string,
  idx: number,
  library: FunctionDefLibrary | undefined,
  seen: Map<string, string> = new Map(),
): number | undefined {
  const fn = library?.function.find((f) => f.signature.name === node.op);
  const args: readonly Partial<ArgDef>[] | undefined = fn?.signature.outputArg ?? MULTI_OUTPUT_ARGS[node.op];
  if (!args) {
    const first = seen.get(node.name) ?? arg;
    seen.set(node.name, first);
    return first === arg ? idx : undefined;
  }
  let offset = 0;
  for (const a of args) {
    if (a.name === arg) return offset + idx;
    offset += argSize(a, node.attr);
  }
  return undefined;
}
