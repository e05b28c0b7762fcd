import { attr, GraphBuilder } from '../../src/graph/builder/graph-builder.ts';
import { buildFunction, type FunctionArg } from '../../src/graph/builder/function-builder.ts';
import {
  stridedSlice,
  tensorListFromTensor,
  tensorListGetItem,
  tensorListReserve,
  tensorListSetItem,
  tensorListStack,
  whileLoop,
} from '../../src/graph/builder/control-flow-ops.ts';
import { DataType } from '../../src/graph/proto/types.ts';

/**
 * Keras recurrent layers as TF 2.x writes them once frozen (keras/backend.py rnn() under while_v2): the input
 * made time-major, unstacked into a TensorList, a StatelessWhile whose loop variables are (loop_counter,
 * maximum_iterations, time, output TensorList, states…, then the captured time steps, input TensorList and
 * weights), body and cond in the graph's function library, and the last output read back with TensorListStack +
 * strided_slice. Weights are Consts (convert_variables_to_constants_v2). Node names follow Keras's.
 */
export type Cell = 'lstm' | 'gru';
export type RnnWeights = {
  kernel: Float32Array; // [F, G*U]
  recurrent: Float32Array; // [U, G*U]
  bias: Float32Array; // lstm [4U]; gru (reset_after) [2, 3U]
};

const F32 = DataType.DT_FLOAT;
const I32 = DataType.DT_INT32;
const VAR = DataType.DT_VARIANT;

/** One step of the cell inside the body: returns [output, ...new states]. */
function cellStep(
  cell: Cell,
  b: GraphBuilder,
  x: string,
  states: string[],
  w: { kernel: string; recurrent: string; bias: string },
): string[] {
  if (cell === 'lstm') {
    const z = b.biasAdd(b.addV2(b.matMul(x, w.kernel), b.matMul(states[0]!, w.recurrent)), w.bias);
    const dim = b.constant('DT_INT32', [], [1], { name: 'split/split_dim' });
    const [i, f, g, o] = b.op(
      'Split',
      [dim, z],
      { num_split: attr.i(4), T: attr.type(F32) },
      {
        name: 'split',
        outDtypes: [F32, F32, F32, F32],
      },
    );
    const c = b.addV2(b.mul(b.sigmoid(f!), states[1]!), b.mul(b.sigmoid(i!), b.tanh(g!)));
    const h = b.mul(b.sigmoid(o!), b.tanh(c));
    return [h, h, c];
  }
  const axis = { num: attr.i(2), axis: attr.i(0), T: attr.type(F32) };
  const [inBias, recBias] = b.op('Unpack', [w.bias], axis, { name: 'unstack', outDtypes: [F32, F32] });
  const split = (t: string, name: string) => {
    const dim = b.constant('DT_INT32', [], [-1], { name: `${name}/split_dim` });
    return b.op(
      'Split',
      [dim, t],
      { num_split: attr.i(3), T: attr.type(F32) },
      { name, outDtypes: [F32, F32, F32] },
    );
  };
  const [xz, xr, xh] = split(b.biasAdd(b.matMul(x, w.kernel), inBias!), 'split');
  const [rz, rr, rh] = split(b.biasAdd(b.matMul(states[0]!, w.recurrent), recBias!), 'split_1');
  const z = b.sigmoid(b.addV2(xz!, rz!));
  const r = b.sigmoid(b.addV2(xr!, rr!));
  const hh = b.tanh(b.addV2(xh!, b.mul(r, rh!)));
  const one = b.constant('DT_FLOAT', [], [1], { name: 'sub/x' });
  const h = b.addV2(b.mul(z, states[0]!), b.mul(b.sub(one, z), hh));
  return [h, h];
}

