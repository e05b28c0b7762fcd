import { DataType, type AttrValue } from '../proto/types.ts';
import { attr, dtypeNumber, type Dtype } from './attrs.ts';
import { funcAttr } from './function-builder.ts';
import type { GraphBuilder, Operand, OpOptions } from './graph-builder.ts';

/**
 * Control-flow and TensorList ops for GraphBuilder, with the inputs and attrs of their registrations in
 * tensorflow/core/ops/functional_ops.cc (While, StatelessWhile), list_ops.cc (TensorList*),
 * control_flow_ops.cc and data_flow_ops.cc (the v1 loop: Enter/Merge/Switch/NextIteration/Exit, TensorArrayV3).
 */

const VARIANT = DataType.DT_VARIANT;
const int32 = attr.type('DT_INT32');

/**
 * While / StatelessWhile over `inputs` with library functions `cond` and `body` (functional_ops.cc), as
 * while_v2 writes it (parallel_iterations, output_shapes, _lower_using_switch_merge). Returns one tensor per
 * loop variable.
 */
export function whileLoop(
  b: GraphBuilder,
  inputs: readonly string[],
  o: OpOptions & { cond: string; body: string; stateless?: boolean; parallelIterations?: number },
): string[] {
  const types = inputs.map((t) => b.dtypeOf(t));
  const attrs: Record<string, AttrValue> = {
    T: { list: { type: types } },
    cond: funcAttr(o.cond),
    body: funcAttr(o.body),
    output_shapes: { list: { shape: types.map(() => ({ dim: [], unknownRank: true })) } },
    parallel_iterations: attr.i(o.parallelIterations ?? 32),
    _lower_using_switch_merge: attr.b(true),
    _num_original_outputs: attr.i(inputs.length),
  };
  const op = o.stateless === false ? 'While' : 'StatelessWhile';
  return b.op(op, inputs, attrs, { name: o.name ?? 'while', outDtypes: types });
}

export function tensorListReserve(
  b: GraphBuilder,
  elementShape: Operand,
  numElements: Operand,
  dtype: Dtype,
  o: OpOptions = {},
): string {
  const name = o.name ?? 'TensorArrayV2';
  const shape = b.operand(elementShape, name, 'element_shape');
  const n = b.operand(numElements, name, 'num_elements');
  const attrs = { element_dtype: attr.type(dtype), shape_type: int32 };
  return b.op('TensorListReserve', [shape, n], attrs, { name, outDtypes: [VARIANT] })[0];
}

export function tensorListFromTensor(
  b: GraphBuilder,
  tensor: string,
  elementShape: Operand,
  o: OpOptions = {},
): string {
  const name = o.name ?? 'TensorArrayUnstack/TensorListFromTensor';
  const shape = b.operand(elementShape, name, 'element_shape');
  const attrs = { element_dtype: attr.type(b.dtypeOf(tensor)), shape_type: int32 };
  return b.op('TensorListFromTensor', [tensor, shape], attrs, { name, outDtypes: [VARIANT] })[0];
}

export function tensorListGetItem(
  b: GraphBuilder,
  handle: string,
  index: string,
  elementShape: Operand,
  dtype: Dtype,
  o: OpOptions = {},
): string {
  const name = o.name ?? 'TensorArrayV2Read/TensorListGetItem';
  const shape = b.operand(elementShape, name, 'element_shape');
  return b.op(
    'TensorListGetItem',
    [handle, index, shape],
    { element_dtype: attr.type(dtype) },
    { name, outDtypes: [dtypeNumber(dtype)] },
  )[0];
}

export function tensorListSetItem(
  b: GraphBuilder,
  handle: string,
  index: string,
  item: string,
  o: OpOptions = {},
): string {
  return b.op(
    'TensorListSetItem',
    [handle, index, item],
    { element_dtype: attr.type(b.dtypeOf(item)) },
    { name: o.name ?? 'TensorArrayV2Write/TensorListSetItem', outDtypes: [VARIANT] },
  )[0];
}

