import {
  enter,
  exitOp,
  loopCond,
  merge,
  nextIteration,
  stridedSlice,
  switchOp,
  tensorArrayV3,
} from '../../src/graph/builder/control-flow-ops.ts';
import { attr, GraphBuilder } from '../../src/graph/builder/graph-builder.ts';
import { DataType } from '../../src/graph/proto/types.ts';

const F32 = DataType.DT_FLOAT;
const I32 = DataType.DT_INT32;

/**
 * tf.compat.v1.nn.dynamic_rnn over a BasicLSTMCell (forget_bias 1.0) as TF 1.x writes it
 * (tensorflow/python/ops/rnn.py _dynamic_rnn_loop under control_flow_ops.while_loop): the input made time-major,
 * scattered into a TensorArrayV3, the v1 loop "rnn/while" (Enter/Merge/Switch/Identity/NextIteration/Exit,
 * LoopCond on iteration_counter < time_steps ∧ time < min(max(1, time_steps))), loop-invariant tensors entered
 * with is_constant, each step read with TensorArrayReadV3 and written with TensorArrayWriteV3, the outputs gathered
 * back with TensorArraySizeV3 + Range + TensorArrayGatherV3. Returns the outputs [B, T, U] and final h [B, U].
 * Weights: kernel [F+U, 4U] (gates i, j, f, o), bias [4U].
 */
export function dynamicRnnLstm(
  g: GraphBuilder,
  x: string,
  o: { features: number; units: number; kernel: Float32Array; bias: Float32Array },
): { outputs: string; h: string } {
  const { features: F, units: U } = o;
  const frame = 'rnn/while/while_context';
  const kernel = g.constant('DT_FLOAT', [F + U, 4 * U], o.kernel, { name: 'rnn/basic_lstm_cell/kernel' });
  const bias = g.constant('DT_FLOAT', [4 * U], o.bias, { name: 'rnn/basic_lstm_cell/bias' });
  const xt = g.transpose(x, [1, 0, 2], { name: 'rnn/transpose' });
  const shapeOf = (t: string, name: string) =>
    g.op('Shape', [t], { T: attr.type(F32), out_type: attr.type(I32) }, { name, outDtypes: [I32] })[0]!;
  const shape = shapeOf(xt, 'rnn/Shape');
  const steps = stridedSlice(g, shape, [0], [1], [1], { name: 'rnn/strided_slice', shrinkAxisMask: 1 });
  const batch = stridedSlice(g, shape, [1], [2], [1], { name: 'rnn/strided_slice_1', shrinkAxisMask: 1 });
  const zeros = (name: string) => {
    const u = g.constant('DT_INT32', [1], [U], { name: `${name}/Const` });
    const dims = g.concatV2([g.reshape(batch, [1], { name: `${name}/Reshape` }), u], 0, {
      name: `${name}/concat`,
    });
    const zero = g.constant('DT_FLOAT', [], [0], { name: `${name}/zeros/Const` });
    return g.op(
      'Fill',
      [dims, zero],
      { T: attr.type(F32), index_type: attr.type(I32) },
      { name, outDtypes: [F32] },
    )[0]!;
  };
  const c0 = zeros('BasicLSTMCellZeroState/zeros');
  const h0 = zeros('BasicLSTMCellZeroState/zeros_1');
  const [outTa, outFlow] = tensorArrayV3(g, steps, 'DT_FLOAT', [-1, U], { name: 'rnn/TensorArray' });
  const [inTa, inFlow] = tensorArrayV3(g, steps, 'DT_FLOAT', [-1, F], { name: 'rnn/TensorArray_1' });
  const range = (n: string, name: string) => {
    const start = g.constant('DT_INT32', [], [0], { name: `${name}/start` });
    const delta = g.constant('DT_INT32', [], [1], { name: `${name}/delta` });
    return g.op('Range', [start, n, delta], { Tidx: attr.type(I32) }, { name, outDtypes: [I32] })[0]!;
  };
  const scatterIdx = range(steps, 'rnn/TensorArrayUnstack/range');
  const scattered = g.op(
    'TensorArrayScatterV3',
    [inTa!, scatterIdx, xt, inFlow!],
    { T: attr.type(F32) },
    {
      name: 'rnn/TensorArrayUnstack/TensorArrayScatter/TensorArrayScatterV3',
      outDtypes: [F32],
    },
  )[0]!;
  const one = g.constant('DT_INT32', [], [1], { name: 'rnn/Maximum/x' });
  const maxIter = g.minimum(g.maximum(one, steps, { name: 'rnn/Maximum' }), steps, { name: 'rnn/Minimum' });
  const counter0 = g.constant('DT_INT32', [], [0], { name: 'rnn/while/iteration_counter' });
  const time0 = g.constant('DT_INT32', [], [0], { name: 'rnn/time' });

  const vars = [counter0, time0, outFlow!, c0, h0];
  const enters = vars.map((v, i) => enter(g, v, frame, { name: `rnn/while/Enter${i ? `_${i}` : ''}` }));
  const merges = enters.map(
    (e, i) =>
      merge(g, [e, `rnn/while/NextIteration${i ? `_${i}` : ''}:0`], {
        name: `rnn/while/Merge${i ? `_${i}` : ''}`,
      })[0]!,
  );
  const constant = (t: string, name: string) => enter(g, t, frame, { name, isConstant: true });
  const less = g.less(merges[0]!, constant(steps, 'rnn/while/Less/Enter'), { name: 'rnn/while/Less' });
  const less1 = g.less(merges[1]!, constant(maxIter, 'rnn/while/Less_1/Enter'), { name: 'rnn/while/Less_1' });
  const both = g.op(
    'LogicalAnd',
    [less, less1],
    {},
    { name: 'rnn/while/LogicalAnd', outDtypes: [DataType.DT_BOOL] },
  )[0]!;
  const pred = loopCond(g, both, { name: 'rnn/while/LoopCond' });
  const switches = merges.map((m, i) =>
    switchOp(g, m, pred, { name: `rnn/while/Switch${i ? `_${i}` : ''}` }),
  );
  const ids = switches.map((s, i) => g.identity(s[1]!, { name: `rnn/while/Identity${i ? `_${i}` : ''}` }));
  const [counter, time, flow, c, h] = ids as [string, string, string, string, string];

  const read = g.op(
    'TensorArrayReadV3',
    [
      constant(inTa!, 'rnn/while/TensorArrayReadV3/Enter'),
      time,
      constant(scattered, 'rnn/while/TensorArrayReadV3/Enter_1'),
    ],
    { dtype: attr.type(F32) },
    { name: 'rnn/while/TensorArrayReadV3', outDtypes: [F32] },
  )[0]!;
  const cat = g.concatV2([read, h], 1, { name: 'rnn/while/basic_lstm_cell/concat' });
  const z = g.biasAdd(
    g.matMul(cat, constant(kernel, 'rnn/while/basic_lstm_cell/MatMul/Enter'), {
      name: 'rnn/while/basic_lstm_cell/MatMul',
    }),
    constant(bias, 'rnn/while/basic_lstm_cell/BiasAdd/Enter'),
    { name: 'rnn/while/basic_lstm_cell/BiasAdd' },
  );
  const dim = g.constant('DT_INT32', [], [1], { name: 'rnn/while/basic_lstm_cell/split/split_dim' });
  const [i, j, f, og] = g.op(
    'Split',
    [dim, z],
    { num_split: attr.i(4), T: attr.type(F32) },
    {
      name: 'rnn/while/basic_lstm_cell/split',
      outDtypes: [F32, F32, F32, F32],
    },
  );
  const forget = g.constant('DT_FLOAT', [], [1], { name: 'rnn/while/basic_lstm_cell/Const_2' });
  const newC = g.addV2(g.mul(c, g.sigmoid(g.addV2(f!, forget))), g.mul(g.sigmoid(i!), g.tanh(j!)));
  const newH = g.mul(g.tanh(newC), g.sigmoid(og!), { name: 'rnn/while/basic_lstm_cell/Mul_2' });
  const written = g.op(
    'TensorArrayWriteV3',
    [constant(outTa!, 'rnn/while/TensorArrayWrite/TensorArrayWriteV3/Enter'), time, newH, flow],
    { T: attr.type(F32) },
    { name: 'rnn/while/TensorArrayWrite/TensorArrayWriteV3', outDtypes: [F32] },
  )[0]!;
  const inc = (t: string, name: string) =>
    g.add(t, g.constant('DT_INT32', [], [1], { name: `${name}/y` }), { name });
  const nexts = [inc(counter, 'rnn/while/add'), inc(time, 'rnn/while/add_1'), written, newC, newH];
  nexts.forEach((n, k) => nextIteration(g, n, { name: `rnn/while/NextIteration${k ? `_${k}` : ''}` }));
  const exits = switches.map((s, k) => exitOp(g, s[0]!, { name: `rnn/while/Exit${k ? `_${k}` : ''}` }));

  const size = g.op(
    'TensorArraySizeV3',
    [outTa!, exits[2]!],
    {},
    { name: 'rnn/TensorArrayStack/TensorArraySizeV3', outDtypes: [I32] },
  )[0]!;
  const gathered = g.op(
    'TensorArrayGatherV3',
    [outTa!, range(size, 'rnn/TensorArrayStack/range'), exits[2]!],
    { dtype: attr.type(F32), element_shape: attr.shape([-1, U]) },
    { name: 'rnn/TensorArrayStack/TensorArrayGatherV3', outDtypes: [F32] },
  )[0]!;
  return { outputs: g.transpose(gathered, [1, 0, 2], { name: 'rnn/transpose_1' }), h: exits[4]! };
}