/** Adds layer `scope` over batch-major `x` [B, T, F] to `g`; returns its last output [B, U]. */
export function kerasRnnLayer(
  g: GraphBuilder,
  x: string,
  o: {
    scope: string;
    cell: Cell;
    features: number;
    units: number;
    weights: RnnWeights;
    goBackwards?: boolean;
  },
): string {
  const { scope: s, cell, features: F, units: U, weights } = o;
  const G = cell === 'lstm' ? 4 : 3;
  const nStates = cell === 'lstm' ? 2 : 1;
  const kernel = g.constant('DT_FLOAT', [F, G * U], weights.kernel, { name: `${s}/kernel` });
  const recurrent = g.constant('DT_FLOAT', [U, G * U], weights.recurrent, { name: `${s}/recurrent_kernel` });
  const biasShape = cell === 'lstm' ? [G * U] : [2, G * U];
  const bias = g.constant('DT_FLOAT', biasShape, weights.bias, { name: `${s}/bias` });

  const shape = g.op(
    'Shape',
    [x],
    { T: attr.type(F32), out_type: attr.type(I32) },
    { name: `${s}/Shape`, outDtypes: [I32] },
  )[0]!;
  const batch = stridedSlice(g, shape, [0], [1], [1], { name: `${s}/strided_slice`, shrinkAxisMask: 1 });
  const zeros = (k: string) => {
    const units = g.constant('DT_INT32', [], [U], { name: `${s}/${k}/packed/1` });
    const packed = g.op(
      'Pack',
      [batch, units],
      { N: attr.i(2), T: attr.type(I32), axis: attr.i(0) },
      { name: `${s}/${k}/packed` },
    )[0]!;
    const zero = g.constant('DT_FLOAT', [], [0], { name: `${s}/${k}/Const` });
    return g.op(
      'Fill',
      [packed, zero],
      { T: attr.type(F32), index_type: attr.type(I32) },
      { name: `${s}/${k}`, outDtypes: [F32] },
    )[0]!;
  };
  const init = cell === 'lstm' ? [zeros('zeros'), zeros('zeros_1')] : [zeros('zeros')];
  let timeMajor = g.transpose(x, [1, 0, 2], { name: `${s}/transpose` });
  const shape1 = g.op(
    'Shape',
    [timeMajor],
    { T: attr.type(F32), out_type: attr.type(I32) },
    { name: `${s}/Shape_1`, outDtypes: [I32] },
  )[0]!;
  const steps = stridedSlice(g, shape1, [0], [1], [1], { name: `${s}/strided_slice_1`, shrinkAxisMask: 1 });
  if (o.goBackwards) {
    const axis = g.constant('DT_INT32', [1], [0], { name: `${s}/ReverseV2/axis` });
    timeMajor = g.op(
      'ReverseV2',
      [timeMajor, axis],
      { T: attr.type(F32), Tidx: attr.type(I32) },
      { name: `${s}/ReverseV2` },
    )[0]!;
  }
  const outList = tensorListReserve(g, [-1, U], steps, 'DT_FLOAT', { name: `${s}/TensorArrayV2_1` });
  const inList = tensorListFromTensor(g, timeMajor, [-1, F], {
    name: `${s}/TensorArrayUnstack/TensorListFromTensor`,
  });
  const time = g.constant('DT_INT32', [], [0], { name: `${s}/time` });
  // Keras passes maximum_iterations=input_length; while_v2 then ANDs loop_counter < it into the cond.
  const maxIter = g.identity(steps, { name: `${s}/while/maximum_iterations` });
  const counter = g.constant('DT_INT32', [], [0], { name: `${s}/while/loop_counter` });

  const fn = `__inference_${s.replace(/\W/g, '_')}_while`;
  const stateArgs: FunctionArg[] = init.map((_, k) => ({ name: `placeholder_${k + 2}`, dtype: F32 }));
  const args: FunctionArg[] = [
    { name: 'while_loop_counter', dtype: I32 },
    { name: 'while_maximum_iterations', dtype: I32 },
    { name: 'placeholder', dtype: I32 },
    { name: 'placeholder_1', dtype: VAR },
    ...stateArgs,
    { name: 'strided_slice_1_0', dtype: I32 },
    { name: 'tensorarrayunstack_tensorlistfromtensor_0', dtype: VAR },
    { name: 'kernel_0', dtype: F32 },
    { name: 'recurrent_kernel_0', dtype: F32 },
    { name: 'bias_0', dtype: F32 },
  ];
  const outs = args.map((a, i) => ({ name: i === 0 ? 'identity' : `identity_${i}`, dtype: a.dtype }));
  g.addFunction(
    buildFunction(`${fn}_cond`, args, [{ name: 'identity', dtype: DataType.DT_BOOL }], (b, a) => {
      const more = b.less(a[0]!, a[1]!, { name: 'Less' });
      const go = b.less(a[2]!, a[4 + nStates]!, { name: 'Less_1' });
      const both = b.op(
        'LogicalAnd',
        [more, go],
        {},
        { name: 'LogicalAnd', outDtypes: [DataType.DT_BOOL] },
      )[0]!;
      return [b.identity(both, { name: 'Identity' })];
    }),
  );
  g.addFunction(
    buildFunction(`${fn}_body`, args, outs, (b, a) => {
      const [counterA, maxA, timeA, outA] = a;
      const states = a.slice(4, 4 + nStates);
      const [stepsA, inA, kA, rA, biasA] = a.slice(4 + nStates);
      const xt = tensorListGetItem(b, inA!, timeA!, [-1, F], 'DT_FLOAT');
      const [out, ...next] = cellStep(cell, b, xt, states, { kernel: kA!, recurrent: rA!, bias: biasA! });
      const written = tensorListSetItem(b, outA!, timeA!, out!);
      const one = (n: string) => b.constant('DT_INT32', [], [1], { name: n });
      const t1 = b.addV2(timeA!, one('add_2/y'), { name: 'add_2' });
      const c1 = b.addV2(counterA!, one('add_3/y'), { name: 'add_3' });
      const results = [c1, maxA!, t1, written, ...next, stepsA!, inA!, kA!, rA!, biasA!];
      return results.map((r, i) => b.identity(r, { name: i === 0 ? 'Identity' : `Identity_${i}` }));
    }),
  );
  const loop = whileLoop(
    g,
    [counter, maxIter, time, outList, ...init, steps, inList, kernel, recurrent, bias],
    {
      cond: `${fn}_cond`,
      body: `${fn}_body`,
      name: `${s}/while`,
    },
  );
  const stacked = tensorListStack(g, loop[3]!, [-1, U], 'DT_FLOAT', {
    name: `${s}/TensorArrayV2Stack/TensorListStack`,
  });
  return stridedSlice(g, stacked, [-1, 0, 0], [0, 0, 0], [1, 1, 1], {
    name: `${s}/strided_slice_3`,
    beginMask: 6,
    endMask: 6,
    shrinkAxisMask: 1,
  });
}