export function tensorListStack(
  b: GraphBuilder,
  handle: string,
  elementShape: Operand,
  dtype: Dtype,
  o: OpOptions & { numElements?: number } = {},
): string {
  const name = o.name ?? 'TensorArrayV2Stack/TensorListStack';
  const shape = b.operand(elementShape, name, 'element_shape');
  const attrs = { element_dtype: attr.type(dtype), num_elements: attr.i(o.numElements ?? -1) };
  return b.op('TensorListStack', [handle, shape], attrs, { name, outDtypes: [dtypeNumber(dtype)] })[0];
}

/** StridedSlice with TensorFlow's mask attrs (array_ops.cc); begin/end/strides as int32 operands. */
export function stridedSlice(
  b: GraphBuilder,
  x: string,
  begin: Operand,
  end: Operand,
  strides: Operand,
  o: OpOptions & { shrinkAxisMask?: number; beginMask?: number; endMask?: number } = {},
): string {
  const name = o.name ?? 'strided_slice';
  const bt = b.operand(begin, name, 'stack');
  const et = b.operand(end, name, 'stack_1');
  const stt = b.operand(strides, name, 'stack_2');
  const attrs = {
    T: attr.type(b.dtypeOf(x)),
    Index: int32,
    begin_mask: attr.i(o.beginMask ?? 0),
    end_mask: attr.i(o.endMask ?? 0),
    ellipsis_mask: attr.i(0),
    new_axis_mask: attr.i(0),
    shrink_axis_mask: attr.i(o.shrinkAxisMask ?? 0),
  };
  return b.op('StridedSlice', [x, bt, et, stt], attrs, { name })[0];
}

/** v1 loop ops (control_flow_ops.cc): Enter into frame `frame`, Merge, Switch, NextIteration, Exit, LoopCond. */
export function enter(
  b: GraphBuilder,
  x: string,
  frame: string,
  o: OpOptions & { isConstant?: boolean } = {},
): string {
  const attrs = {
    T: attr.type(b.dtypeOf(x)),
    frame_name: attr.s(frame),
    is_constant: attr.b(o.isConstant ?? false),
    parallel_iterations: attr.i(32),
  };
  return b.op('Enter', [x], attrs, { name: o.name ?? 'Enter' })[0];
}

export function merge(b: GraphBuilder, inputs: readonly string[], o: OpOptions = {}): string[] {
  const attrs = { T: attr.type(b.dtypeOf(inputs[0]!)), N: attr.i(inputs.length) };
  return b.op('Merge', inputs, attrs, { name: o.name ?? 'Merge', outDtypes: [b.dtypeOf(inputs[0]!), 3] });
}

export function switchOp(b: GraphBuilder, data: string, pred: string, o: OpOptions = {}): string[] {
  const d = b.dtypeOf(data);
  return b.op('Switch', [data, pred], { T: attr.type(d) }, { name: o.name ?? 'Switch', outDtypes: [d, d] });
}

export const nextIteration = (b: GraphBuilder, x: string, o: OpOptions = {}): string =>
  b.op('NextIteration', [x], { T: attr.type(b.dtypeOf(x)) }, { name: o.name ?? 'NextIteration' })[0];
export const exitOp = (b: GraphBuilder, x: string, o: OpOptions = {}): string =>
  b.op('Exit', [x], { T: attr.type(b.dtypeOf(x)) }, { name: o.name ?? 'Exit' })[0];
export const loopCond = (b: GraphBuilder, x: string, o: OpOptions = {}): string =>
  b.op('LoopCond', [x], {}, { name: o.name ?? 'LoopCond', outDtypes: [DataType.DT_BOOL] })[0];

/** TensorArrayV3 (data_flow_ops.cc): returns [handle, flow]. */
export function tensorArrayV3(
  b: GraphBuilder,
  size: string,
  dtype: Dtype,
  elementShape: readonly number[] | null,
  o: OpOptions = {},
): string[] {
  const name = o.name ?? 'TensorArray';
  const attrs = {
    dtype: attr.type(dtype),
    element_shape: attr.shape(elementShape),
    dynamic_size: attr.b(false),
    clear_after_read: attr.b(true),
    identical_element_shapes: attr.b(true),
    tensor_array_name: attr.s(''),
  };
  return b.op('TensorArrayV3', [size], attrs, { name, outDtypes: [DataType.DT_RESOURCE, DataType.DT_FLOAT] });
}