/** BasicLSTMCell recurrence in float64: outputs [B, T, U] then final h [B, U]. */
export function referenceDynamicRnn(
  x: Float32Array,
  B: number,
  T: number,
  F: number,
  U: number,
  kernel: Float32Array,
  bias: Float32Array,
): { outputs: Float64Array; h: Float64Array } {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const outputs = new Float64Array(B * T * U);
  const last = new Float64Array(B * U);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(U);
    let c = new Float64Array(U);
    for (let t = 0; t < T; t++) {
      const input = [...x.subarray((b * T + t) * F, (b * T + t + 1) * F), ...h];
      const z = new Float64Array(4 * U);
      for (let k = 0; k < 4 * U; k++) {
        z[k] = bias[k]!;
        for (let r = 0; r < F + U; r++) z[k] += input[r]! * kernel[r * 4 * U + k]!;
      }
      const nh = new Float64Array(U);
      const nc = new Float64Array(U);
      for (let u = 0; u < U; u++) {
        nc[u] = c[u]! * sig(z[2 * U + u]! + 1) + sig(z[u]!) * Math.tanh(z[U + u]!);
        nh[u] = Math.tanh(nc[u]!) * sig(z[3 * U + u]!);
      }
      h = nh;
      c = nc;
      outputs.set(h, (b * T + t) * U);
    }
    last.set(h, b * U);
  }
  return { outputs, h: last };
}
