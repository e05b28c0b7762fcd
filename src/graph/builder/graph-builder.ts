import { DataType, type AttrValue, type FunctionDef, type GraphDef, type NodeDef } from '../proto/types.ts';
import { attr, dtypeNumber, inputRef, tensorName, type Dtype } from './attrs.ts';
import { makeTensorProto, type ConstValues } from './tensor-proto.ts';

export { attr, type Dtype } from './attrs.ts';
export type OpOptions = { readonly name?: string };
/** A tensor name "node:0", or a number/number[] for small int32 operands (axes, shapes, perms). */
export type Operand = string | number | readonly number[];

/**
 * Builds a GraphDef node by node with the attrs TensorFlow itself writes for each op (checked against the op
 * registry in tensorflow/core/ops/*.cc), so graphs made here load through exactly the path real TensorFlow files
 * take. Every op method returns the name of its output tensor ("node:0"); node names are made unique the way
 * TensorFlow does ("MatMul", "MatMul_1"); small int32 operands (axes, shapes) become Const nodes named like
 * TensorFlow's ("concat/axis"). Builders are plain data: nothing is allocated in tfjs. Bad arguments throw
 * CTR_ERR_INVALID_GRAPH.
 */
export class GraphBuilder {
  readonly #nodes: NodeDef[] = [];
  readonly #used = new Set<string>();
  readonly #dtypes = new Map<string, number>();
  readonly #library: FunctionDef[] = [];

  /** Adds any op: inputs are tensor names, attrs as given; returns its output tensor names. */
  op(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue>,
    options: OpOptions & { outDtypes?: readonly number[] } = {},
  ): string[] {
    return this.#emit(this.#unique(options.name ?? op), op, inputs, attrs, options.outDtypes);
  }