/** Plain reference recurrence (float64) over x [B, T, F], from the same weights; returns the last output [B, U]. */
export function referenceRnn(
  cell: Cell,
  x: Float32Array,
  B: number,
  T: number,
  F: number,
  U: number,
  w: RnnWeights,
  goBackwards = false,
): Float64Array {
  const G = cell === 'lstm' ? 4 : 3;
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const out = new Float64Array(B * U);
  for (let bi = 0; bi < B; bi++) {
    let h = new Float64Array(U);
    let c = new Float64Array(U);
    for (let step = 0; step < T; step++) {
      const t = goBackwards ? T - 1 - step : step;
      const xs = (k: number) => x[(bi * T + t) * F + k]!;
      const gx = new Float64Array(G * U);
      const gh = new Float64Array(G * U);
      for (let j = 0; j < G * U; j++) {
        for (let k = 0; k < F; k++) gx[j] += xs(k) * w.kernel[k * G * U + j]!;
        for (let k = 0; k < U; k++) gh[j] += h[k]! * w.recurrent[k * G * U + j]!;
      }
      const nh = new Float64Array(U);
      const nc = new Float64Array(U);
      for (let u = 0; u < U; u++) {
        if (cell === 'lstm') {
          const z = (g: number) => gx[g * U + u]! + gh[g * U + u]! + w.bias[g * U + u]!;
          nc[u] = sig(z(1)) * c[u]! + sig(z(0)) * Math.tanh(z(2));
          nh[u] = sig(z(3)) * Math.tanh(nc[u]!);
        } else {
          const xb = (g: number) => gx[g * U + u]! + w.bias[g * U + u]!;
          const hb = (g: number) => gh[g * U + u]! + w.bias[G * U + g * U + u]!;
          const z = sig(xb(0) + hb(0));
          const r = sig(xb(1) + hb(1));
          const hh = Math.tanh(xb(2) + r * hb(2));
          nh[u] = z * h[u]! + (1 - z) * hh;
        }
      }
      h = nh;
      c = nc;
    }
    out.set(h, bi * U);
  }
  return out;
}
