/** siphash 1.2 ships no types; only the function ctr-serve calls (SipHash-2-4 of bytes, 128-bit key). */
declare module 'siphash' {
  /** key: four uint32 words, little-endian (k0 low, k0 high, k1 low, k1 high); the 64-bit hash as two halves. */
  export function hash(key: readonly number[], m: Uint8Array): { h: number; l: number };
  const siphash: { hash: typeof hash };
  export default siphash;
}
