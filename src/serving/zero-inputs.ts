import type { HostTensor, TensorSpec } from '../graph/model.ts';

/**
 * The warm-up input of a signature input: zeros (false, '') of its declared shape, open dims as 1. Used by the
 * loader's warm-up and by the backend check, which must feed both backends the same values.
 */
export function zeros(spec: TensorSpec): HostTensor {
  const shape = spec.shape === null ? [1] : spec.shape.map((d) => (d < 0 ? 1 : d));
  const size = shape.reduce((a, b) => a * b, 1);
  let values: HostTensor['values'];
  switch (spec.dtype) {
    case 'DT_FLOAT':
    case 'DT_HALF':
      values = new Float32Array(size);
      break;
    case 'DT_DOUBLE':
      values = new Float64Array(size);
      break;
    case 'DT_UINT8':
      values = new Uint8Array(size);
      break;
    case 'DT_INT64':
      values = new Array<number>(size).fill(0);
      break;
    case 'DT_BOOL':
      values = new Array<boolean>(size).fill(false);
      break;
    case 'DT_STRING':
      values = new Array<string>(size).fill('');
      break;
    default:
      values = new Int32Array(size);
  }
  return { dtype: spec.dtype, shape, values };
}
