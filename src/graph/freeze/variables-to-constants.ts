import { CtrError } from '../../errors/registry.ts';
import { DataType, type NodeDef, type TrackableObjectGraph } from '../proto/types.ts';
import { dtypeName, valuesToTensorProto, type DecodedTensor } from '../tensor/tensor-values.ts';

/** What freezing needs of a checkpoint (the TensorBundle of src/graph/bundle satisfies it). */
export type Checkpoint = {
  has(key: string): boolean;
  read(key: string): DecodedTensor;
  readonly objectGraph?: TrackableObjectGraph;
};

export const TF1_VARIABLE_OPS = new Set(['VariableV2', 'Variable']);
export const VARIABLE_OPS = new Set([...TF1_VARIABLE_OPS, 'VarHandleOp']);

const dec = new TextDecoder();

/**
 * Replaces variables by constants holding their values after TensorFlow's SavedModel loader ran the restore op
 * and then the init op (tensorflow/cc/saved_model/loader.cc: RunRestore, then RunInitOp): a variable the init op
 * assigns a constant (`initialized`, e.g. the asset-file name a TF1 export's legacy_init_op sets) takes that
 * constant; the others their checkpoint value. The key of a variable is the one its restore op
 * reads (`restored`, see restore-keys.ts); failing that, for VariableV2/Variable the node name, and for
 * VarHandleOp the key from the checkpoint's TrackableObjectGraph, whose VARIABLE_VALUE attributes map a
 * variable's full name, i.e. its shared_name, to its key; else the shared_name, else the node name) become Const;
 * ReadVariableOp becomes Identity; ResourceGather becomes GatherV2 on axis 0.
 * Failures: CTR_ERR_NOT_FROZEN (variables and no checkpoint), CTR_ERR_MISSING_VARIABLE (key absent),
 * CTR_ERR_INVALID_GRAPH (checkpoint value of the wrong dtype).
 */
export function variablesToConstants(
  nodes: readonly NodeDef[],
  checkpoint: Checkpoint | undefined,
  where: { source: string; checkpoint?: string },
  restored: ReadonlyMap<string, string> = new Map(),
  initialized: ReadonlyMap<string, NodeDef> = new Map(),
): NodeDef[] {
  const variables = nodes.filter((n) => VARIABLE_OPS.has(n.op));
  if (variables.length === 0) return [...nodes];
  const unset = variables.filter((v) => !initialized.has(v.name));
  if (!checkpoint && unset.length > 0) {
    throw new CtrError(
      'CTR_ERR_NOT_FROZEN',
      `${where.source} reads ${unset.length} variable(s) (${unset
        .slice(0, 5)
        .map((v) => v.name)
        .join(
          ', ',
        )}) and has no checkpoint: freeze it first (ctr-serve freeze, or TensorFlow's convert_variables_to_constants)`,
    );
  }
  const keyOf = checkpointKeys(checkpoint?.objectGraph);
  const out: NodeDef[] = [];
  for (const node of nodes) {
    const init = initialized.get(node.name);
    if (VARIABLE_OPS.has(node.op) && init) {
      out.push(initValue(node, init));
    } else if (VARIABLE_OPS.has(node.op) && checkpoint) {
      out.push(checkpointValue(node, checkpoint, { keyOf, restored, where }));
    } else if (node.op === 'ReadVariableOp') {
      out.push({
        name: node.name,
        op: 'Identity',
        input: node.input,
        attr: { T: { type: node.attr.dtype?.type ?? DataType.DT_FLOAT } },
      });
    } else if (node.op === 'ResourceGather') {
      out.push(...resourceGatherAsGatherV2(node));
    } else {
      out.push(node);
    }
  }
  return out;
}

/** A variable as the Const of its checkpoint value, found under the first key that the checkpoint holds. */
function checkpointValue(
  node: NodeDef,
  checkpoint: Checkpoint,
  ctx: {
    keyOf: ReadonlyMap<string, string>;
    restored: ReadonlyMap<string, string>;
    where: { source: string; checkpoint?: string };
  },
): NodeDef {
  const { keyOf, restored, where } = ctx;
  const shared = node.attr.shared_name?.s ? dec.decode(node.attr.shared_name.s) : '';
  const candidates = TF1_VARIABLE_OPS.has(node.op)
    ? [restored.get(node.name), node.name, shared]
    : [restored.get(node.name), keyOf.get(shared), keyOf.get(node.name), shared, node.name];
  const key = candidates.find((k): k is string => !!k && checkpoint.has(k));
  if (key === undefined) {
    throw new CtrError(
      'CTR_ERR_MISSING_VARIABLE',
      `variable ${node.name}${shared && shared !== node.name ? ` (shared_name ${shared})` : ''} is not in the checkpoint ${where.checkpoint ?? '(unnamed)'} and the init op does not assign it a constant`,
    );
  }
  const value = checkpoint.read(key);
  const dtype = node.attr.dtype?.type ?? value.dtype;
  if (value.dtype !== dtype) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `variable ${node.name} is ${dtypeName(dtype)} but checkpoint key ${key} holds ${dtypeName(value.dtype)}`,
    );
  }
  return {
    name: node.name,
    op: 'Const',
    input: [],
    attr: { dtype: { type: dtype }, value: { tensor: valuesToTensorProto(value) } },
  };
}

/** ResourceGather on a (frozen) variable → GatherV2 on axis 0, as TensorFlow's convert_variables_to_constants. */
function resourceGatherAsGatherV2(node: NodeDef): NodeDef[] {
  const axis = `${node.name}/axis`;
  const axisNode: NodeDef = {
    name: axis,
    op: 'Const',
    input: [],
    attr: {
      dtype: { type: DataType.DT_INT32 },
      value: {
        tensor: { dtype: DataType.DT_INT32, tensorShape: { dim: [], unknownRank: false }, intVal: [0] },
      },
    },
  };
  const gather: NodeDef = {
    name: node.name,
    op: 'GatherV2',
    input: [...node.input.filter((i) => !i.startsWith('^')), axis],
    attr: {
      Tparams: { type: node.attr.dtype?.type ?? DataType.DT_FLOAT },
      Tindices: node.attr.Tindices ?? { type: DataType.DT_INT32 },
      Taxis: { type: DataType.DT_INT32 },
      batch_dims: { i: node.attr.batch_dims?.i ?? 0 },
    },
  };
  return [axisNode, gather];
}

/** The variable as the Const its init op assigns (restore-keys.ts initAssignments). */
function initValue(variable: NodeDef, init: NodeDef): NodeDef {
  const dtype = variable.attr.dtype?.type ?? init.attr.dtype?.type;
  if (dtype !== init.attr.dtype?.type) {
    throw new CtrError(
      'CTR_ERR_INVALID_GRAPH',
      `variable ${variable.name} is ${dtypeName(dtype ?? 0)} but its init op assigns ${init.name}, of ${dtypeName(init.attr.dtype?.type ?? 0)}`,
    );
  }
  return {
    name: variable.name,
    op: 'Const',
    input: [],
    attr: { dtype: { type: dtype! }, value: init.attr.value! },
  };
}

/** fullName (the variable's shared_name) → checkpoint key, from the TF2 checkpoint's object graph. */
function checkpointKeys(graph: TrackableObjectGraph | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  for (const node of graph?.nodes ?? []) {
    for (const a of node.attributes ?? []) {
      if (a.name !== 'VARIABLE_VALUE' || !a.fullName) continue;
      keys.set(a.fullName, a.checkpointKey);
      keys.set(a.fullName.replace(/:0$/, ''), a.checkpointKey);
    }
  }
  return keys;
}