  #emit(
    name: string,
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue>,
    outDtypes?: readonly number[],
  ): string[] {
    this.#nodes.push({ name, op, input: inputs.map(inputRef), attr: { ...attrs } });
    const outs = outDtypes ?? [this.dtypeOf(inputs[0] ?? '')];
    return outs.map((d, i) => {
      this.#dtypes.set(`${name}:${i}`, d);
      return `${name}:${i}`;
    });
  }

  /** The dtype of a tensor made by this builder (DT_INVALID when unknown). */
  dtypeOf(tensor: string): number {
    return this.#dtypes.get(tensorName(tensor)) ?? DataType.DT_INVALID;
  }

  placeholder(name: string, dtype: Dtype, shape: readonly number[] | null): string {
    const d = dtypeNumber(dtype);
    return this.op(
      'Placeholder',
      [],
      { dtype: attr.type(d), shape: attr.shape(shape) },
      { name, outDtypes: [d] },
    )[0];
  }

  constant(dtype: Dtype, shape: readonly number[], values: ConstValues, options: OpOptions = {}): string {
    const d = dtypeNumber(dtype);
    const value: AttrValue = { tensor: makeTensorProto(d, shape, values) };
    return this.op(
      'Const',
      [],
      { dtype: attr.type(d), value },
      { name: options.name ?? 'Const', outDtypes: [d] },
    )[0];
  }

  /** A tensor name as is, or an int32 Const for numbers (named "<scope>/<role>" as TensorFlow does). */
  operand(x: Operand, scope: string, role: string): string {
    if (typeof x === 'string') return x;
    const values = typeof x === 'number' ? [x] : [...x];
    const shape = typeof x === 'number' ? [] : [values.length];
    return this.constant('DT_INT32', shape, values, { name: `${scope}/${role}` });
  }

  #unary(op: string, x: string, options: OpOptions): string {
    return this.op(op, [x], { T: attr.type(this.dtypeOf(x)) }, options)[0];
  }
  #binary(op: string, a: string, b: string, options: OpOptions): string {
    return this.op(op, [a, b], { T: attr.type(this.dtypeOf(a)) }, options)[0];
  }

  identity = (x: string, o: OpOptions = {}) => this.#unary('Identity', x, o);
  relu = (x: string, o: OpOptions = {}) => this.#unary('Relu', x, o);
  sigmoid = (x: string, o: OpOptions = {}) => this.#unary('Sigmoid', x, o);
  tanh = (x: string, o: OpOptions = {}) => this.#unary('Tanh', x, o);
  softmax = (x: string, o: OpOptions = {}) => this.#unary('Softmax', x, o);
  rsqrt = (x: string, o: OpOptions = {}) => this.#unary('Rsqrt', x, o);
  sqrt = (x: string, o: OpOptions = {}) => this.#unary('Sqrt', x, o);
  erf = (x: string, o: OpOptions = {}) => this.#unary('Erf', x, o);
  abs = (x: string, o: OpOptions = {}) => this.#unary('Abs', x, o);
  neg = (x: string, o: OpOptions = {}) => this.#unary('Neg', x, o);
  exp = (x: string, o: OpOptions = {}) => this.#unary('Exp', x, o);
  log = (x: string, o: OpOptions = {}) => this.#unary('Log', x, o);
  square = (x: string, o: OpOptions = {}) => this.#unary('Square', x, o);
  add = (a: string, b: string, o: OpOptions = {}) => this.#binary('Add', a, b, o);
  addV2 = (a: string, b: string, o: OpOptions = {}) => this.#binary('AddV2', a, b, o);
  sub = (a: string, b: string, o: OpOptions = {}) => this.#binary('Sub', a, b, o);
  mul = (a: string, b: string, o: OpOptions = {}) => this.#binary('Mul', a, b, o);
  realDiv = (a: string, b: string, o: OpOptions = {}) => this.#binary('RealDiv', a, b, o);
  pow = (a: string, b: string, o: OpOptions = {}) => this.#binary('Pow', a, b, o);
  maximum = (a: string, b: string, o: OpOptions = {}) => this.#binary('Maximum', a, b, o);
  minimum = (a: string, b: string, o: OpOptions = {}) => this.#binary('Minimum', a, b, o);
  squaredDifference = (a: string, b: string, o: OpOptions = {}) => this.#binary('SquaredDifference', a, b, o);

  #compare(op: string, a: string, b: string, o: OpOptions): string {
    const attrs: Record<string, AttrValue> = { T: attr.type(this.dtypeOf(a)) };
    if (op === 'NotEqual' || op === 'Equal') attrs.incompatible_shape_error = attr.b(true);
    return this.op(op, [a, b], attrs, { ...o, outDtypes: [DataType.DT_BOOL] })[0];
  }
  notEqual = (a: string, b: string, o: OpOptions = {}) => this.#compare('NotEqual', a, b, o);
  equal = (a: string, b: string, o: OpOptions = {}) => this.#compare('Equal', a, b, o);
  greater = (a: string, b: string, o: OpOptions = {}) => this.#compare('Greater', a, b, o);
  less = (a: string, b: string, o: OpOptions = {}) => this.#compare('Less', a, b, o);

  /** SelectV2 (tf.where with broadcasting); `v1: true` writes the older Select. */
  select(cond: string, a: string, b: string, o: OpOptions & { v1?: boolean } = {}): string {
    return this.op(
      o.v1 ? 'Select' : 'SelectV2',
      [cond, a, b],
      { T: attr.type(this.dtypeOf(a)) },
      {
        name: o.name,
        outDtypes: [this.dtypeOf(a)],
      },
    )[0];
  }

  matMul(a: string, b: string, o: OpOptions & { transposeA?: boolean; transposeB?: boolean } = {}): string {
    const attrs = {
      T: attr.type(this.dtypeOf(a)),
      transpose_a: attr.b(o.transposeA ?? false),
      transpose_b: attr.b(o.transposeB ?? false),
    };
    return this.op('MatMul', [a, b], attrs, { name: o.name })[0];
  }

  batchMatMulV2(a: string, b: string, o: OpOptions & { adjX?: boolean; adjY?: boolean } = {}): string {
    const attrs = {
      T: attr.type(this.dtypeOf(a)),
      adj_x: attr.b(o.adjX ?? false),
      adj_y: attr.b(o.adjY ?? false),
    };
    return this.op('BatchMatMulV2', [a, b], attrs, { name: o.name })[0];
  }

  biasAdd(x: string, bias: string, o: OpOptions = {}): string {
    return this.op(
      'BiasAdd',
      [x, bias],
      { T: attr.type(this.dtypeOf(x)), data_format: attr.s('NHWC') },
      o,
    )[0];
  }

  gatherV2(
    params: string,
    indices: string,
    axis: Operand = 0,
    o: OpOptions & { batchDims?: number } = {},
  ): string {
    const name = this.#unique(o.name ?? 'GatherV2');
    const axisT = this.operand(axis, name, 'axis');
    const attrs = {
      Tparams: attr.type(this.dtypeOf(params)),
      Tindices: attr.type(this.dtypeOf(indices)),
      Taxis: attr.type(this.dtypeOf(axisT)),
      batch_dims: attr.i(o.batchDims ?? 0),
    };
    return this.#emit(name, 'GatherV2', [params, indices, axisT], attrs, [this.dtypeOf(params)])[0];
  }

  #reduce(op: string, x: string, axis: Operand, o: OpOptions & { keepDims?: boolean }): string {
    const name = this.#unique(o.name ?? op);
    const axisT = this.operand(axis, name, 'reduction_indices');
    const attrs = {
      T: attr.type(this.dtypeOf(x)),
      Tidx: attr.type(this.dtypeOf(axisT)),
      keep_dims: attr.b(o.keepDims ?? false),
    };
    return this.#emit(name, op, [x, axisT], attrs)[0];
  }
  mean = (x: string, axis: Operand, o: OpOptions & { keepDims?: boolean } = {}) =>
    this.#reduce('Mean', x, axis, o);
  sum = (x: string, axis: Operand, o: OpOptions & { keepDims?: boolean } = {}) =>
    this.#reduce('Sum', x, axis, o);
  max = (x: string, axis: Operand, o: OpOptions & { keepDims?: boolean } = {}) =>
    this.#reduce('Max', x, axis, o);

  concatV2(values: readonly string[], axis: Operand, o: OpOptions = {}): string {
    const name = this.#unique(o.name ?? 'concat');
    const axisT = this.operand(axis, name, 'axis');
    const attrs = {
      N: attr.i(values.length),
      T: attr.type(this.dtypeOf(values[0])),
      Tidx: attr.type(this.dtypeOf(axisT)),
    };
    return this.#emit(name, 'ConcatV2', [...values, axisT], attrs, [this.dtypeOf(values[0])])[0];
  }

  reshape(x: string, shape: Operand, o: OpOptions = {}): string {
    const name = this.#unique(o.name ?? 'Reshape');
    const shapeT = this.operand(shape, name, 'shape');
    const attrs = { T: attr.type(this.dtypeOf(x)), Tshape: attr.type(this.dtypeOf(shapeT)) };
    return this.#emit(name, 'Reshape', [x, shapeT], attrs, [this.dtypeOf(x)])[0];
  }

  transpose(x: string, perm: Operand, o: OpOptions = {}): string {
    const name = this.#unique(o.name ?? 'transpose');
    const permT = this.operand(perm, name, 'perm');
    const attrs = { T: attr.type(this.dtypeOf(x)), Tperm: attr.type(this.dtypeOf(permT)) };
    return this.#emit(name, 'Transpose', [x, permT], attrs, [this.dtypeOf(x)])[0];
  }

  expandDims(x: string, axis: Operand, o: OpOptions = {}): string {
    const name = this.#unique(o.name ?? 'ExpandDims');
    const axisT = this.operand(axis, name, 'dim');
    const attrs = { T: attr.type(this.dtypeOf(x)), Tdim: attr.type(this.dtypeOf(axisT)) };
    return this.#emit(name, 'ExpandDims', [x, axisT], attrs, [this.dtypeOf(x)])[0];
  }

  squeeze(x: string, axes: readonly number[] = [], o: OpOptions = {}): string {
    const attrs = { T: attr.type(this.dtypeOf(x)), squeeze_dims: { list: { i: [...axes] } } };
    return this.op('Squeeze', [x], attrs, o)[0];
  }

  cast(x: string, to: Dtype, o: OpOptions = {}): string {
    const attrs = { SrcT: attr.type(this.dtypeOf(x)), DstT: attr.type(to), Truncate: attr.b(false) };
    return this.op('Cast', [x], attrs, { ...o, outDtypes: [dtypeNumber(to)] })[0];
  }

  /** Reserves `name` for a tensor made outside this builder (a function argument); returns "name:0". */
  bind(name: string, dtype: Dtype): string {
    this.#used.add(name);
    this.#dtypes.set(`${name}:0`, dtypeNumber(dtype));
    return `${name}:0`;
  }

  /** Adds a function (function-builder.ts) to the graph's library, for While/If attrs to name. */
  addFunction(fn: FunctionDef): void {
    this.#library.push(fn);
  }

  toGraphDef(): GraphDef {
    return {
      node: this.#nodes.map((n) => structuredClone(n)),
      versions: { producer: 1205, minConsumer: 12 },
      ...(this.#library.length ? { library: { function: structuredClone(this.#library) } } : {}),
    };
  }

  #unique(base: string): string {
    let name = base;
    for (let k = 1; this.#used.has(name); k++) name = `${base}_${k}`;
    this.#used.add(name);
    return name;
  }
}
