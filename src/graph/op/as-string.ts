import { DataType } from '../proto/types.ts';
import { stringTensor, type KernelContext, type OpKernel } from './kernel-context.ts';
import { printf, type PrintfSpec } from './printf.ts';

const FLOATS = new Set<number>([DataType.DT_FLOAT, DataType.DT_DOUBLE, DataType.DT_HALF]);
const INTS = new Set<number>([DataType.DT_INT8, DataType.DT_INT16, DataType.DT_INT32, DataType.DT_INT64]);
const encoder = new TextEncoder();

/**
 * AsString (tensorflow/core/kernels/as_string_op.cc): each element through printf with the format the attrs
 * build, "%" + (width > -1 ? fill + width : "") + (precision > -1 ? "." + precision : "") + d | f | e | g;
 * bools as "true"/"false". Attr combinations TensorFlow refuses at kernel construction are CTR_ERR_INVALID_GRAPH.
 * DT_DOUBLE inputs are computed in float32 by tfjs, so they print the float32 value.
 */
export const asString: OpKernel = {
  op: 'AsString',
  run(ctx) {
    const x = ctx.input(0);
    const dtype = ctx.attrType('T');
    const values = x.dataSync();
    if (dtype === DataType.DT_BOOL) {
      const out = Array.from(values, (v) => encoder.encode(v ? 'true' : 'false'));
      return stringTensor(out, x.shape);
    }
    const spec = formatOf(ctx, dtype);
    return stringTensor(
      Array.from(values, (v) => encoder.encode(printf(Number(v), spec))),
      x.shape,
    );
  },
};

function formatOf(ctx: KernelContext, dtype: number): PrintfSpec {
  const precision = ctx.attrInt('precision', -1);
  const scientific = ctx.attrBool('scientific', false);
  const shortest = ctx.attrBool('shortest', false);
  const width = ctx.attrInt('width', -1);
  const fill = ctx.attrString('fill', '');
  const float = FLOATS.has(dtype);
  if (!float && !INTS.has(dtype)) throw ctx.invalidGraph(`cannot encode input of type ${dtype}`);
  if (!float && (scientific || shortest || precision >= 0)) {
    throw ctx.invalidGraph('precision, scientific and shortest apply only to floating-point inputs');
  }
  if (fill.length > 1) throw ctx.invalidGraph('fill must be one or fewer characters');
  if (scientific && shortest) throw ctx.invalidGraph('cannot select both scientific and shortest notation');
  if (fill && !'-+ 0#'.includes(fill))
    throw ctx.invalidGraph(`fill ${JSON.stringify(fill)} is not a printf flag`);
  const conv = !float ? 'd' : shortest ? 'g' : scientific ? 'e' : 'f';
  return { flags: width > -1 ? fill : '', width, precision, conv };
}
