/** "[1,3]": the multi-index of element `flat` of a row-major tensor of `shape` (for error messages). */
export function elementPosition(flat: number, shape: readonly number[]): string {
  const at: number[] = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    at[d] = n > 0 ? flat % n : 0;
    flat = n > 0 ? Math.floor(flat / n) : 0;
  }
  return `[${at.join(',')}]`;
}
