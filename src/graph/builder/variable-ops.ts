import { DataType } from '../proto/types.ts';
import { attr, dtypeNumber, nodeName, type Dtype } from './attrs.ts';
import type { GraphBuilder, OpOptions } from './graph-builder.ts';

/**
 * Variable ops for GraphBuilder, with the attrs tf.Variable writes (tensorflow/core/ops/state_ops.cc for
 * VariableV2, resource_variable_ops.cc for VarHandleOp, ReadVariableOp and ResourceGather): what freezing
 * (src/graph/freeze) turns into constants.
 */

const REF_OFFSET = 100; // types.proto: DT_FLOAT_REF = DT_FLOAT + 100

/** TF1 variable: VariableV2 plus its "<name>/read" Identity, as tf.Variable writes them; returns the read. */
export function variableV2(b: GraphBuilder, name: string, dtype: Dtype, shape: readonly number[]): string {
  const d = dtypeNumber(dtype);
  const attrs = {
    dtype: attr.type(d),
    shape: attr.shape(shape),
    container: attr.s(''),
    shared_name: attr.s(''),
  };
  const v = b.op('VariableV2', [], attrs, { name, outDtypes: [d + REF_OFFSET] })[0]!;
  return b.op('Identity', [v], { T: attr.type(d) }, { name: `${nodeName(v)}/read`, outDtypes: [d] })[0]!;
}

/** TF2 resource variable handle; `sharedName` defaults to the node name as tf.Variable does. */
export function varHandleOp(
  b: GraphBuilder,
  name: string,
  dtype: Dtype,
  shape: readonly number[],
  sharedName?: string,
): string {
  const attrs = {
    dtype: attr.type(dtype),
    shape: attr.shape(shape),
    container: attr.s(''),
    shared_name: attr.s(sharedName ?? name),
    allowed_devices: { list: {} },
  };
  return b.op('VarHandleOp', [], attrs, { name, outDtypes: [DataType.DT_RESOURCE] })[0]!;
}

export function readVariableOp(b: GraphBuilder, handle: string, dtype: Dtype, o: OpOptions = {}): string {
  return b.op(
    'ReadVariableOp',
    [handle],
    { dtype: attr.type(dtype) },
    { ...o, outDtypes: [dtypeNumber(dtype)] },
  )[0]!;
}

export function resourceGather(
  b: GraphBuilder,
  handle: string,
  indices: string,
  dtype: Dtype,
  o: OpOptions = {},
): string {
  const attrs = {
    dtype: attr.type(dtype),
    Tindices: attr.type(b.dtypeOf(indices)),
    batch_dims: attr.i(0),
    validate_indices: attr.b(true),
  };
  return b.op('ResourceGather', [handle, indices], attrs, { ...o, outDtypes: [dtypeNumber(dtype)] })[0]!;
}
