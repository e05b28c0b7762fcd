import { attr, type GraphBuilder } from '../../graph/builder/graph-builder.ts';
import { buildFunction, type FunctionArg } from '../../graph/builder/function-builder.ts';
import {
  stridedSlice,
  tensorListFromTensor,
  tensorListGetItem,
  whileLoop,
} from '../../graph/builder/control-flow-ops.ts';
import { DataType } from '../../graph/proto/types.ts';
import type { Ops, ScanSpec } from '../model/ops.ts';

const I32 = DataType.DT_INT32;
const F32 = DataType.DT_FLOAT;

/**
 * Emits `spec` the way TF 2.x writes a Keras recurrent layer (keras/backend.py rnn() under while_v2): each
 * sequence made time-major (reversed for `reverse`) and unstacked into a TensorList, a StatelessWhile whose loop
 * variables are (loop_counter, maximum_iterations, time, states…, time steps, input lists…, captures…) and whose
 * cond (counter < maximum_iterations ∧ time < steps) and body are functions in the graph's library; the body
 * reads each list at `time` and runs `spec.step` with `opsFor`. Returns the final states (while:3…).
 */
export function emitScan(
  b: GraphBuilder,
  prefix: string,
  spec: ScanSpec<string>,
  opsFor: (fb: GraphBuilder, prefix: string) => Ops<string>,
): string[] {
  const s = `${prefix}${spec.name}`;
  const fn = `__inference_${s.replace(/\W/g, '_')}_while`;
  const lists = timeMajorLists(b, s, spec);
  const shape = b.op(
    'Shape',
    [lists[0]!.tm],
    { T: attr.type(F32), out_type: attr.type(I32) },
    {
      name: `${s}/Shape`,
      outDtypes: [I32],
    },
  )[0]!;
  const steps = stridedSlice(b, shape, [0], [1], [1], { name: `${s}/strided_slice`, shrinkAxisMask: 1 });
  const counter = b.constant('DT_INT32', [], [0], { name: `${s}/while/loop_counter` });
  const time = b.constant('DT_INT32', [], [0], { name: `${s}/time` });
  const maxIter = b.identity(steps, { name: `${s}/while/maximum_iterations` });

  const nS = spec.initial.length;
  const args: FunctionArg[] = [
    { name: 'while_loop_counter', dtype: I32 },
    { name: 'while_maximum_iterations', dtype: I32 },
    { name: 'placeholder', dtype: I32 },
    ...spec.initial.map((_, k) => ({ name: `placeholder_${k + 1}`, dtype: F32 })),
    { name: 'strided_slice_0', dtype: I32 },
    ...lists.map((_, k) => ({
      name: `tensorarrayunstack_${k}_tensorlistfromtensor_0`,
      dtype: DataType.DT_VARIANT,
    })),
    ...spec.captures.map((c, k) => ({ name: `capture_${k}`, dtype: b.dtypeOf(c) })),
  ];
  addLoopFunctions(b, fn, args, spec, lists.length, opsFor);
  const loop = whileLoop(
    b,
    [counter, maxIter, time, ...spec.initial, steps, ...lists.map((l) => l.list), ...spec.captures],
    { cond: `${fn}_cond`, body: `${fn}_body`, name: `${s}/while` },
  );
  return loop.slice(3, 3 + nS);
}

/** Each sequence time-major (reversed for `spec.reverse`) and unstacked into a TensorList. */
function timeMajorLists(b: GraphBuilder, s: string, spec: ScanSpec<string>): { tm: string; list: string }[] {
  return spec.sequences.map((q, i) => {
    const rank = q.stepShape.length + 1;
    const perm = [1, 0, ...Array.from({ length: rank - 2 }, (_, k) => k + 2)];
    let tm = b.transpose(q.tensor, perm, { name: `${s}/transpose` });
    if (spec.reverse) {
      const axis = b.constant('DT_INT32', [1], [0], { name: `${s}/ReverseV2/axis` });
      tm = b.op(
        'ReverseV2',
        [tm, axis],
        { T: attr.type(b.dtypeOf(tm)), Tidx: attr.type(I32) },
        {
          name: `${s}/ReverseV2`,
        },
      )[0]!;
    }
    return { tm, list: tensorListFromTensor(b, tm, q.stepShape, { name: `${s}/TensorArrayUnstack_${i}` }) };
  });
}

/** The loop's cond (counter < maximum_iterations ∧ time < steps) and body functions, in `b`'s library. */
function addLoopFunctions(
  b: GraphBuilder,
  fn: string,
  args: FunctionArg[],
  spec: ScanSpec<string>,
  nLists: number,
  opsFor: (fb: GraphBuilder, prefix: string) => Ops<string>,
): void {
  const nS = spec.initial.length;
  const outs = args.map((a, i) => ({ name: i === 0 ? 'identity' : `identity_${i}`, dtype: a.dtype }));
  b.addFunction(
    buildFunction(`${fn}_cond`, args, [{ name: 'identity', dtype: DataType.DT_BOOL }], (fb, a) => {
      const more = fb.less(a[0]!, a[1]!, { name: 'Less' });
      const go = fb.less(a[2]!, a[3 + nS]!, { name: 'Less_1' });
      const both = fb.op(
        'LogicalAnd',
        [more, go],
        {},
        { name: 'LogicalAnd', outDtypes: [DataType.DT_BOOL] },
      )[0]!;
      return [fb.identity(both, { name: 'Identity' })];
    }),
  );
  b.addFunction(
    buildFunction(`${fn}_body`, args, outs, (fb, a) => {
      const states = a.slice(3, 3 + nS);
      const listArgs = a.slice(4 + nS, 4 + nS + nLists);
      const caps = a.slice(4 + nS + nLists);
      const xs = spec.sequences.map((q, k) =>
        tensorListGetItem(fb, listArgs[k]!, a[2]!, q.stepShape, 'DT_FLOAT', {
          name: `TensorArrayV2Read_${k}/TensorListGetItem`,
        }),
      );
      const next = spec.step(opsFor(fb, ''), xs, states, caps);
      const one = (n: string) => fb.constant('DT_INT32', [], [1], { name: n });
      const results = [
        fb.addV2(a[0]!, one('add/y'), { name: 'add' }),
        a[1]!,
        fb.addV2(a[2]!, one('add_1/y'), { name: 'add_1' }),
        ...next,
        ...a.slice(3 + nS),
      ];
      return results.map((r, i) => fb.identity(r, { name: i === 0 ? 'Identity' : `Identity_${i}` }));
    }),
  );
}
