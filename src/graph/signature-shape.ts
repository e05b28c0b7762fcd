/**
 * Shapes are checked when the signature leaves a dim open ([?,50]): that shape is a contract the exporter wrote.
 * A fully static shape is usually the example a function was traced with, and TensorFlow's runtime does not
 * enforce it on a feed (tfjs-node's own tests feed [1,2,3] to a signature declared as a scalar), so it is not
 * enforced here either. Dtypes are always checked.
 */
export function shapeIsContract(shape: readonly number[] | null): boolean {
  return shape !== null && shape.some((d) => d < 0);
}

/**
 * Whether a tensor of shape `actual` may be fed where the signature declares `declared`: always for a shape
 * that is not a contract (shapeIsContract); else `actual`, padded with trailing 1s to the declared rank, must
 * match every known dim. The padding admits TF Serving's row form, where instances drop a trailing unit dim:
 * its README feeds [1.0, 2.0, 5.0] (shape [3]) to half_plus_two's [?,1] and gets [2.5, 3.0, 4.5]. Such a tensor
 * is fed as given, as TF Serving does; [B,49] for [?,50] or [B] for [?,50] are refused.
 */
export function shapeFitsSignature(declared: readonly number[] | null, actual: readonly number[]): boolean {
  if (!shapeIsContract(declared)) return true;
  const want = declared!;
  if (actual.length > want.length) return false;
  return want.every((d, i) => d < 0 || d === (i < actual.length ? actual[i] : 1));
}
