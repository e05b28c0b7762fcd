import type { GraphBuilder } from '../../graph/builder/graph-builder.ts';
import { DataType, type SaverDef, type TensorProto } from '../../graph/proto/types.ts';

/**
 * Adds the save/restore subgraph tf.compat.v1.train.Saver writes (V2 checkpoint format): a filename Const,
 * SaveV2 of every variable, and RestoreV2 whose outputs are Assigned to the variables, grouped by the
 * `save/restore_all` NoOp. TF Serving restores a TF1 SavedModel by running that op; ctr-serve's loader reads the
 * variable → checkpoint key map from the same nodes. Returns the SaverDef for the MetaGraphDef.
 */
export function addTf1Saver(b: GraphBuilder, variables: readonly { name: string; read: string }[]): SaverDef {
  const enc = new TextEncoder();
  const strings = (name: string, values: string[], scalar = false) => {
    const tensor: TensorProto = {
      dtype: DataType.DT_STRING,
      tensorShape: { dim: scalar ? [] : [{ size: values.length }], unknownRank: false },
      stringVal: values.map((v) => enc.encode(v)),
    };
    return b.op(
      'Const',
      [],
      { dtype: { type: DataType.DT_STRING }, value: { tensor } },
      { name, outDtypes: [DataType.DT_STRING] },
    )[0]!;
  };
  const keys = variables.map((v) => v.name);
  const prefix = strings('save/Const', ['model'], true);
  const dtypes = { list: { type: keys.map(() => DataType.DT_FLOAT) } };
  const saveNames = strings('save/SaveV2/tensor_names', keys);
  const saveSlices = strings(
    'save/SaveV2/shape_and_slices',
    keys.map(() => ''),
  );
  b.op(
    'SaveV2',
    [prefix, saveNames, saveSlices, ...keys.map((k) => `${k}:0`)],
    { dtypes },
    { name: 'save/SaveV2', outDtypes: [] },
  );
  const saved = b.op(
    'Identity',
    [prefix, '^save/SaveV2'],
    { T: { type: DataType.DT_STRING } },
    { name: 'save/control_dependency', outDtypes: [DataType.DT_STRING] },
  )[0]!;
  const restoreNames = strings('save/RestoreV2/tensor_names', keys);
  const restoreSlices = strings(
    'save/RestoreV2/shape_and_slices',
    keys.map(() => ''),
  );
  const restored = b.op(
    'RestoreV2',
    [prefix, restoreNames, restoreSlices],
    { dtypes },
    {
      name: 'save/RestoreV2',
      outDtypes: keys.map(() => DataType.DT_FLOAT),
    },
  );
  const assigns = keys.map(
    (k, i) =>
      b.op(
        'Assign',
        [`${k}:0`, restored[i]!],
        { T: { type: DataType.DT_FLOAT }, use_locking: { b: true }, validate_shape: { b: true } },
        { name: i === 0 ? 'save/Assign' : `save/Assign_${i}`, outDtypes: [DataType.DT_FLOAT + 100] },
      )[0]!,
  );
  b.op(
    'NoOp',
    assigns.map((a) => `^${a.replace(/:\d+$/, '')}`),
    {},
    { name: 'save/restore_all', outDtypes: [] },
  );
  return { filenameTensorName: 'save/Const:0', saveTensorName: saved, restoreOpName: 'save/restore_all' };
}
